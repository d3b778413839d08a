#include "stablepose/nn/state_dict.h"

#include "stablepose/error.h"

namespace stablepose {

std::map<std::string, torch::Tensor> state_dict(const torch::nn::Module& module) {
    std::map<std::string, torch::Tensor> out;
    for (const auto& item : module.named_parameters()) out[item.key()] = item.value();
    for (const auto& item : module.named_buffers()) out[item.key()] = item.value();
    return out;
}

void load_state_dict(torch::nn::Module& module, const std::map<std::string, torch::Tensor>& weights,
                     const std::string& prefix) {
    auto own = state_dict(module);
    for (const auto& [name, target] : own) {
        const auto it = weights.find(prefix + name);
        if (it == weights.end())
            fail("weights: missing key '" + prefix + name + "'", "a tensor of shape " + c10::str(target.sizes()),
                 "no such key", "the checkpoint does not match this module (wrong model or prefix)");
        if (!it->second.sizes().equals(target.sizes()))
            fail("weights: shape mismatch for '" + prefix + name + "'", c10::str(target.sizes()),
                 c10::str(it->second.sizes()), "the checkpoint was made for another configuration");
    }
    for (const auto& [name, tensor] : weights)
        if (name.rfind(prefix, 0) == 0 && !own.count(name.substr(prefix.size())))
            fail("weights: unexpected key '" + name + "'", "only keys of this module under '" + prefix + "'", name,
                 "the checkpoint holds parts this module does not have");
    torch::NoGradGuard no_grad;
    for (auto& [name, target] : own) target.copy_(weights.at(prefix + name));
}

int64_t parameter_count(const torch::nn::Module& module) {
    int64_t n = 0;
    for (const auto& p : module.parameters()) n += p.numel();
    return n;
}

}  // namespace stablepose
