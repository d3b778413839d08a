#include "stablepose/nn/stable_pose_adapter.h"

#include "stablepose/error.h"

namespace stablepose {

namespace nn = torch::nn;

namespace {
nn::Conv2d zero_conv1x1(int channels) {
    auto conv = nn::Conv2d(nn::Conv2dOptions(channels, channels, 1));
    zero_parameters(*conv);
    return conv;
}
nn::Conv2d conv3x3(int in, int out, int stride = 1) {
    return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1));
}
}  // namespace

AdapterMode parse_adapter_mode(const std::string& name) {
    if (name == "stable_pose") return AdapterMode::kStablePose;
    if (name == "controlnet") return AdapterMode::kControlNet;
    fail("unknown adapter mode '" + name + "'", "stable_pose or controlnet", name);
}

std::string to_string(AdapterMode mode) { return mode == AdapterMode::kStablePose ? "stable_pose" : "controlnet"; }

// ---- ControlNet conditioning embedding -------------------------------------------------------------------

ControlNetConditioningEmbeddingImpl::ControlNetConditioningEmbeddingImpl(int out_channels, int in_channels,
                                                                         const std::vector<int>& channels) {
    conv_in = register_module("conv_in", conv3x3(in_channels, channels.front()));
    blocks = register_module("blocks", nn::ModuleList());
    for (size_t i = 0; i + 1 < channels.size(); ++i) {
        blocks->push_back(conv3x3(channels[i], channels[i]));
        blocks->push_back(conv3x3(channels[i], channels[i + 1], 2));
    }
    conv_out = register_module("conv_out", conv3x3(channels.back(), out_channels));
    zero_parameters(*conv_out);
}

torch::Tensor ControlNetConditioningEmbeddingImpl::forward(const torch::Tensor& image) {
    auto h = torch::silu(conv_in(image));
    for (const auto& block : *blocks) h = torch::silu(block->as<nn::Conv2d>()->forward(h));
    return conv_out(h);
}

// ---- down and mid blocks ---------------------------------------------------------------------------------

AdapterDownBlockImpl::AdapterDownBlockImpl(const UNetConfig& unet, int level, const AttnResBlockOptions* attn_res) {
    const int out = unet.block_out_channels[level];
    const int in = level == 0 ? out : unet.block_out_channels[level - 1];
    const bool cross = unet.down_block_types[level] == "CrossAttnDownBlock2D";
    resnets = register_module("resnets", nn::ModuleList());
    attentions = register_module("attentions", nn::ModuleList());
    downsamplers = register_module("downsamplers", nn::ModuleList());
    for (int j = 0; j < unet.layers_per_block; ++j) {
        if (j == 0 && attn_res) {
            attn_res_block_ = AttnResBlock(*attn_res);
            resnets->push_back(attn_res_block_);
        } else {
            resnets_.emplace_back(j == 0 ? in : out, out, unet.time_embed_dim(), unet.norm_num_groups, unet.norm_eps);
            resnets->push_back(resnets_.back());
        }
        if (cross) {
            attentions_.emplace_back(out, unet.cross_attention_dim, unet.num_attention_heads[level],
                                     unet.transformer_layers_per_block, unet.norm_num_groups,
                                     unet.use_linear_projection);
            attentions->push_back(attentions_.back());
        }
    }
    if (level + 1 < static_cast<int>(unet.block_out_channels.size())) {
        downsampler_ = Downsample2D(out);
        downsamplers->push_back(downsampler_);
    }
}

torch::Tensor AdapterDownBlockImpl::forward(torch::Tensor x, const torch::Tensor& temb, const torch::Tensor& context,
                                            const torch::Tensor& pose_features, const torch::Tensor& masks,
                                            std::vector<torch::Tensor>& residuals) {
    const size_t layers = resnets->size();
    size_t plain = 0;
    for (size_t j = 0; j < layers; ++j) {
        x = (j == 0 && attn_res_block_) ? attn_res_block_(x, temb, pose_features, masks) : resnets_[plain++](x, temb);
        if (!attentions_.empty()) x = attentions_[j](x, context);
        residuals.push_back(x);
    }
    if (downsampler_) {
        x = downsampler_(x);
        residuals.push_back(x);
    }
    return x;
}

