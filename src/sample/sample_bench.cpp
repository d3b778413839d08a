#include "stablepose/sample/sample_bench.h"

#include <chrono>

#include <torch/torch.h>

#include "stablepose/error.h"
#include "stablepose/io/assets.h"
#include "stablepose/nn/adapter_file.h"
#include "stablepose/sample/condition.h"
#include "stablepose/sample/pipeline.h"
#include "stablepose/sample/sample_run.h"

namespace stablepose {

nlohmann::json run_sample_bench(const SampleBenchOptions& options) {
    if (options.repeats < 1 || options.warmup < 0 || options.batch_size < 1)
        fail("bench sample: bad counts", "--repeats >= 1, --warmup >= 0, --batch-size >= 1",
             std::to_string(options.repeats) + ", " + std::to_string(options.warmup) + ", " +
                 std::to_string(options.batch_size));
    validate_settings(options.settings);
    const auto device = resolve_device(options.device);
    if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
    FrozenLoadOptions load;
    load.device = device;
    auto sd = FrozenStableDiffusion::load(options.model_dir, load);
    std::optional<LoadedAdapter> adapter;
    if (options.adapter && !options.init_mode.empty())
        fail("bench sample: --adapter and --init-adapter-mode both given", "one of them",
             options.adapter->string() + " and " + options.init_mode);
    if (options.adapter) adapter = load_adapter(*options.adapter, sd.spec.unet);
    if (!options.init_mode.empty()) {
        AdapterConfig config;
        config.unet = sd.spec.unet;
        config.mode = parse_adapter_mode(options.init_mode);
        torch::manual_seed(0);  // the fresh (non-copied) parts
        LoadedAdapter fresh;
        fresh.adapter = StablePoseAdapter(config);
        initialize_adapter_from_unet(fresh.adapter, sd.unet.state_dict());
        fresh.source = "initialised from the U-Net (" + options.init_mode + ")";
        adapter = std::move(fresh);
    }
    auto tokenizer = ClipTokenizer::from_file(sd.spec.tokenizer_path());
    const auto dtype = sd.spec.dtype;
    PipelineOptions pipeline_options;
    pipeline_options.cuda_graphs = options.cuda_graphs;
    SamplingPipeline pipeline(std::move(sd), std::move(adapter), std::move(tokenizer), pipeline_options);

    PoseSource source;
    source.path = options.pose.empty() ? find_asset("examples/two_people.json") : options.pose;
    const auto condition = prepare_condition(source, options.settings, coco17_schema(), SkeletonStyle{});
    std::vector<ImageRequest> batch;
    for (int i = 0; i < options.batch_size; ++i)
        batch.push_back({options.settings, "a photo of two people dancing", kOfficialNegativePrompt, 42 + i,
                         condition.skeleton, 0});
    for (int i = 0; i < options.warmup; ++i) pipeline.generate(batch);
    // Distinct prompts per repeat, so the text stage is measured rather than served from the cache.
    const auto retitle = [&](const std::string& take) {
        for (auto& r : batch) r.prompt = "a photo of two people dancing, take " + take;
    };
    // The headline: whole batches as `stablepose sample` runs them, with no synchronisation between stages.
    double seconds = 0;
    for (int i = 0; i < options.repeats; ++i) {
        retitle(std::to_string(i));
        const auto start = std::chrono::steady_clock::now();
        pipeline.generate(batch);  // returns images on the CPU: the device has finished
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    // The split: the same number of batches again, synchronised after each stage (on a GPU their sum is at
    // or above the headline, since the host no longer runs ahead of the device), and the peaks per stage.
    StageTimes total;
    for (int i = 0; i < options.repeats; ++i) {
        retitle("split " + std::to_string(i));
        pipeline.generate(batch, &total);
    }
    const double n = static_cast<double>(options.repeats);
    const double images = n * options.batch_size;
    return {{"device", device.str()},
            {"dtype", model_dtype_name(dtype)},
            {"mode", pipeline.adapter() ? to_string(pipeline.adapter()->adapter->config().mode) : "none"},
            {"adapter", pipeline.adapter() ? pipeline.adapter()->source : "none"},
            {"batch_size", options.batch_size},
            {"cuda_graphs", pipeline.uses_cuda_graphs()},
            {"repeats", options.repeats},
            {"warmup", options.warmup},
            {"settings", options.settings.to_json()},
            {"seconds_per_image", seconds / images},
            {"seconds_per_batch", seconds / n},
            {"stages_seconds_per_batch",
             {{"total_when_synchronised_per_stage", total.total / n},
              {"text_encoder", total.text / n},
              {"adapter", total.adapter / n},
              {"unet_and_scheduler", total.unet / n},
              {"vae_decoder", total.vae / n}}},
            {"peak_memory_bytes",
             {{"text_encoder", total.peak_text},
              {"adapter_and_unet", total.peak_unet},
              {"vae_decoder", total.peak_vae},
              {"kind", device.is_cuda() ? "CUDA allocator peak per stage" : "process peak RSS (cumulative)"}}}};
}

}  // namespace stablepose
