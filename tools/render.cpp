// stablepose render: keypoint JSON in; the skeleton and pose masks the model is conditioned on out.
#include <spdlog/spdlog.h>

#include "commands.h"
#include "stablepose/pose/pose_condition_config.h"
#include "stablepose/pose/render_condition.h"

namespace stablepose::tools {

void add_render_command(CLI::App& app) {
    auto request = std::make_shared<RenderConditionRequest>();
    auto size = std::make_shared<std::string>();
    auto image = std::make_shared<std::string>();
    auto phase = std::make_shared<std::string>("inference");
    auto threshold = std::make_shared<float>();
    auto preset = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand("render", "Draw the skeleton and pose masks for a keypoint JSON file");
    cmd->add_option("pose", request->pose_file, "Keypoint JSON file (docs/pose_format.md)")->required();
    cmd->add_option("-o,--output", request->output_dir, "Output directory")->required();
    cmd->add_option("--size", *size, "Image size WIDTHxHEIGHT (keypoints are scaled); default: the pose's size");
    cmd->add_option("--image", *image, "Photo to draw the joint overlay on (joints.png)");
    cmd->add_option("--config", *preset, "Preset whose \"pose_condition\" section sets style and masks")
        ->check(CLI::ExistingFile);
    cmd->add_option("--phase", *phase, "Mask threshold of 'training' (> -1) or 'inference' (> -0.99)")
        ->check(CLI::IsMember({"training", "inference"}));
    auto* threshold_opt = cmd->add_option("--mask-threshold", *threshold, "Override the mask threshold");
    auto kernels = std::make_shared<std::vector<int>>();
    auto* kernels_opt = cmd->add_option("--kernels", *kernels, "Gaussian kernel sizes, coarse first (default 23 13)");
    auto line_width = std::make_shared<int>();
    auto* line_width_opt = cmd->add_option("--line-width", *line_width, "Limb line width (default 10)");
    auto max_people = std::make_shared<int>();
    auto* max_people_opt = cmd->add_option("--max-people", *max_people, "People drawn at most (default 10)");
    cmd->callback([=] {
        const auto config = preset->empty() ? PoseConditionConfig{} : load_pose_condition_config(*preset);
        request->style = config.style;
        request->masks = *phase == "training" ? config.training_masks : config.inference_masks;
        if (kernels_opt->count() > 0) request->masks.gaussian_kernels = *kernels;
        if (threshold_opt->count() > 0) request->masks.threshold = *threshold;
        if (line_width_opt->count() > 0) request->style.line_width = *line_width;
        if (max_people_opt->count() > 0) request->style.max_people = *max_people;
        if (!size->empty()) request->size = parse_image_size(*size);
        if (!image->empty()) request->image = *image;
        const auto result = render_condition(*request);
        spdlog::info("{} of {} people drawn; foreground latent cells per mask:", result.people_drawn,
                     result.people_total);
        for (size_t k = 0; k < result.mask_cells.size(); ++k)
            spdlog::info("  kernel {}: {}", request->masks.gaussian_kernels[k], result.mask_cells[k]);
        for (const auto& path : result.written) spdlog::info("wrote {}", path.string());
    });
}

}  // namespace stablepose::tools
