#include "stablepose/sample/pipeline.h"

#include <chrono>
#include <set>

#include "stablepose/error.h"
#include "stablepose/io/device_memory.h"
#include "stablepose/sample/cuda_graph_step.h"

namespace stablepose {
namespace {

using Clock = std::chrono::steady_clock;

// Eager steps before a CUDA graph is recorded: the TorchScript executor profiles the U-Net on its first call
// and optimises on the second, and capture needs the optimised graph settled.
constexpr int64_t kEagerStepsBeforeCapture = 2;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

void check_batch(const std::vector<ImageRequest>& batch) {
    if (batch.empty()) fail("sampling: empty batch", "at least one image request", "none");
    for (const auto& r : batch)
        if (!(r.settings == batch.front().settings))
            fail("sampling: a batch mixes settings", "one size, sampler, step count, guidance and control window",
                 "different settings", "group requests by their settings before calling generate()");
    validate_settings(batch.front().settings);
}

}  // namespace

SamplingPipeline::SamplingPipeline(FrozenStableDiffusion sd, std::optional<LoadedAdapter> adapter,
                                   ClipTokenizer tokenizer, PipelineOptions options)
    : sd_(std::move(sd)),
      adapter_(std::move(adapter)),
      tokenizer_(std::move(tokenizer)),
      options_(std::move(options)),
      scheduler_config_(DiffusersSchedulerConfig::from_json(sd_.spec.json.at("scheduler"), "model.json scheduler")),
      schedule_(scheduler_config_.schedule) {
    options_.inference_masks.validate();
    options_.training_masks.validate();
    if (adapter_) {
        auto& a = adapter_->adapter;
        adapter_dtype_ = sd_.spec.dtype;
        a->to(sd_.spec.device, adapter_dtype_);
        a->eval();
        for (auto& p : a->parameters()) p.set_requires_grad(false);
        if (a->config().mode == AdapterMode::kStablePose &&
            static_cast<int>(options_.inference_masks.gaussian_kernels.size()) != a->config().vit.depth)
            fail("pose masks: one kernel per PMSA ViT layer",
                 std::to_string(a->config().vit.depth) + " kernels",
                 std::to_string(options_.inference_masks.gaussian_kernels.size()),
                 "set pose_condition.gaussian_kernels in the preset");
    }
}

bool SamplingPipeline::uses_cuda_graphs() const {
    return options_.cuda_graphs && CudaGraphStep::supported(sd_.spec.device);
}

std::unique_ptr<Scheduler> SamplingPipeline::make_sampler(const GenerationSettings& s) const {
    auto options = scheduler_config_.options;
    options.eta = s.eta;
    auto scheduler = make_scheduler(s.sampler, schedule_, options);
    scheduler->set_timesteps(s.steps);
    return scheduler;
}

torch::Tensor SamplingPipeline::text_embedding(const std::string& prompt) {
    auto it = text_cache_.find(prompt);
    if (it != text_cache_.end()) return it->second;
    torch::NoGradGuard no_grad;
    const auto ids = tokenizer_.encode_batch({prompt}, sd_.spec.text_max_length);
    auto hidden = sd_.text_encoder.encode(ids).squeeze(0);  // [77, D]
    return text_cache_.emplace(prompt, hidden).first->second;
}

torch::Tensor SamplingPipeline::initial_noise(int64_t seed, int64_t channels, int64_t h, int64_t w) {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
    return torch::randn({1, channels, h, w}, generator, torch::kFloat32);
}

double SamplingPipeline::control_keep(int64_t i, int64_t n, double start, double end) {
    const double a = static_cast<double>(i) / static_cast<double>(n);
    const double b = static_cast<double>(i + 1) / static_cast<double>(n);
    return (a < start || b > end) ? 0.0 : 1.0;
}

torch::Tensor SamplingPipeline::adapter_masks(const torch::Tensor& skeletons, bool classifier_free_guidance) const {
    const auto& config = classifier_free_guidance ? options_.inference_masks : options_.training_masks;
    const auto masks = build_pose_masks(skeletons, config);  // [K * B, h, w]
    if (!classifier_free_guidance) return masks;
    const int64_t k = static_cast<int64_t>(config.gaussian_kernels.size());
    const int64_t b = skeletons.size(0);
    std::vector<torch::Tensor> parts;
    for (int64_t i = 0; i < k; ++i) {
        const auto real = masks.narrow(0, i * b, b);
        parts.push_back(torch::ones_like(real));
        parts.push_back(real);
    }
    return torch::cat(parts);  // [K * 2B, h, w]
}

std::vector<torch::Tensor> SamplingPipeline::zero_residuals(int64_t batch, int64_t h, int64_t w) const {
    std::vector<torch::Tensor> out;
    for (const auto& shape : sd_.spec.unet.residual_shapes(h, w))
        out.push_back(torch::zeros({batch, shape[0], shape[1], shape[2]},
                                   torch::dtype(sd_.spec.dtype).device(sd_.spec.device)));
    return out;
}

torch::Tensor SamplingPipeline::generate(const std::vector<ImageRequest>& batch, StageTimes* times) {
    check_batch(batch);
    torch::NoGradGuard no_grad;
    const auto& s = batch.front().settings;
    const auto device = sd_.spec.device;
    const int64_t b = static_cast<int64_t>(batch.size());
    const int64_t h = s.height / 8, w = s.width / 8;
    const bool cfg = s.guidance_scale != 1.0;
    StageTimes local;
    auto& t = times ? *times : local;
    // Per-stage times need the device to finish each stage. Without a caller asking for them there is no
    // synchronisation inside the loop, so the host queues the next step's kernels while the device runs.
    const auto end_stage = [&] {
        if (times) synchronize(device);
    };
    const auto t_start = Clock::now();

    // Text: [B, 77, D] conditional, and the unconditional rows first under CFG.
    auto stage = Clock::now();
    reset_peak_memory(device);
    std::vector<torch::Tensor> cond, uncond;
    for (const auto& r : batch) {
        cond.push_back(text_embedding(r.prompt));
        if (cfg) uncond.push_back(text_embedding(r.negative_prompt));
    }
    auto context = cfg ? torch::cat({torch::stack(uncond), torch::stack(cond)}) : torch::stack(cond);
    end_stage();
    t.text += seconds_since(stage);
    t.peak_text = std::max(t.peak_text, peak_memory_bytes(device));

    // Condition features and masks, once per distinct skeleton; [B', C, h, w] with B' = 2B under CFG.
    stage = Clock::now();
    reset_peak_memory(device);
    torch::Tensor features, masks;
    if (adapter_) {
        auto& adapter = adapter_->adapter;
        std::vector<torch::Tensor> skeletons;
        std::vector<int64_t> index;
        std::map<int, int64_t> seen;
        for (const auto& r : batch) {
            if (!r.skeleton.defined() || r.skeleton.dim() != 3 || r.skeleton.size(0) != 3 ||
                r.skeleton.size(1) != s.height || r.skeleton.size(2) != s.width)
                fail("sampling: the skeleton must be [3, H, W] at the output size",
                     "[3, " + std::to_string(s.height) + ", " + std::to_string(s.width) + "]",
                     r.skeleton.defined() ? c10::str(r.skeleton.sizes()) : "undefined");
            auto it = r.condition_id >= 0 ? seen.find(r.condition_id) : seen.end();
            if (it == seen.end()) {
                if (r.condition_id >= 0) seen[r.condition_id] = static_cast<int64_t>(skeletons.size());
                index.push_back(static_cast<int64_t>(skeletons.size()));
                skeletons.push_back(r.skeleton);
            } else {
                index.push_back(it->second);
            }
        }
        const auto unique = torch::stack(skeletons).to(torch::kFloat32);  // [U, 3, H, W] in [-1, 1]
        auto image = adapter_->condition_range == ConditionRange::kZeroOne ? (unique + 1) / 2 : unique;
        const auto idx = torch::tensor(index, torch::kInt64).to(device);
        features = adapter->encode_condition(image.to(device, adapter_dtype_)).index_select(0, idx);
        if (options_.zero_condition_features) features = torch::zeros_like(features);
        if (cfg) features = torch::cat({features, features});
        if (adapter->config().mode == AdapterMode::kStablePose) {
            const auto per_image = unique.index_select(0, idx.cpu());
            masks = adapter_masks(per_image, cfg).to(device, adapter_dtype_);
        }
    }
    end_stage();
    t.adapter += seconds_since(stage);

    // Initial noise, drawn per image on the CPU.
    std::vector<at::Generator> generators;
    std::vector<torch::Tensor> noise;
    for (const auto& r : batch) {
        generators.push_back(at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(r.seed)));
        noise.push_back(torch::randn({1, sd_.spec.latent_channels, h, w}, generators.back(), torch::kFloat32));
    }
    auto scheduler = make_sampler(s);
    auto x = (torch::cat(noise) * scheduler->init_noise_sigma()).to(device);  // [B, C, h, w] float32
    const auto zeros = adapter_ ? std::vector<torch::Tensor>{} : zero_residuals(cfg ? 2 * b : b, h, w);
    const auto timesteps = scheduler->timesteps().to(device);  // copied once, not one copy per step
    const int64_t n = scheduler->num_steps();
    // The network part of a step, in two halves so that stage times can split it: the adapter's residuals
    // (scaled; zeros without an adapter or outside the control window), then the U-Net and the guidance.
    // [B', C, h, w] in, guided eps [B, C, h, w] float32 out.
    const auto residuals_for = [&](const torch::Tensor& x_in, const torch::Tensor& t_in, double scale) {
        if (!adapter_) return zeros;
        if (scale == 0.0) return zero_residuals(x_in.size(0), h, w);
        return adapter_->adapter->forward(x_in.to(adapter_dtype_), t_in, context.to(adapter_dtype_), features, masks,
                                          scale);
    };
    const auto guided_eps = [&](const torch::Tensor& x_in, const torch::Tensor& t_in,
                                const std::vector<torch::Tensor>& residuals) {
        auto eps = sd_.unet(x_in, t_in, context, residuals);  // float32
        if (!cfg) return eps;
        const auto parts = eps.chunk(2);
        return parts[0] + s.guidance_scale * (parts[1] - parts[0]);
    };
    // With CUDA graphs the first steps run eagerly (the warm-up), then one step is recorded and replayed for
    // every later step with the same control scale; a step with another scale (outside the control window)
    // runs eagerly. Declared after everything the graph reads, so it is destroyed first.
    const bool graphs = uses_cuda_graphs() && n > kEagerStepsBeforeCapture;
    std::unique_ptr<CudaGraphStep> graph;
    double graph_scale = 0.0;
    reset_peak_memory(device);
    for (int64_t i = 0; i < n; ++i) {
        const auto x_in = scheduler->scale_model_input(cfg ? torch::cat({x, x}) : x, i);
        // With graphs the eager warm-up steps must see the layout the recorded step sees (the static copy is
        // contiguous): the TorchScript executor specialises on strides, and a changed one re-optimises.
        auto t_in = timesteps[i].expand({x_in.size(0)});
        if (graphs) t_in = t_in.contiguous();
        const double scale = adapter_ ? s.control_scale * control_keep(i, n, s.control_start, s.control_end) : 0.0;
        stage = Clock::now();
        torch::Tensor eps;
        if (graphs && i >= kEagerStepsBeforeCapture && (!graph || scale == graph_scale)) {
            if (!graph) {
                graph = std::make_unique<CudaGraphStep>(
                    [&](const std::vector<torch::Tensor>& in) {
                        return guided_eps(in[0], in[1], residuals_for(in[0], in[1], scale));
                    },
                    std::vector<torch::Tensor>{x_in, t_in});
                graph_scale = scale;
            }
            eps = (*graph)({x_in, t_in});
        } else {
            const auto residuals = residuals_for(x_in, t_in, scale);
            if (adapter_) {
                end_stage();
                t.adapter += seconds_since(stage);
                stage = Clock::now();
            }
            eps = guided_eps(x_in, t_in, residuals);
        }
        if (scheduler->stochastic()) {
            std::vector<torch::Tensor> step_noise;
            for (auto& g : generators)
                step_noise.push_back(torch::randn({1, sd_.spec.latent_channels, h, w}, g, torch::kFloat32));
            x = scheduler->step(eps, i, x, torch::cat(step_noise).to(device));
        } else {
            x = scheduler->step(eps, i, x);
        }
        end_stage();
        t.unet += seconds_since(stage);
    }
    graph.reset();
    t.peak_unet = std::max(t.peak_unet, peak_memory_bytes(device));
    t.peak_adapter = t.peak_unet;  // the adapter runs inside the same loop

    stage = Clock::now();
    reset_peak_memory(device);
    auto images = sd_.vae_decoder.decode(x);
    images = (images / 2 + 0.5).clamp(0, 1).to(torch::kCPU, torch::kFloat32);
    t.vae += seconds_since(stage);
    t.peak_vae = std::max(t.peak_vae, peak_memory_bytes(device));
    t.total += seconds_since(t_start);
    return images;
}

}  // namespace stablepose
