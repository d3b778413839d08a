// The training loop (trainer.h): set-up, resume, logging, checkpoints, validation images, signals.
#include <cmath>
#include <iostream>

#include <spdlog/spdlog.h>

#include "stablepose/error.h"
#include "stablepose/io/atomic_file.h"
#include "stablepose/nn/state_dict.h"
#include "stablepose/sample/sample_run.h"
#include "stablepose/sd/scheduler.h"
#include "stablepose/train/config_fields.h"
#include "stablepose/train/metrics_log.h"
#include "stablepose/train/stop_signal.h"
#include "stablepose/train/validation_images.h"
#include "trainer_impl.h"

namespace stablepose {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Keys that may change on resume without changing what the next steps compute.
bool resumable_difference(const std::string& key) {
    for (const char* prefix : {"train.max_steps", "train.epochs", "checkpoint.", "log.", "data.workers",
                               "data.prefetch_batches", "name", "description"})
        if (key.rfind(prefix, 0) == 0) return true;
    return false;
}

std::map<std::string, std::string> model_hashes(const FrozenModelSpec& spec) {
    std::map<std::string, std::string> out;
    for (const char* name : {"unet", "vae_encoder", "text_encoder"})
        out[name] = spec.component(name).value("sha256", std::string());
    return out;
}

}  // namespace

TrainConfig resume_config(const fs::path& checkpoint, const std::optional<TrainConfig>& requested,
                          const std::vector<std::string>& overrides) {
    const auto saved = read_checkpoint(checkpoint);
    const auto source = (saved.dir / "config.json").string();
    auto config = requested ? resolve_train_config(requested->to_json(), overrides, "config")
                            : resolve_train_config(saved.config, overrides, source);
    for (const auto& key : config_differences(saved.config, config.to_json()))
        if (!resumable_difference(key))
            fail("--resume: config key '" + key + "' differs from the checkpoint's", "the value in " + source,
                 "another value",
                 "only train.max_steps, train.epochs, checkpoint.*, log.*, data.workers, "
                 "data.prefetch_batches, "
                 "name and description may change on resume; start a new run (or --init-adapter) to change "
                 "the "
                 "recipe");
    return config;
}

