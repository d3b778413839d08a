// Training checkpoints that resume exactly (llm.c's habit): RUN/checkpoints/step-NNNNNNNN/ holds
//   adapter.safetensors    the adapter (nn/adapter_file.h; `stablepose sample --adapter` reads it)
//   optimizer.safetensors  AdamW state by parameter name: NAME.exp_avg, NAME.exp_avg_sq, NAME.step
//   trainer_state.json     format + version, step, data cursor, every RNG state, loss scaler, streaks, paths
//   config.json            the resolved training config
// written into a temporary folder that is renamed into place, so a crash leaves either the old set or the
// complete new one; the oldest are deleted beyond keep_last.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/optim/adamw.h>
#include <torch/types.h>

#include "stablepose/nn/adapter_file.h"
#include "stablepose/train/data_loader.h"

namespace stablepose {

inline constexpr const char* kTrainCheckpointFormat = "stablepose.train-checkpoint";
inline constexpr int kTrainCheckpointVersion = 1;

struct TrainerState {
    int64_t step = 0;  // optimizer steps done (skipped non-finite steps included)
    DataCursor cursor;  // the next batch
    int64_t samples_seen = 0;  // by this rank
    int nonfinite_streak = 0;
    std::map<std::string, torch::Tensor> rng;  // generator name -> CPU generator state (uint8)
    nlohmann::json loss_scaler = nlohmann::json::object();
    nlohmann::json paths = nlohmann::json::object();         // model, data, out, as given at the start
    nlohmann::json model_hashes = nlohmann::json::object();  // sha256 of the frozen components

    nlohmann::json to_json() const;
    static TrainerState from_json(const nlohmann::json& j, const std::string& source);
};

struct CheckpointContents {
    std::filesystem::path dir;
    TrainerState state;
    nlohmann::json config;
};

std::string checkpoint_name(int64_t step);  // "step-00000100"
// The checkpoints of a run folder (RUN/checkpoints/step-*), oldest first; temporary folders are ignored.
std::vector<std::filesystem::path> list_checkpoints(const std::filesystem::path& run_dir);

// Writes RUN/checkpoints/step-NNNNNNNN atomically and prunes to keep_last. Returns the folder.
std::filesystem::path write_checkpoint(const std::filesystem::path& run_dir, const TrainerState& state,
                                       const nlohmann::json& config, const StablePoseAdapter& adapter,
                                       ConditionRange range, const torch::optim::AdamW& optimizer, int keep_last);

// `path`: a checkpoint folder, or a run folder (its newest checkpoint). Reads the state and config (not the
// tensors). Throws Error naming the folder when it is missing, incomplete or of another format/version.
CheckpointContents read_checkpoint(const std::filesystem::path& path);

// The run folder a checkpoint folder belongs to (RUN for RUN/checkpoints/step-N), wherever the run folder has
// been moved or copied since; empty when the folder is not laid out that way.
std::filesystem::path run_folder_of(const std::filesystem::path& checkpoint_dir);

// AdamW state by parameter name. Saving skips parameters without state (never stepped). Loading is strict:
// every saved name must be a parameter of the same shape.
std::map<std::string, torch::Tensor> optimizer_state_tensors(const torch::optim::AdamW& optimizer,
                                                             const torch::nn::Module& module);
void load_optimizer_state(torch::optim::AdamW& optimizer, const torch::nn::Module& module,
                          const std::filesystem::path& file);

// Generator state <-> hex text for the JSON.
std::string tensor_to_hex(const torch::Tensor& bytes);
torch::Tensor hex_to_tensor(const std::string& hex, const std::string& what);

}  // namespace stablepose
