// DistributedContext's collectives on whole modules, gradient lists and scalars, built on the raw c10d calls
// of distributed_c10d.cpp. Gradient averaging follows torch.nn.parallel.DistributedDataParallel's reducer:
// flat buckets all-reduced with SUM, then divided by the world size.
#include <torch/torch.h>

#include "stablepose/error.h"
#include "stablepose/train/distributed.h"

namespace stablepose {

namespace {

// bucket: tensors of one dtype and device; returns [sum of numel] in that dtype, on that device.
torch::Tensor flatten(const std::vector<torch::Tensor>& tensors, const std::vector<size_t>& bucket) {
    std::vector<torch::Tensor> flat;
    flat.reserve(bucket.size());
    for (size_t i : bucket) flat.push_back(tensors[i].reshape({-1}));
    return torch::cat(flat);
}

// Copies the flat bucket back into its tensors (in place, keeping their storage and strides).
void unflatten_into(const torch::Tensor& flat, const std::vector<torch::Tensor>& tensors,
                    const std::vector<size_t>& bucket) {
    torch::NoGradGuard no_grad;
    int64_t offset = 0;
    for (size_t i : bucket) {
        const auto& t = tensors[i];
        t.copy_(flat.slice(0, offset, offset + t.numel()).view(t.sizes()));
        offset += t.numel();
    }
}

// The defined tensors of a list, grouped by make_buckets and flattened: one flat tensor per bucket, for the
// collectives to work on in place before copy_back() writes the results into the tensors.
struct FlatBuckets {
    std::vector<torch::Tensor> tensors;
    std::vector<std::vector<size_t>> buckets;
    std::vector<torch::Tensor> flats;