Trainer::Trainer(const TrainConfig& config, const TrainPaths& paths, const TrainHooks& hooks)
    : config_(config), config_json_(config.to_json()), paths_(paths), hooks_(hooks) {
    parallel_ = hooks_.parallel ? hooks_.parallel : std::make_shared<ParallelContext>();
    writer_ = hooks_.write_files && parallel_->is_writer();
    std::optional<CheckpointContents> checkpoint;
    if (paths_.resume) {
        checkpoint = read_checkpoint(*paths_.resume);
        for (const auto& key : config_differences(checkpoint->config, config_json_))
            if (!resumable_difference(key))
                fail("--resume: config key '" + key + "' differs from the checkpoint's",
                     "the value in " + (checkpoint->dir / "config.json").string(), "another value",
                     "use resume_config() / the CLI's --resume, which starts from the checkpoint's config");
        if (paths_.init_adapter) fail("--resume and --init-adapter together", "one of them", "both");
    }
    if (!paths_.resume && writer_ && !list_checkpoints(paths_.out_dir).empty())
        fail("the run folder " + paths_.out_dir.string() + " already holds checkpoints", "a new or empty --out folder",
             list_checkpoints(paths_.out_dir).back().string(),
             "continue it with --resume " + paths_.out_dir.string() + ", or choose another --out");
    // A finished run whose checkpoints were deleted (a run stopped before its first checkpoint has nothing to
    // lose, and starts again).
    if (!paths_.resume && writer_ && fs::exists(paths_.out_dir / "adapter.safetensors"))
        fail("the run folder " + paths_.out_dir.string() +
                 " already holds a finished run's adapter.safetensors",
             "a new or empty --out folder", (paths_.out_dir / "adapter.safetensors").string(),
             "choose another --out, or move the earlier run away first; a new run would overwrite it");
    device_ = resolve_device(config_.train.device);
    precision_ = resolve_precision(config_.precision.mode, device_);
    setup_model();
    setup_adapter(checkpoint);
    setup_data();
    if (checkpoint) {
        state_ = checkpoint->state;
        for (const auto& [name, hash] : model_hashes(sd_.spec))
            if (state_.model_hashes.contains(name) && state_.model_hashes.at(name) != hash)
                fail("--resume: the frozen model differs from the checkpoint's", name + " sha256 " +
                         state_.model_hashes.at(name).get<std::string>(), hash,
                     "resume with --model pointing at the export the run started with");
        const std::pair<const char*, at::Generator*> generators[] = {
            {"timesteps", &gen_timesteps_}, {"noise", &gen_noise_}, {"vae", &gen_vae_}};
        for (const auto& [name, gen] : generators) {
            if (!state_.rng.count(name)) fail("checkpoint " + checkpoint->dir.string() + ": rng." + name + " is missing");
            gen->set_state(state_.rng.at(name));
        }
        scaler_->load_state(state_.loss_scaler);
        load_optimizer_state(*optimizer_, *adapter_, checkpoint->dir / "optimizer.safetensors");
    }
    state_.paths = {{"model", fs::absolute(paths_.model_dir).string()},
                    {"data", fs::absolute(paths_.data).string()},
                    {"out", fs::absolute(paths_.out_dir).string()}};
    state_.model_hashes = model_hashes(sd_.spec);
    start_step_ = state_.step;
    loader_ = std::make_unique<DataLoader>(
        dataset_, example_options_,
        LoaderOptions{config_.data.batch_size, config_.data.workers, config_.data.prefetch_batches, config_.data.shuffle,
                      config_.data.drop_last, static_cast<uint64_t>(config_.train.seed), parallel_->rank(),
                      parallel_->world_size()},
        state_.cursor);
    total_steps_ = config_.train.max_steps > 0
                       ? config_.train.max_steps
                       : std::max<int64_t>(1, config_.train.epochs * loader_->batches_per_epoch() / config_.optim.grad_accum);
}

void Trainer::setup_model() {
    FrozenLoadOptions load;
    load.device = device_;
    sd_ = FrozenStableDiffusion::load(paths_.model_dir, load);
    tokenizer_.emplace(ClipTokenizer::from_file(sd_.spec.tokenizer_path()));
    auto schedule = DiffusersSchedulerConfig::from_json(sd_.spec.json.at("scheduler"), "model.json scheduler").schedule;
    schedule.arithmetic =
        config_.loss.schedule_arithmetic == "float64" ? ScheduleArithmetic::float64 : ScheduleArithmetic::float32;
    schedule_.emplace(schedule);
    const auto seed = static_cast<uint64_t>(config_.train.seed);
    gen_timesteps_ = at::make_generator<at::CPUGeneratorImpl>(sample_seed(seed, -1, 0));
    gen_noise_ = at::make_generator<at::CPUGeneratorImpl>(sample_seed(seed, -1, 1));
    gen_vae_ = at::make_generator<at::CPUGeneratorImpl>(sample_seed(seed, -1, 2));
}

