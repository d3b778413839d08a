// Loading the evaluation networks written by scripts/export_metric_models.py (runtime.md §2.6-2.7): a TorchScript
// file plus its sidecar JSON ("stablepose.metric-network"). Loading checks the format, the linked LibTorch
// version, the file's sha256 and the number of forward inputs, and fails with expected/found/hint.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/script.h>

namespace stablepose {

inline constexpr const char* kMetricNetworkFormat = "stablepose.metric-network";
inline constexpr int kMetricNetworkFormatVersion = 1;

struct MetricNetworkOptions {
    std::optional<torch::Device> device;  // default: CUDA when available and the file allows it, else its device
    bool verify_hash = true;              // sha256 of each .pt against the sidecar
};

// Reads and checks a sidecar: its format/version, its "component" (== `component`) and the torch version it was
// traced with (== the linked LibTorch).
nlohmann::json read_metric_network_json(const std::filesystem::path& json_path, const std::string& component);

// The device a traced file runs on. Files whose graph has no baked device ("device_portable") run on `requested`,
// else on CUDA when available, else on the CPU; others only on the device they were traced on.
torch::Device metric_network_device(const nlohmann::json& file_spec, const std::string& traced_device,
                                    const std::optional<torch::Device>& requested);

// One TorchScript file: sha256 checked against `expected_sha256` (unless verify_hash is off), `expected_inputs`
// tensor inputs to forward, parameters frozen, eval mode, loaded onto `device`. `hint` tells how to re-export.
torch::jit::Module load_metric_module(const std::filesystem::path& file, const std::string& expected_sha256,
                                      int expected_inputs, torch::Device device, bool verify_hash,
                                      const std::string& hint);

// Runs module.forward on `inputs` and turns a c10::Error into an Error naming `what`.
torch::jit::IValue call_metric_module(torch::jit::Module& module, std::vector<torch::jit::IValue> inputs,
                                      const std::string& what, const std::string& hint);

}  // namespace stablepose