AdapterMidBlockImpl::AdapterMidBlockImpl(const UNetConfig& unet) {
    const int c = unet.block_out_channels.back();
    first_ = ResnetBlock2D(c, c, unet.time_embed_dim(), unet.norm_num_groups, unet.norm_eps);
    second_ = ResnetBlock2D(c, c, unet.time_embed_dim(), unet.norm_num_groups, unet.norm_eps);
    attention_ = Transformer2DModel(c, unet.cross_attention_dim, unet.num_attention_heads.back(),
                                    unet.transformer_layers_per_block, unet.norm_num_groups,
                                    unet.use_linear_projection);
    resnets = register_module("resnets", nn::ModuleList(first_, second_));
    attentions = register_module("attentions", nn::ModuleList(attention_));
}

torch::Tensor AdapterMidBlockImpl::forward(torch::Tensor x, const torch::Tensor& temb, const torch::Tensor& context) {
    return second_(attention_(first_(x, temb), context), temb);
}

// ---- the adapter -----------------------------------------------------------------------------------------

StablePoseAdapterImpl::StablePoseAdapterImpl(const AdapterConfig& config) : config_(config) {
    const auto& unet = config.unet;
    const int c0 = unet.block_out_channels.front();
    conv_in = register_module("conv_in", conv3x3(unet.in_channels, c0));
    time_embedding = register_module("time_embedding", TimestepEmbedding(c0, unet.time_embed_dim()));
    AttnResBlockOptions attn_res;
    if (config.mode == AdapterMode::kStablePose) {
        feature_extractor = register_module("feature_extractor", PoseEncoder(config.pose_encoder));
        attn_res.channels = c0;
        attn_res.emb_channels = unet.time_embed_dim();
        attn_res.pose_channels = config.pose_encoder.out_channels;
        attn_res.norm_groups = unet.norm_num_groups;
        attn_res.vit = config.vit;
        attn_res.vit.channels = c0;
    } else {
        controlnet_cond_embedding = register_module(
            "controlnet_cond_embedding",
            ControlNetConditioningEmbedding(c0, config.conditioning_channels, config.conditioning_embedding_out_channels));
    }
    down_blocks = register_module("down_blocks", nn::ModuleList());
    controlnet_down_blocks = register_module("controlnet_down_blocks", nn::ModuleList());
    zero_convs_.push_back(zero_conv1x1(c0));
    const int levels = static_cast<int>(unet.block_out_channels.size());
    for (int level = 0; level < levels; ++level) {
        const bool pose_block = level == 0 && config.mode == AdapterMode::kStablePose;
        down_.emplace_back(unet, level, pose_block ? &attn_res : nullptr);
        down_blocks->push_back(down_.back());
        const int out = unet.block_out_channels[level];
        for (int j = 0; j < unet.layers_per_block + (level + 1 < levels ? 1 : 0); ++j) zero_convs_.push_back(zero_conv1x1(out));
    }
    for (const auto& conv : zero_convs_) controlnet_down_blocks->push_back(conv);
    mid_block = register_module("mid_block", AdapterMidBlock(unet));
    controlnet_mid_block = register_module("controlnet_mid_block", zero_conv1x1(unet.block_out_channels.back()));
}

torch::Tensor StablePoseAdapterImpl::encode_condition(const torch::Tensor& image) {
    if (image.dim() != 4 || image.size(1) != (config_.mode == AdapterMode::kStablePose ? 3 : config_.conditioning_channels))
        fail("adapter: bad condition image", "[B, 3, H, W] in [-1, 1]", c10::str(image.sizes()));
    const auto encode = [this](const std::vector<torch::Tensor>& in) -> std::vector<torch::Tensor> {
        return {config_.mode == AdapterMode::kStablePose ? feature_extractor(in[0]) : controlnet_cond_embedding(in[0])};
    };
    if (!segment_runner_) return encode({image}).front();
    const auto params = config_.mode == AdapterMode::kStablePose ? feature_extractor->parameters()
                                                                 : controlnet_cond_embedding->parameters();
    return segment_runner_(encode, {image}, params).front();
}