void Trainer::setup_adapter(const std::optional<CheckpointContents>& checkpoint) {
    auto wanted = config_.adapter.options;
    wanted.unet = sd_.spec.unet;
    range_ = config_.adapter.range();
    std::optional<fs::path> weights;
    if (checkpoint) weights = checkpoint->dir / "adapter.safetensors";
    if (paths_.init_adapter) weights = *paths_.init_adapter;
    if (weights) {
        auto loaded = load_adapter(*weights, sd_.spec.unet);
        const auto have = adapter_options_to_json(loaded.adapter->config());
        if (have != adapter_options_to_json(wanted))
            fail("adapter " + weights->string() + " does not match the config", adapter_options_to_json(wanted).dump(),
                 have.dump(), "set the adapter section of the config to the file's options");
        adapter_ = loaded.adapter;
    } else {
        torch::manual_seed(static_cast<uint64_t>(config_.train.seed));  // the fresh (non-copied) parts
        adapter_ = StablePoseAdapter(wanted);
        const auto fresh = initialize_adapter_from_unet(adapter_, sd_.unet.state_dict());
        spdlog::info("adapter initialised from the U-Net; {} tensors keep their fresh initialisation", fresh.size());
    }
    adapter_->to(device_, torch::kFloat32);  // fp32 master weights; autocast casts per op
    adapter_->train();
    params_.clear();
    for (auto& p : adapter_->parameters()) {
        p.set_requires_grad(true);
        params_.push_back(p);
    }
    torch::optim::AdamWOptions options(config_.optim.lr);
    options.betas({config_.optim.beta1, config_.optim.beta2}).eps(config_.optim.eps).weight_decay(config_.optim.weight_decay);
    optimizer_ = std::make_unique<torch::optim::AdamW>(params_, options);
    lr_ = {config_.optim.schedule, config_.optim.lr, config_.optim.warmup_steps};
    const LossScalerOptions so{config_.precision.init_scale, config_.precision.growth_factor,
                               config_.precision.backoff_factor, config_.precision.growth_interval};
    scaler_.emplace(device_, so, precision_ == Precision::fp16);
}

void Trainer::setup_data() {
    DatasetOptions options;
    if (!config_.data.format.empty()) options.format = parse_dataset_format(config_.data.format);
    if (!config_.data.root.empty()) options.root = fs::path(config_.data.root);
    dataset_ = std::make_shared<Dataset>(open_dataset(paths_.data, options));
    example_options_.augment = config_.data.augment;
    example_options_.style = config_.pose_condition.style;
    example_options_.masks = config_.pose_condition.training_masks;
    const auto cache_dir = training_cache_dir(config_.cache.dir, dataset_->source);
    if (config_.cache.text_embeddings)
        text_cache_.emplace(cache_dir / "text", sd_.spec.component("text_encoder").value("sha256", std::string()),
                            tokenizer_->normalization());
    if (config_.cache.latents)
        latent_cache_.emplace(cache_dir / "latents", sd_.spec.component("vae_encoder").value("sha256", std::string()),
                              config_.data.augment.width, config_.data.augment.height);
}

TrainerState Trainer::snapshot() const {
    auto s = state_;
    s.rng = {{"timesteps", gen_timesteps_.get_state()}, {"noise", gen_noise_.get_state()}, {"vae", gen_vae_.get_state()}};
    s.loss_scaler = scaler_->state();
    return s;
}

fs::path Trainer::checkpoint() {
    fs::path dir;
    if (writer_)
        dir = write_checkpoint(paths_.out_dir, snapshot(), config_json_, adapter_, range_, *optimizer_,
                               config_.checkpoint.keep_last);
    parallel_->barrier();
    return dir;
}

std::string Trainer::resume_command(const fs::path& checkpoint) const {
    return "stablepose train --resume " + checkpoint.string() + " --model " + paths_.model_dir.string() + " --data " +
           paths_.data.string() + " --out " + paths_.out_dir.string();
}

