// Data parallel training on LibTorch's c10d (the C++ side of torch.distributed): one process per device,
// launched like torchrun, Gloo on the CPU and NCCL on CUDA, gradients averaged in flat buckets the way
// torch.nn.parallel.DistributedDataParallel's reducer does (default bucket 25 MiB), without its autograd
// hooks: the trainer calls synchronize_gradients() once per optimizer step.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "stablepose/train/parallel_context.h"

namespace stablepose {

// torchrun's environment. With WORLD_SIZE unset the process runs alone (launched = false, world_size 1).
struct DistributedEnv {
    bool launched = false;  // WORLD_SIZE was set: a process group is created, even for world_size 1
    int rank = 0;           // RANK
    int world_size = 1;     // WORLD_SIZE
    int local_rank = 0;     // LOCAL_RANK (defaults to RANK): the CUDA device index on this node
    std::string master_addr = "127.0.0.1";  // MASTER_ADDR: where rank 0 serves the TCPStore
    int master_port = 29500;                // MASTER_PORT; 0 lets rank 0 pick one (world_size 1 only)

    // Reads RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT; fails naming the first bad variable.
    static DistributedEnv from_environment();
    std::string describe() const;  // "rank 1/2 (local 1), master 127.0.0.1:29500"
};

enum class DistributedBackend {
    kAuto,  // NCCL for CUDA devices (Gloo when this build has no NCCL, with a warning), Gloo for the CPU
    kGloo,
    kNccl,
};
DistributedBackend parse_distributed_backend(const std::string& name);  // "auto", "gloo", "nccl"
std::string to_string(DistributedBackend backend);

struct DistributedOptions {
    DistributedBackend backend = DistributedBackend::kAuto;
    // How long a rank waits for the others (rendez-vous and every collective) before failing.
    std::chrono::milliseconds timeout = std::chrono::minutes(30);
    int64_t bucket_bytes = int64_t{25} << 20;  // gradient bucket size (DDP's bucket_cap_mb = 25)
};

// The process group of one training run. Collectives must be called by every rank in the same order;
// with world_size 1 and no launcher they do nothing (no store, no sockets).
class DistributedContext : public ParallelContext {
public:
    // `device` is where this rank trains (for NCCL: cuda:LOCAL_RANK, which becomes the current device).
    DistributedContext(const DistributedEnv& env, torch::Device device,
                       const DistributedOptions& options = {});
    ~DistributedContext() override;
    DistributedContext(const DistributedContext&) = delete;
    DistributedContext& operator=(const DistributedContext&) = delete;

    // DistributedEnv::from_environment() and the device for this rank: cuda:LOCAL_RANK for kCUDA, else CPU.
    static std::shared_ptr<DistributedContext> from_environment(torch::DeviceType device_type,
                                                                const DistributedOptions& options = {});

    int rank() const override { return env_.rank; }
    int world_size() const override { return env_.world_size; }
    int local_rank() const { return env_.local_rank; }
    bool is_rank0() const { return env_.rank == 0; }
    bool has_process_group() const;  // false for a process run without a launcher
    torch::Device device() const { return device_; }
    DistributedBackend backend() const { return backend_; }  // kAuto resolved; kGloo without a group
    const DistributedEnv& env() const { return env_; }

    // Copies every parameter and buffer of `module` from rank `root` to all ranks, so that all start from the
    // same weights whatever their own initialisation was. The module must be on device().
    void broadcast_parameters(torch::nn::Module& module, int root = 0);
    // Broadcasts the tensors in place (bucketed like the gradients).
    void broadcast_(const std::vector<torch::Tensor>& tensors, int root = 0);

    // Replaces each defined gradient by its mean over the ranks, in place: flattened into buckets of
    // options.bucket_bytes per (dtype, device), all-reduced with SUM, divided by world_size, copied back.
    // Undefined gradients are skipped; every rank must have the same set (checked, failing with the index).
    void synchronize_gradients(const std::vector<torch::Tensor>& grads) override;
    // The same for the .grad() of `parameters` (parameters without a gradient are skipped).
    void all_reduce_gradients(const std::vector<torch::Tensor>& parameters);

    // In place over ranks: element-wise sum, maximum, mean.
    void all_reduce_sum_(torch::Tensor& t);
    void all_reduce_max_(torch::Tensor& t) override;
    void all_reduce_mean_(torch::Tensor& t) override;
    // Scalars (a float64 tensor on device() behind the scenes).
    double all_reduce_mean(double value);
    double all_reduce_sum(double value);
    double all_reduce_max(double value);
    bool any_rank(bool flag);  // true when the flag is set on at least one rank (non-finite skips agree)

    void barrier() override;

private:
    struct Group;  // the c10d store and process group (distributed_c10d.cpp, the only file with c10d headers)

    // In place on every tensor, with the collectives in flight together (c10d: distributed_c10d.cpp).
    void c10d_all_reduce_(std::vector<torch::Tensor>& tensors, bool max);
    void c10d_broadcast_(std::vector<torch::Tensor>& tensors, int root);
    void c10d_barrier();
    void check_root(int root) const;
    void check_same_gradients(const std::vector<torch::Tensor>& grads);

    DistributedEnv env_;
    torch::Device device_;
    DistributedOptions options_;
    DistributedBackend backend_ = DistributedBackend::kGloo;
    std::unique_ptr<Group> group_;
};

// torch.utils.data.DistributedSampler's split of one epoch's permutation: without drop_last the permutation
// is padded by repeating its start until it divides evenly; with drop_last its tail is cut. Rank r takes
// the elements r, r + world_size, r + 2 * world_size, ... of the result, so every rank gets the same count.
std::vector<int64_t> shard_indices(const std::vector<int64_t>& permutation, int rank, int world_size,
                                   bool drop_last);

// A TCP port on `host` that nothing listens on right now (the OS's choice), for MASTER_PORT in launchers and
// tests. Another process may take it before it is used; rank 0 then fails to bind and says so.
int find_free_port(const std::string& host = "127.0.0.1");

// Bucketing, exposed for tests: tensors are taken in order into the open bucket of their (dtype, device); a
// bucket is closed when the next tensor would take it past bucket_bytes (so a larger tensor gets a bucket of
// its own). Returns the buckets as index lists, in the order they were opened.
std::vector<std::vector<size_t>> make_buckets(const std::vector<torch::Tensor>& tensors,
                                              int64_t bucket_bytes);

}  // namespace stablepose
