// stablepose render: keypoint JSON in; the skeleton and pose masks the model is conditioned on out.
#include <spdlog/spdlog.h>

#include "commands.h"
#include "stablepose/pose/render_condition.h"

namespace stablepose::tools {

void add_render_command(CLI::App& app) {
    auto request = std::make_shared<RenderConditionRequest>();
    auto size = std::make_shared<std::string>();
    auto image = std::make_shared<std::string>();
    auto phase = std::make_shared<std::string>("inference");
    auto threshold = std::make_shared<float>();
    auto* cmd = app.add_subcommand("render", "Draw the skeleton and pose masks for a keypoint JSON file");
    cmd->add_option("pose", request->pose_file, "Keypoint JSON file (docs/pose_format.md)")->required();
    cmd->add_option("-o,--output", request->output_dir, "Output directory")->required();
    cmd->add_option("--size", *size, "Image size WIDTHxHEIGHT (keypoints are scaled); default: the pose's size");
    cmd->add_option("--image", *image, "Photo to draw the joint overlay on (joints.png)");
    cmd->add_option("--phase", *phase, "Mask threshold of 'training' (> -1) or 'inference' (> -0.99)")
        ->check(CLI::IsMember({"training", "inference"}));
    auto* threshold_opt = cmd->add_option("--mask-threshold", *threshold, "Override the mask threshold");
    cmd->add_option("--kernels", request->masks.gaussian_kernels, "Gaussian kernel sizes, coarse first")
        ->default_str("23 13");
    cmd->add_option("--line-width", request->style.line_width, "Limb line width")->capture_default_str();
    cmd->add_option("--max-people", request->style.max_people, "People drawn at most")->capture_default_str();
    cmd->callback([=] {
        const auto kernels = request->masks.gaussian_kernels;
        request->masks = *phase == "training" ? PoseMaskConfig::training() : PoseMaskConfig::inference();
        request->masks.gaussian_kernels = kernels;
        if (threshold_opt->count() > 0) request->masks.threshold = *threshold;
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