TrainResult Trainer::run() {
    std::optional<StopSignalGuard> signals;
    if (hooks_.handle_signals) signals.emplace();
    std::optional<MetricsLog> metrics;
    std::optional<ValidationSet> validation;
    if (writer_) {
        fs::create_directories(paths_.out_dir);
        write_file_atomic(paths_.out_dir / "config.json", config_json_.dump(2) + "\n");
        metrics.emplace(paths_.out_dir / "metrics.jsonl", start_step_);  // drops lines a new or resumed run redoes
        if (config_.log.validation_every > 0)
            validation = make_validation_set(*dataset_, example_options_, config_.log,
                                             static_cast<uint64_t>(config_.train.seed));
    }
    if (hooks_.console && parallel_->is_writer())
        spdlog::info("train: {} ({} mode, {} on {}), {} samples, {} batches/epoch of {} x {} process(es), accum {}, "
                     "steps {} -> {}; config:\n{}",
                     config_.name, to_string(config_.adapter.options.mode), to_string(precision_), device_.str(),
                     dataset_->size(), loader_->batches_per_epoch(), config_.data.batch_size, parallel_->world_size(),
                     config_.optim.grad_accum, start_step_, total_steps_, config_json_.dump(2));
    TrainResult result;
    result.start_step = start_step_;
    ProgressReporter progress(start_step_, total_steps_, config_.log.progress);
    const auto start = std::chrono::steady_clock::now();
    fs::path last_checkpoint;
    while (state_.step < total_steps_) {
        StepReport report;
        try {
            report = step();
        } catch (const Error& e) {
            // A bad sample or file met half-way: say where the run can continue from once it is fixed.
            const auto existing = writer_ ? list_checkpoints(paths_.out_dir) : std::vector<fs::path>{};
            if (existing.empty()) throw;
            throw Error(std::string(e.what()) + "\n  training stopped during step " +
                        std::to_string(state_.step + 1) +
                        "; the last checkpoint is intact: " + existing.back().string() +
                        "\n  after fixing the cause, continue with: " + resume_command(existing.back()));
        }
        result.losses.push_back(report.loss);
        result.samples += static_cast<int64_t>(config_.data.batch_size) * config_.optim.grad_accum;
        result.peak_memory_bytes = std::max(result.peak_memory_bytes, report.peak_memory_bytes);
        if (metrics) metrics->write(report, state_.cursor.epoch);
        if (report.skipped && state_.nonfinite_streak > 0)
            spdlog::warn("step {}: non-finite loss ({}), step skipped ({} in a row, limit {})", report.step, report.loss,
                         state_.nonfinite_streak, config_.train.max_nonfinite_steps);
        if (hooks_.console && parallel_->is_writer() &&
            (report.step % config_.log.every == 0 || report.step == total_steps_ || report.step == start_step_ + 1))
            spdlog::info("{}", progress.line(report, state_.cursor.epoch));
        if (hooks_.on_step) hooks_.on_step(report);
        if (state_.nonfinite_streak >= config_.train.max_nonfinite_steps) {
            const auto existing = writer_ ? list_checkpoints(paths_.out_dir) : std::vector<fs::path>{};
            fail("training stopped: " + std::to_string(state_.nonfinite_streak) + " non-finite losses in a row (step " +
                     std::to_string(report.step) + ")",
                 "finite losses", std::to_string(report.loss),
                 existing.empty() ? "no checkpoint was written yet; lower optim.lr or use precision fp32/bf16"
                                  : "the last checkpoint is intact: " + existing.back().string() +
                                        "; lower optim.lr (or set optim.clip_grad_norm) and resume from it");
        }
        if (validation && report.step % config_.log.validation_every == 0) {
            const auto dir = paths_.out_dir / "validation" / checkpoint_name(report.step);
            write_validation_images(sd_, adapter_, range_, *tokenizer_, config_.pose_condition, *validation,
                                    config_.log, dir);
        }
        const bool stop = stop_requested();
        if (stop || (config_.checkpoint.every > 0 && report.step % config_.checkpoint.every == 0) ||
            state_.step == total_steps_)
            last_checkpoint = checkpoint();
        if (stop) {
            result.interrupted = true;
            result.resume_command = resume_command(last_checkpoint.empty() ? paths_.out_dir : last_checkpoint);
            break;
        }
    }
    if (start_step_ >= total_steps_ && writer_) last_checkpoint = checkpoint();  // nothing left: still leave one
    if (writer_ && !result.interrupted)
        save_adapter(paths_.out_dir / "adapter.safetensors", adapter_, range_,
                     {{"step", std::to_string(state_.step)},
                      {"config", config_.name},
                      {"pose_condition", config_.pose_condition.to_json().dump()}});
    result.steps = state_.step;
    result.last_checkpoint = last_checkpoint;
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

TrainResult train(const TrainConfig& config, const TrainPaths& paths, const TrainHooks& hooks) {
    Trainer trainer(config, paths, hooks);
    return trainer.run();
}

}  // namespace stablepose