std::vector<torch::Tensor> StablePoseAdapterImpl::forward(const torch::Tensor& sample, const torch::Tensor& timesteps,
                                                          const torch::Tensor& context, const torch::Tensor& condition,
                                                          const torch::Tensor& masks, double scale) {
    const auto b = sample.size(0);
    const auto& unet = config_.unet;
    const int c0 = unet.block_out_channels.front();
    if (sample.dim() != 4 || sample.size(1) != unet.in_channels)
        fail("adapter: bad latent batch", "[B, " + std::to_string(unet.in_channels) + ", h, w]", c10::str(sample.sizes()));
    if (timesteps.dim() != 1 || timesteps.size(0) != b)
        fail("adapter: one timestep per sample", "[" + std::to_string(b) + "]", c10::str(timesteps.sizes()));
    if (context.dim() != 3 || context.size(0) != b || context.size(2) != unet.cross_attention_dim)
        fail("adapter: bad text context", "[" + std::to_string(b) + ", 77, " + std::to_string(unet.cross_attention_dim) + "]",
             c10::str(context.sizes()));
    const int cond_channels = config_.mode == AdapterMode::kStablePose ? config_.pose_encoder.out_channels : c0;
    if (condition.dim() != 4 || condition.size(0) != b || condition.size(1) != cond_channels ||
        condition.size(2) != sample.size(2) || condition.size(3) != sample.size(3))
        fail("adapter: condition features must sit on the latent grid (use encode_condition)",
             "[" + std::to_string(b) + ", " + std::to_string(cond_channels) + ", " + std::to_string(sample.size(2)) +
                 ", " + std::to_string(sample.size(3)) + "]",
             c10::str(condition.sizes()));

    const auto t_emb = timestep_embedding(timesteps, c0, unet.flip_sin_to_cos, unet.freq_shift).to(sample.scalar_type());
    const auto temb = time_embedding(t_emb);
    auto x = conv_in(sample);
    if (config_.mode == AdapterMode::kControlNet) x = x + condition;
    std::vector<torch::Tensor> residuals{x};
    if (!segment_runner_) {
        for (auto& block : down_) x = block(x, temb, context, condition, masks, residuals);
        x = mid_block(x, temb, context);
    } else {
        // Each block a segment: inputs x, temb, context, condition (the masks carry no gradient, so they
        // are captured); outputs the block's residuals, then its output.
        for (auto block : down_) {
            const AdapterSegment segment = [block, masks](const std::vector<torch::Tensor>& in) mutable {
                std::vector<torch::Tensor> out;
                auto y = block(in[0], in[1], in[2], in[3], masks, out);
                out.push_back(y);
                return out;
            };
            auto out = segment_runner_(segment, {x, temb, context, condition}, block->parameters());
            x = out.back();
            residuals.insert(residuals.end(), out.begin(), out.end() - 1);
        }
        auto mid = mid_block;
        const AdapterSegment segment = [mid](const std::vector<torch::Tensor>& in) mutable {
            return std::vector<torch::Tensor>{mid(in[0], in[1], in[2])};
        };
        x = segment_runner_(segment, {x, temb, context}, mid_block->parameters()).front();
    }
    auto scaled = [scale](torch::Tensor t) { return scale == 1.0 ? t : t * scale; };
    std::vector<torch::Tensor> out;
    for (size_t k = 0; k < residuals.size(); ++k) out.push_back(scaled(zero_convs_[k](residuals[k])));
    out.push_back(scaled(controlnet_mid_block(x)));
    return out;
}

}  // namespace stablepose
