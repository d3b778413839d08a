// Validation images during training (validation_images.h).
#include "stablepose/train/validation_images.h"

#include <cstdio>

#include "stablepose/io/image_io.h"
#include "stablepose/nn/state_dict.h"
#include "stablepose/sample/pipeline.h"

namespace stablepose {

namespace fs = std::filesystem;

ValidationSet make_validation_set(const Dataset& dataset, const ExampleOptions& training_options, const LogConfig& log,
                                  uint64_t seed) {
    ValidationSet set;
    auto options = training_options;
    options.augment = AugmentConfig::evaluation();
    options.augment.width = training_options.augment.width;
    options.augment.height = training_options.augment.height;
    const int64_t n = std::min<int64_t>(log.validation_count, static_cast<int64_t>(dataset.size()));
    for (int64_t i = 0; i < n; ++i) {
        auto e = make_training_example(dataset.samples[static_cast<size_t>(i)], options, seed, 0, i);
        set.skeletons.push_back(e.hint);
        set.prompts.push_back(e.caption);
        set.seeds.push_back(log.validation_seed + i);
    }
    return set;
}

std::vector<fs::path> write_validation_images(const FrozenStableDiffusion& sd, const StablePoseAdapter& adapter,
                                              ConditionRange range, const ClipTokenizer& tokenizer,
                                              const PoseConditionConfig& pose_condition, const ValidationSet& set,
                                              const LogConfig& log, const fs::path& out_dir) {
    // The pipeline freezes and casts the adapter it gets: give it a copy of the current weights.
    LoadedAdapter copy;
    copy.adapter = StablePoseAdapter(adapter->config());
    {
        torch::NoGradGuard no_grad;
        load_state_dict(*copy.adapter, state_dict(*adapter));
    }
    copy.condition_range = range;
    copy.source = "training";
    PipelineOptions options;
    options.inference_masks = pose_condition.inference_masks;
    options.training_masks = pose_condition.training_masks;
    SamplingPipeline pipeline(sd, std::move(copy), tokenizer, options);
    std::vector<fs::path> written;
    for (size_t i = 0; i < set.skeletons.size(); ++i) {
        GenerationSettings s;
        s.height = static_cast<int>(set.skeletons[i].size(1));
        s.width = static_cast<int>(set.skeletons[i].size(2));
        s.steps = log.validation_steps;
        s.sampler = log.validation_sampler;
        s.guidance_scale = log.validation_guidance;
        const ImageRequest request{s, set.prompts[i], kOfficialNegativePrompt, set.seeds[i], set.skeletons[i], 0};
        const auto image = pipeline.generate({request});
        char name[32];
        std::snprintf(name, sizeof name, "%02zu", i);
        write_png(out_dir / (std::string(name) + ".png"), unit_tensor_to_rgb(image[0]));
        write_png(out_dir / (std::string(name) + "_pose.png"), tensor_to_rgb(set.skeletons[i]));
        written.push_back(out_dir / (std::string(name) + ".png"));
    }
    return written;
}

}  // namespace stablepose