    FlatBuckets(const std::vector<torch::Tensor>& all, int64_t bucket_bytes) {
        for (const auto& t : all)
            if (t.defined()) tensors.push_back(t);
        buckets = make_buckets(tensors, bucket_bytes);
        torch::NoGradGuard no_grad;
        for (const auto& bucket : buckets) flats.push_back(flatten(tensors, bucket));
    }
    void copy_back() const {
        for (size_t b = 0; b < buckets.size(); ++b) unflatten_into(flats[b], tensors, buckets[b]);
    }
};

// Max and min over the ranks of each value, with one all-reduce (MAX of [v, -v]); returns max - min.
torch::Tensor spread_over_ranks(DistributedContext& context, const std::vector<double>& values) {
    const auto n = static_cast<int64_t>(values.size());
    std::vector<double> both(values);
    for (double v : values) both.push_back(-v);
    auto reduced = torch::tensor(both, torch::kFloat64).to(context.device());
    context.all_reduce_max_(reduced);
    reduced = reduced.cpu();
    return reduced.slice(0, 0, n) + reduced.slice(0, n, 2 * n);
}

}  // namespace

// The buckets are only meaningful if every rank flattens the same tensors in the same order: two small
// all-reduces (the count, then each gradient's size, 0 when undefined) check that before the large ones.
void DistributedContext::check_same_gradients(const std::vector<torch::Tensor>& grads) {
    const auto count = spread_over_ranks(*this, {static_cast<double>(grads.size())});
    if (count[0].item<double>() != 0)
        fail("distributed: the ranks pass different numbers of gradients to average",
             "the same list on every rank", std::to_string(grads.size()) + " here, another count elsewhere",
             "every rank must build the same model and train the same parameters");
    std::vector<double> sizes;
    sizes.reserve(grads.size());
    for (const auto& g : grads) sizes.push_back(g.defined() ? static_cast<double>(g.numel()) : 0.0);
    const auto differing = spread_over_ranks(*this, sizes).nonzero();
    if (differing.numel() > 0) {
        const auto i = differing[0][0].item<int64_t>();
        fail("distributed: gradient " + std::to_string(i) + " differs between the ranks",
             "each gradient defined with the same size on every rank",
             grads[static_cast<size_t>(i)].defined()
                 ? "here it has " + std::to_string(grads[static_cast<size_t>(i)].numel()) + " elements"
                 : "here it is undefined",
             "a parameter unused in some rank's forward has no gradient there; make every rank use it");
    }
}

std::shared_ptr<DistributedContext> DistributedContext::from_environment(torch::DeviceType device_type,
                                                                         const DistributedOptions& options) {
    const auto env = DistributedEnv::from_environment();
    if (device_type == torch::kCUDA) {
        const int count = static_cast<int>(torch::cuda::device_count());
        if (env.local_rank >= count)
            fail("distributed: no CUDA device for LOCAL_RANK " + std::to_string(env.local_rank),
                 "LOCAL_RANK < the number of visible GPUs", std::to_string(count) + " visible",
                 "start at most one process per GPU on each machine (torchrun --nproc_per_node)");
        return std::make_shared<DistributedContext>(env, torch::Device(torch::kCUDA, env.local_rank),
                                                    options);
    }
    if (device_type != torch::kCPU)
        fail("distributed: unsupported device type", "cpu or cuda", torch::Device(device_type).str());
    return std::make_shared<DistributedContext>(env, torch::Device(torch::kCPU), options);
}

void DistributedContext::check_root(int root) const {
    if (root < 0 || root >= env_.world_size)
        fail("distributed: bad root rank", "0 <= root < world_size " + std::to_string(env_.world_size),
             std::to_string(root));
}

void DistributedContext::broadcast_parameters(torch::nn::Module& module, int root) {
    std::vector<torch::Tensor> tensors;
    for (const auto& p : module.parameters(/*recurse=*/true)) tensors.push_back(p);
    for (const auto& b : module.buffers(/*recurse=*/true)) tensors.push_back(b);
    broadcast_(tensors, root);
}

void DistributedContext::broadcast_(const std::vector<torch::Tensor>& tensors, int root) {
    check_root(root);
    if (!has_process_group()) return;
    FlatBuckets flat(tensors, options_.bucket_bytes);
    c10d_broadcast_(flat.flats, root);
    flat.copy_back();
}

void DistributedContext::synchronize_gradients(const std::vector<torch::Tensor>& grads) {
    if (!has_process_group()) return;
    check_same_gradients(grads);
    FlatBuckets flat(grads, options_.bucket_bytes);
    c10d_all_reduce_(flat.flats, /*max=*/false);
    for (auto& f : flat.flats) f.div_(static_cast<double>(env_.world_size));
    flat.copy_back();
}

void DistributedContext::all_reduce_gradients(const std::vector<torch::Tensor>& parameters) {
    std::vector<torch::Tensor> grads;
    grads.reserve(parameters.size());
    for (const auto& p : parameters) grads.push_back(p.grad());  // undefined where there is none
    synchronize_gradients(grads);
}

void DistributedContext::all_reduce_sum_(torch::Tensor& t) {
    if (!has_process_group()) return;
    std::vector<torch::Tensor> one{t.is_contiguous() ? t : t.contiguous()};
    c10d_all_reduce_(one, /*max=*/false);
    if (!one[0].is_same(t)) t.copy_(one[0]);
}

void DistributedContext::all_reduce_max_(torch::Tensor& t) {
    if (!has_process_group()) return;
    std::vector<torch::Tensor> one{t.is_contiguous() ? t : t.contiguous()};
    c10d_all_reduce_(one, /*max=*/true);
    if (!one[0].is_same(t)) t.copy_(one[0]);
}

void DistributedContext::all_reduce_mean_(torch::Tensor& t) {
    if (!has_process_group()) return;
    all_reduce_sum_(t);
    t.div_(env_.world_size);
}

double DistributedContext::all_reduce_sum(double value) {
    if (!has_process_group()) return value;
    auto t = torch::full({1}, value, torch::TensorOptions().dtype(torch::kFloat64).device(device_));
    all_reduce_sum_(t);
    return t.item<double>();
}

double DistributedContext::all_reduce_mean(double value) {
    return all_reduce_sum(value) / static_cast<double>(env_.world_size);
}

double DistributedContext::all_reduce_max(double value) {
    if (!has_process_group()) return value;
    auto t = torch::full({1}, value, torch::TensorOptions().dtype(torch::kFloat64).device(device_));
    all_reduce_max_(t);
    return t.item<double>();
}

bool DistributedContext::any_rank(bool flag) { return all_reduce_max(flag ? 1.0 : 0.0) > 0.5; }

void DistributedContext::barrier() {
    if (has_process_group()) c10d_barrier();
}

}  // namespace stablepose
