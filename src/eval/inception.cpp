#include "stablepose/eval/inception.h"

#include <torch/torch.h>

#include "stablepose/error.h"
#include "stablepose/eval/pil_resize.h"

namespace stablepose {
namespace {

const char* kHint = "export it with scripts/export_metric_models.py inception (--weights PTH or --random-init)";

}  // namespace

const torch::Tensor& InceptionFeatures::of_dims(int dims) const {
    if (dims == 64) return f64;
    if (dims == 2048) return f2048;
    fail("unknown Inception feature size", "64 or 2048", std::to_string(dims));
}

InceptionNetwork InceptionNetwork::load(const std::filesystem::path& pt_file, const MetricNetworkOptions& options) {
    if (!std::filesystem::is_regular_file(pt_file))
        fail("Inception network not found: '" + pt_file.string() + "'", "inception.pt written by the exporter",
             std::filesystem::exists(pt_file) ? "not a file" : "no such file", kHint);
    InceptionNetwork net;
    auto json_path = pt_file;
    json_path.replace_extension(".json");
    net.spec_ = read_metric_network_json(json_path, "fid_inception");
    net.sha256_ = net.spec_.value("sha256", std::string());
    net.device_ = metric_network_device(net.spec_, net.spec_.value("device", std::string("cpu")), options.device);
    net.module_ = load_metric_module(pt_file, net.sha256_, 1, net.device_, options.verify_hash, kHint);
    // Probe: a zero image must give the two documented feature vectors.
    const auto out = net(torch::zeros({1, 3, 299, 299}, torch::kUInt8));
    (void)out;
    return net;
}

InceptionFeatures InceptionNetwork::operator()(const torch::Tensor& images) {
    if (images.dim() != 4 || images.size(1) != 3 || images.scalar_type() != torch::kUInt8)
        fail("Inception input must be a batch of RGB uint8 images", "[B, 3, H, W] uint8",
             c10::str(images.sizes()) + " " + c10::toString(images.scalar_type()));
    const int64_t b = images.size(0);
    auto out = call_metric_module(module_, {images.to(device_)}, "Inception feature extraction", kHint);
    const auto bad = [&](const std::string& found) {
        fail("the Inception network returned the wrong outputs",
             "a tuple ([B, 64] float32, [B, 2048] float32) with B = " + std::to_string(b), found,
             "the file is not an Inception exported by scripts/export_metric_models.py; " + std::string(kHint));
    };
    if (!out.isTuple()) bad(out.tagKind());
    const auto& elements = out.toTupleRef().elements();
    if (elements.size() != 2 || !elements[0].isTensor() || !elements[1].isTensor())
        bad("a tuple of " + std::to_string(elements.size()) + " values");
    InceptionFeatures f{elements[0].toTensor().to(torch::kCPU), elements[1].toTensor().to(torch::kCPU)};
    const std::vector<int64_t> want64{b, 64}, want2048{b, 2048};
    if (f.f64.sizes().vec() != want64 || f.f2048.sizes().vec() != want2048 || f.f64.scalar_type() != torch::kFloat32 ||
        f.f2048.scalar_type() != torch::kFloat32)
        bad(c10::str(f.f64.sizes()) + " " + c10::toString(f.f64.scalar_type()) + " and " + c10::str(f.f2048.sizes()) +
            " " + c10::toString(f.f2048.scalar_type()));
    return f;
}

torch::Tensor imagenet_normalize_wrap_uint8(const torch::Tensor& x) {
    if (x.dim() < 3 || x.size(-3) != 3)
        fail("imagenet_normalize_wrap_uint8: expected RGB images", "[..., 3, H, W] float in [0, 1]",
             c10::str(x.sizes()));
    const auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(x.device());
    const auto mean = torch::tensor({0.485f, 0.456f, 0.406f}, opts).view({3, 1, 1});
    const auto std_dev = torch::tensor({0.229f, 0.224f, 0.225f}, opts).view({3, 1, 1});
    // torchvision Normalize: (x - mean) / std in float32; torchmetrics: imgs * 255; then the old cast.
    const auto v = (x.to(torch::kFloat32) - mean) / std_dev * 255.0f;
    const auto truncated = v.trunc().to(torch::kInt64);  // exact: |v| < 2^24
    return truncated.remainder(256).to(torch::kUInt8);   // remainder: non-negative for a positive divisor
}

torch::Tensor inception_input(const cv::Mat& rgb, bool reference_compat) {
    if (rgb.type() != CV_8UC3)
        fail("inception_input: expected an 8-bit RGB image", "CV_8UC3", "OpenCV type " + std::to_string(rgb.type()));
    const cv::Mat contiguous = rgb.isContinuous() ? rgb : rgb.clone();
    if (!reference_compat)
        return torch::from_blob(contiguous.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8)
            .permute({2, 0, 1})
            .clone();
    // The reference: PIL image -> Resize(299) -> CenterCrop(299) -> ToTensor -> Normalize -> x255 -> wrap.
    const cv::Mat prepared = torchvision_resize_center_crop(contiguous, 299);
    const auto chw = torch::from_blob(prepared.data, {299, 299, 3}, torch::kUInt8).permute({2, 0, 1});
    return imagenet_normalize_wrap_uint8(chw.to(torch::kFloat32) / 255.0f);
}

}  // namespace stablepose
