#include "stablepose/eval/metric_network.h"

#include <fstream>

#include <torch/headeronly/version.h>
#include <torch/torch.h>

#include "stablepose/error.h"
#include "stablepose/io/sha256.h"
#include "stablepose/io/torch_error.h"

namespace stablepose {
namespace {

std::string linked_torch_version() {
    return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
           std::to_string(TORCH_VERSION_PATCH);
}

const char* kReexport = "re-export with scripts/export_metric_models.py using the pinned torch (scripts/setup.sh's .venv)";

}  // namespace

nlohmann::json read_metric_network_json(const std::filesystem::path& json_path, const std::string& component) {
    std::ifstream in(json_path);
    if (!in)
        fail("no metadata file '" + json_path.string() + "'",
             "the sidecar JSON written by scripts/export_metric_models.py next to the TorchScript file",
             std::filesystem::exists(json_path.parent_path()) ? "no such file" : "no such directory",
             "export the network: .venv/bin/python scripts/export_metric_models.py --help");
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        fail(json_path.string() + " is not valid JSON", "the exporter's metadata", e.what(), kReexport);
    }
    if (j.value("format", std::string()) != kMetricNetworkFormat ||
        j.value("format_version", 0) != kMetricNetworkFormatVersion)
        fail(json_path.string() + ": unknown format",
             std::string(kMetricNetworkFormat) + " version " + std::to_string(kMetricNetworkFormatVersion),
             j.value("format", std::string("none")) + " version " + std::to_string(j.value("format_version", 0)),
             kReexport);
    if (j.value("component", std::string()) != component)
        fail(json_path.string() + " describes another network", "component \"" + component + "\"",
             "component \"" + j.value("component", std::string("none")) + "\"",
             "pass the file exported for this metric (inception.pt for FID/KID, the clip folder for CLIP-score)");
    const std::string exported = j.value("torch_version", std::string("unknown"));
    if (exported.substr(0, exported.find('+')) != linked_torch_version())
        fail(json_path.string() + ": traced with another torch version than the linked LibTorch",
             "torch " + linked_torch_version(), "torch " + exported, kReexport);
    return j;
}

torch::Device metric_network_device(const nlohmann::json& file_spec, const std::string& traced_device,
                                    const std::optional<torch::Device>& requested) {
    const torch::Device traced(traced_device);
    if (!file_spec.value("device_portable", false)) {
        if (requested && requested->type() != traced.type())
            fail("this network was traced for " + traced.str() + " and has the device baked in",
                 requested->str(), traced.str(), "export it with --device " + requested->str());
        if (traced.is_cuda() && !torch::cuda::is_available())
            fail("this network was traced for CUDA", "a visible CUDA device", "none",
                 "run on a GPU machine, or export with --device cpu");
        return traced;
    }
    if (requested) {
        if (requested->is_cuda() && !torch::cuda::is_available())
            fail("CUDA requested for feature extraction", "a visible CUDA device", "none", "use --device cpu");
        return *requested;
    }
    return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

torch::jit::Module load_metric_module(const std::filesystem::path& file, const std::string& expected_sha256,
                                      int expected_inputs, torch::Device device, bool verify_hash,
                                      const std::string& hint) {
    if (!std::filesystem::is_regular_file(file))
        fail("missing TorchScript file '" + file.string() + "'", "the file named by the sidecar JSON", "no such file",
             hint);
    if (verify_hash) {
        const auto found = sha256_file(file);
        if (found != expected_sha256)
            fail("'" + file.string() + "' does not match its sidecar JSON (changed or corrupt)",
                 "sha256 " + expected_sha256, "sha256 " + found, hint);
    }
    torch::jit::Module module;
    try {
        module = torch::jit::load(file.string(), device);
    } catch (const c10::Error& e) {
        fail("cannot load TorchScript file '" + file.string() + "'",
             "a torch.jit.save archive readable by torch " + linked_torch_version(), e.what_without_backtrace(), hint);
    }
    module.eval();
    for (auto p : module.parameters()) p.requires_grad_(false);
    const int inputs = static_cast<int>(module.get_method("forward").graph()->inputs().size()) - 1;  // minus self
    if (inputs != expected_inputs)
        fail("'" + file.string() + "' has the wrong signature", std::to_string(expected_inputs) + " tensor input(s)",
             std::to_string(inputs) + " input(s)", hint);
    return module;
}

torch::jit::IValue call_metric_module(torch::jit::Module& module, std::vector<torch::jit::IValue> inputs,
                                      const std::string& what, const std::string& hint) {
    torch::NoGradGuard no_grad;
    try {
        return module.forward(std::move(inputs));
    } catch (const std::exception& e) {
        fail(what + " failed", "a run of the traced network on its documented inputs", torch_error_message(e),
             hint);
    }
}

}  // namespace stablepose
