#include "stablepose/sd/frozen_sd.h"

#include <fstream>

#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/headeronly/version.h>

#include "stablepose/error.h"
#include "stablepose/io/sha256.h"
#include "stablepose/io/torch_error.h"

namespace stablepose {
namespace {

const char* kReexport = "re-export with scripts/export_sd.py using the pinned torch (scripts/setup.sh's .venv)";

std::string linked_torch_version() {
    return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
           std::to_string(TORCH_VERSION_PATCH);
}

torch::Tensor to_artifact(const torch::Tensor& t, torch::Device device, torch::ScalarType dtype, bool channels_last) {
    auto out = t.to(device, dtype);
    return channels_last && out.dim() == 4 ? out.contiguous(at::MemoryFormat::ChannelsLast) : out;
}

int count_forward_inputs(torch::jit::Module& module) {
    return static_cast<int>(module.get_method("forward").graph()->inputs().size()) - 1;  // minus self
}

}  // namespace

torch::ScalarType parse_model_dtype(const std::string& name) {
    if (name == "fp32" || name == "float32") return torch::kFloat32;
    if (name == "fp16" || name == "float16") return torch::kFloat16;
    if (name == "bf16" || name == "bfloat16") return torch::kBFloat16;
    fail("unknown model dtype '" + name + "'", "fp32, fp16 or bf16", name);
}

std::string model_dtype_name(torch::ScalarType dtype) {
    switch (dtype) {
        case torch::kFloat32: return "fp32";
        case torch::kFloat16: return "fp16";
        case torch::kBFloat16: return "bf16";
        default: fail("unsupported model dtype", "fp32, fp16 or bf16", c10::toString(dtype));
    }
}

// ---- model.json ------------------------------------------------------------------------------------------

FrozenModelSpec FrozenModelSpec::load(const std::filesystem::path& dir, const FrozenLoadOptions& options) {
    FrozenModelSpec spec;
    spec.dir = dir;
    const auto path = dir / "model.json";
    std::ifstream in(path);
    if (!in)
        fail("no model.json in '" + dir.string() + "'", "a model directory written by scripts/export_sd.py",
             !std::filesystem::exists(dir)        ? "no such directory"
             : std::filesystem::is_directory(dir) ? "a directory without model.json"
                                                  : "a file, not a directory",
             "export one: .venv/bin/python scripts/export_sd.py --from SD_FOLDER OUT_DIR (or --tiny for "
             "tests)");
    try {
        spec.json = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        fail(path.string() + " is not valid JSON", "the exporter's model.json", e.what(), kReexport);
    }
    const auto& j = spec.json;
    if (j.value("format", std::string()) != kFrozenSdFormat || j.value("format_version", 0) != kFrozenSdFormatVersion)
        fail(path.string() + ": unknown format",
             std::string(kFrozenSdFormat) + " version " + std::to_string(kFrozenSdFormatVersion),
             j.value("format", std::string("none")) + " version " + std::to_string(j.value("format_version", 0)), kReexport);
    const std::string exported = j.value("torch_version", std::string("unknown"));
    if (exported.substr(0, exported.find('+')) != linked_torch_version())
        fail(path.string() + ": traced with another torch version than the linked LibTorch",
             "torch " + linked_torch_version(), "torch " + exported, kReexport);
    try {
        spec.unet = UNetConfig::from_json(j.at("unet"));
        spec.dtype = parse_model_dtype(j.at("dtype").get<std::string>());
        spec.device = torch::Device(j.at("device").get<std::string>());
        spec.channels_last = j.value("memory_format", std::string("contiguous")) == "channels_last";
        spec.vae_scaling_factor = j.at("vae").at("scaling_factor").get<double>();
        spec.latent_channels = j.at("vae").at("latent_channels").get<int>();
        spec.text_hidden_size = j.at("text_encoder").at("hidden_size").get<int>();
        spec.text_max_length = j.at("text_encoder").value("max_length", 77);
    } catch (const nlohmann::json::exception& e) {
        fail(path.string() + ": a required field is missing or has the wrong type", "the exporter's model.json fields",
             e.what(), kReexport);
    }
    if (options.dtype && *options.dtype != spec.dtype)
        fail("model '" + dir.string() + "' was exported in another dtype", model_dtype_name(*options.dtype),
             model_dtype_name(spec.dtype), "export a model directory per dtype (--dtype); loaded modules are not cast");
    if (options.device && options.device->type() != spec.device.type())
        fail("model '" + dir.string() + "' was traced for another device", options.device->str(), spec.device.str(),
             "export a model directory per device (--device); tracing bakes the device in");
    if (spec.device.is_cuda() && !torch::cuda::is_available())
        fail("model '" + dir.string() + "' needs CUDA", "a visible CUDA device", "none",
             "run on a GPU machine, or export a CPU model (--device cpu --dtype fp32)");
    if (options.device) spec.device = *options.device;
    return spec;
}

const nlohmann::json& FrozenModelSpec::component(const std::string& name) const {
    if (!json.contains("components") || !json["components"].contains(name))
        fail("model.json in '" + dir.string() + "' has no component '" + name + "'",
             "unet, vae_encoder, vae_decoder, text_encoder", "missing", kReexport);
    return json["components"][name];
}

std::filesystem::path FrozenModelSpec::tokenizer_path() const {
    const auto& t = json.value("tokenizer", nlohmann::json::object());
    if (t.contains("bpe")) return dir / t["bpe"].get<std::string>();
    if (t.contains("vocab")) return dir / t["vocab"].get<std::string>();
    fail("model.json in '" + dir.string() + "' names no tokenizer", "\"tokenizer\": {\"bpe\" or \"vocab\"}", t.dump(),
         kReexport);
}

// ---- one component ---------------------------------------------------------------------------------------

FrozenComponent::FrozenComponent(const FrozenModelSpec& spec, const std::string& name, int expected_inputs,
                                 const FrozenLoadOptions& options)
    : name_(name) {
    const auto& info = spec.component(name);
    const auto file = spec.dir / info.at("file").get<std::string>();
    if (!std::filesystem::exists(file))
        fail("missing TorchScript file for '" + name + "'", file.string(), "no such file", kReexport);
    if (options.verify_hashes) {
        const auto expected = info.value("sha256", std::string());
        const auto found = sha256_file(file);
        if (found != expected)
            fail("'" + file.string() + "' does not match model.json (changed or corrupt)", "sha256 " + expected,
                 "sha256 " + found, kReexport);
    }
    try {
        // Loaded on the CPU, then parameters and buffers moved to the device: the trace's constants stay on the
        // host. They are 0-dim scalars (head_dim = inner_dim // heads in every attention, time-embedding factors);
        // mapped onto a GPU, each `int(head_dim)` would copy one back and wait for the device, which stalls the
        // host once per attention call and is refused under CUDA-graph capture.
        module_ = torch::jit::load(file.string(), torch::kCPU);
        module_.to(spec.device);
    } catch (const c10::Error& e) {
        fail("cannot load TorchScript file '" + file.string() + "'", "a torch.jit.save archive readable by torch " +
             linked_torch_version(), e.what_without_backtrace(), kReexport);
    }
    module_.eval();
    for (auto p : module_.parameters()) p.requires_grad_(false);
    const int inputs = count_forward_inputs(module_);
    if (inputs != expected_inputs)
        fail("'" + file.string() + "' has the wrong signature for '" + name + "'",
             std::to_string(expected_inputs) + " tensor inputs", std::to_string(inputs) + " inputs",
             "the file was not made by scripts/export_sd.py for this model.json");
}

torch::Tensor FrozenComponent::call(std::vector<torch::jit::IValue> inputs) {
    auto out = module_.forward(std::move(inputs));
    if (!out.isTensor())
        fail("'" + name_ + "' returned a " + out.tagKind(), "a tensor", out.tagKind(), kReexport);
    return out.toTensor();
}

std::map<std::string, torch::Tensor> FrozenComponent::parameters(const std::string& strip_prefix) const {
    std::map<std::string, torch::Tensor> out;
    for (const auto& p : module_.named_parameters(/*recurse=*/true)) {
        std::string key = p.name;
        if (key.rfind(strip_prefix, 0) == 0) key = key.substr(strip_prefix.size());
        out[key] = p.value;
    }
    return out;
}

namespace {

// A batch-1 call with zero inputs: the output shape and dtype must be what model.json promises.
void probe(FrozenComponent& component, std::vector<torch::jit::IValue> inputs, std::vector<int64_t> shape,
           torch::ScalarType dtype) {
    torch::NoGradGuard no_grad;
    torch::Tensor out;
    try {
        out = component.call(std::move(inputs));
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        fail("probe call of '" + component.name() + "' failed", "a run on zero inputs of the traced shapes",
             torch_error_message(e), kReexport);
    }
    if (out.sizes().vec() != shape || out.scalar_type() != dtype)
        fail("probe call of '" + component.name() + "' returned the wrong output",
             c10::str(c10::IntArrayRef(shape)) + " " + c10::toString(dtype),
             c10::str(out.sizes()) + " " + c10::toString(out.scalar_type()), kReexport);
}

std::vector<int64_t> traced_latent(const FrozenModelSpec& spec, const std::string& name) {
    const auto& t = spec.component(name).at("traced_shapes");
    return t.at("latent_size").get<std::vector<int64_t>>();
}

}  // namespace

// ---- U-Net -----------------------------------------------------------------------------------------------

FrozenUNet::FrozenUNet(const FrozenModelSpec& spec, const FrozenLoadOptions& options)
    : dtype_(spec.dtype), device_(spec.device), channels_last_(spec.channels_last),
      num_residuals_(spec.unet.num_down_residuals() + 1) {
    component_ = FrozenComponent(spec, "unet", 3 + num_residuals_, options);
    if (!options.probe) return;
    const auto hw = traced_latent(spec, "unet");
    const auto& u = spec.unet;
    auto zeros = [&](std::vector<int64_t> shape) { return to_artifact(torch::zeros(shape), device_, dtype_, channels_last_); };
    std::vector<torch::jit::IValue> inputs{zeros({1, u.in_channels, hw[0], hw[1]}),
                                           torch::zeros({1}, torch::TensorOptions().device(device_).dtype(torch::kInt64)),
                                           zeros({1, spec.text_max_length, u.cross_attention_dim})};
    for (const auto& shape : u.residual_shapes(hw[0], hw[1])) inputs.emplace_back(zeros({1, shape[0], shape[1], shape[2]}));
    probe(component_, std::move(inputs), {1, u.in_channels, hw[0], hw[1]}, dtype_);
}

torch::Tensor FrozenUNet::operator()(const torch::Tensor& sample, const torch::Tensor& timesteps,
                                     const torch::Tensor& context, const std::vector<torch::Tensor>& residuals) {
    if (static_cast<int>(residuals.size()) != num_residuals_)
        fail("U-Net: wrong number of control residuals", std::to_string(num_residuals_),
             std::to_string(residuals.size()), "pass the adapter's down residuals followed by the mid residual");
    if (timesteps.dim() != 1 || timesteps.size(0) != sample.size(0))
        fail("U-Net: one timestep per sample", "[" + std::to_string(sample.size(0)) + "]", c10::str(timesteps.sizes()));
    // Integer timesteps stay int64 (DDIM, DPM-Solver++); fractional ones (Euler's) stay float32, as diffusers
    // passes them: the traced graph converts either to float, and truncating 946.42 to 946 changes the output.
    const auto t = timesteps.is_floating_point() ? timesteps.to(device_, torch::kFloat32)
                                                 : timesteps.to(device_, torch::kInt64);
    std::vector<torch::jit::IValue> inputs{to_artifact(sample, device_, dtype_, channels_last_), t,
                                           context.to(device_, dtype_)};
    bool needs_grad = false;
    for (const auto& r : residuals) {
        inputs.emplace_back(to_artifact(r, device_, dtype_, channels_last_));
        needs_grad = needs_grad || r.requires_grad();
    }
    // Training: run the graph in the plain interpreter (eager autograd), as runtime.md §4 rule 2 says.
    torch::jit::GraphOptimizerEnabledGuard optimizer_guard(!(needs_grad && torch::GradMode::is_enabled()));
    return component_.call(std::move(inputs)).to(torch::kFloat32);
}

// ---- VAE and text encoder --------------------------------------------------------------------------------

VaeEncoder::VaeEncoder(const FrozenModelSpec& spec, const FrozenLoadOptions& options)
    : dtype_(spec.dtype), device_(spec.device), channels_last_(spec.channels_last),
      scaling_factor_(spec.vae_scaling_factor) {
    component_ = FrozenComponent(spec, "vae_encoder", 1, options);
    if (!options.probe) return;
    const auto hw = traced_latent(spec, "vae_encoder");
    probe(component_, {to_artifact(torch::zeros({1, 3, 8 * hw[0], 8 * hw[1]}), device_, dtype_, channels_last_)},
          {1, 2 * spec.latent_channels, hw[0], hw[1]}, dtype_);
}

torch::Tensor VaeEncoder::moments(const torch::Tensor& image) {
    if (image.dim() != 4 || image.size(1) != 3 || image.size(2) % 8 != 0 || image.size(3) % 8 != 0)
        fail("VAE encoder: bad image batch", "[B, 3, H, W] in [-1, 1], H and W multiples of 8", c10::str(image.sizes()));
    return component_.call({to_artifact(image, device_, dtype_, channels_last_)}).to(torch::kFloat32);
}

torch::Tensor VaeEncoder::encode(const torch::Tensor& image, torch::Generator& generator) {
    const auto m = moments(image);
    const auto parts = m.chunk(2, 1);
    const auto std_dev = torch::exp(0.5 * parts[1].clamp(-30.0, 20.0));
    const auto eps = torch::randn(parts[0].sizes(), generator, torch::kFloat32).to(m.device());
    return (parts[0] + std_dev * eps) * scaling_factor_;
}

VaeDecoder::VaeDecoder(const FrozenModelSpec& spec, const FrozenLoadOptions& options)
    : dtype_(spec.dtype), device_(spec.device), channels_last_(spec.channels_last) {
    component_ = FrozenComponent(spec, "vae_decoder", 1, options);
    if (!options.probe) return;
    const auto hw = traced_latent(spec, "vae_decoder");
    probe(component_, {to_artifact(torch::zeros({1, spec.latent_channels, hw[0], hw[1]}), device_, dtype_, channels_last_)},
          {1, 3, 8 * hw[0], 8 * hw[1]}, dtype_);
}

torch::Tensor VaeDecoder::decode(const torch::Tensor& latents) {
    return component_.call({to_artifact(latents, device_, dtype_, channels_last_)}).to(torch::kFloat32);
}

TextEncoder::TextEncoder(const FrozenModelSpec& spec, const FrozenLoadOptions& options) : device_(spec.device) {
    component_ = FrozenComponent(spec, "text_encoder", 1, options);
    if (!options.probe) return;
    probe(component_, {torch::zeros({1, spec.text_max_length}, torch::TensorOptions().device(device_).dtype(torch::kInt64))},
          {1, spec.text_max_length, spec.text_hidden_size}, spec.dtype);
}

torch::Tensor TextEncoder::encode(const torch::Tensor& input_ids) {
    if (input_ids.dim() != 2 || input_ids.scalar_type() != torch::kInt64)
        fail("text encoder: bad token ids", "[B, 77] int64", c10::str(input_ids.sizes()) + " " +
                                                                 c10::toString(input_ids.scalar_type()));
    return component_.call({input_ids.to(device_)}).to(torch::kFloat32);
}

FrozenStableDiffusion FrozenStableDiffusion::load(const std::filesystem::path& dir, const FrozenLoadOptions& options) {
    FrozenStableDiffusion sd;
    sd.spec = FrozenModelSpec::load(dir, options);
    sd.unet = FrozenUNet(sd.spec, options);
    sd.vae_encoder = VaeEncoder(sd.spec, options);
    sd.vae_decoder = VaeDecoder(sd.spec, options);
    sd.text_encoder = TextEncoder(sd.spec, options);
    return sd;
}

}  // namespace stablepose
