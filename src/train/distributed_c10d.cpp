// The only file that includes LibTorch's c10d headers (torch/csrc/distributed/c10d, the C++ side of
// torch.distributed.init_process_group): the TCPStore rendez-vous, the Gloo or NCCL backend wrapped in a
// c10d::ProcessGroup, and the raw collectives that distributed.cpp builds on.
//
// Headers: the pip wheel ships c10d's headers and libtorch_cpu exports ProcessGroupGloo and its gloo, but
// the wheel has no gloo headers, which ProcessGroupGloo.hpp includes; Debian's libgloo-dev provides them in
// /usr/include (only the header-only declarations are used; every gloo symbol comes from libtorch_cpu, and
// ProcessGroupGloo's members hold gloo types only through pointers, so its layout does not depend on the
// gloo version). ProcessGroupNCCL.hpp needs <nccl.h>, which the nvidia-nccl wheel ships in
// site-packages/nvidia/nccl/include; it is used when that folder is on the include path. Either is detected
// with __has_include, so a build without them compiles and fails only when such a group is asked for.
// The c10d headers compile against the system fmt 9 of the project's fmt shim (CMakeLists.txt): they use
// fmt only in inline formatting helpers that this file never calls.
#include "stablepose/train/distributed.h"

#include <spdlog/spdlog.h>

#include "stablepose/error.h"

#if defined(USE_DISTRIBUTED)
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#define STABLEPOSE_HAVE_C10D 1
#endif
#if defined(STABLEPOSE_HAVE_C10D) && defined(USE_C10D_GLOO) && __has_include(<gloo/rendezvous/store.h>)
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#define STABLEPOSE_HAVE_GLOO 1
#endif
#if defined(STABLEPOSE_HAVE_C10D) && defined(USE_C10D_NCCL) && __has_include(<nccl.h>)
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#define STABLEPOSE_HAVE_NCCL 1
#endif

namespace stablepose {

#if defined(STABLEPOSE_HAVE_C10D)
struct DistributedContext::Group {
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<c10d::ProcessGroup> process_group;
    // What destroy_process_group() does: NCCL warns, and may hang at exit, when its communicators are
    // left to the destructors.
    ~Group() {
        if (!process_group) return;
        try {
            process_group->shutdown();
        } catch (const std::exception& e) {
            spdlog::warn("distributed: shutting the process group down failed: {}", e.what());
        }
    }
};
#else
struct DistributedContext::Group {};
#endif

namespace {

constexpr bool kHaveGloo =
#if defined(STABLEPOSE_HAVE_GLOO)
    true;
#else
    false;
#endif
constexpr bool kHaveNccl =
#if defined(STABLEPOSE_HAVE_NCCL)
    true;
#else
    false;
#endif

DistributedBackend resolve_backend(DistributedBackend requested, const torch::Device& device) {
    if (device.is_cuda()) {
        if (requested == DistributedBackend::kAuto) {
            if (kHaveNccl) return DistributedBackend::kNccl;
            spdlog::warn(
                "distributed: this build has no NCCL (nccl.h was not on the include path); using Gloo "
                "for CUDA tensors, which is much slower");
            return DistributedBackend::kGloo;
        }
        return requested;
    }
    if (device.is_cpu()) {
        if (requested == DistributedBackend::kNccl)
            fail("distributed: the NCCL backend needs CUDA devices",
                 "backend gloo (or auto) for CPU training", "backend nccl with device " + device.str(),
                 "train on CUDA, or ask for the gloo backend (DistributedOptions::backend)");
        return DistributedBackend::kGloo;
    }
    fail("distributed: no process-group backend for this device", "a CPU or CUDA device", device.str());
}

// Fails before the rendez-vous (every rank alike) when this build lacks the backend's headers.
void require_backend(DistributedBackend backend) {
    if (backend == DistributedBackend::kGloo && !kHaveGloo)
        fail("distributed: this build has no Gloo process group", "gloo headers at build time",
             "none: the torch wheel ships no gloo headers",
             "install libgloo-dev (apt-get install libgloo-dev) and rebuild");
    if (backend == DistributedBackend::kNccl && !kHaveNccl)
        fail("distributed: this build has no NCCL process group", "nccl.h on the include path at build time",
             "none",
             "add site-packages/nvidia/nccl/include to the include path of src/train/distributed_c10d.cpp");
}

#if defined(STABLEPOSE_HAVE_C10D)
c10::intrusive_ptr<c10d::Backend> make_backend(DistributedBackend backend,
                                               const c10::intrusive_ptr<c10d::Store>& store,
                                               const DistributedEnv& env, const torch::Device& device,
                                               std::chrono::milliseconds timeout) {
#if defined(STABLEPOSE_HAVE_GLOO)
    if (backend == DistributedBackend::kGloo) {
        // create_default binds to this host's address, or loopback (GLOO_SOCKET_IFNAME picks an interface).
        auto options = c10d::ProcessGroupGloo::Options::create_default(timeout);
        return c10::make_intrusive<c10d::ProcessGroupGloo>(store, env.rank, env.world_size, options);
    }
#endif
#if defined(STABLEPOSE_HAVE_NCCL)
    if (backend == DistributedBackend::kNccl) {
        c10::cuda::set_device(device.index());  // NCCL binds its communicator to the current device
        auto options = c10d::ProcessGroupNCCL::Options::create();
        options->timeout = timeout;
        return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, env.rank, env.world_size, options);
    }
#endif
    require_backend(backend);
    fail("distributed: unknown backend " + to_string(backend));
}
#endif

}  // namespace

DistributedContext::DistributedContext(const DistributedEnv& env, torch::Device device,
                                       const DistributedOptions& options)
    : env_(env), device_(device), options_(options) {
    if (env.world_size < 1 || env.rank < 0 || env.rank >= env.world_size)
        fail("distributed: bad rank or world size", "0 <= rank < world_size",
             "rank " + std::to_string(env.rank) + ", world_size " + std::to_string(env.world_size));
    if (options.bucket_bytes < 1)
        fail("distributed: bad gradient bucket size", "bucket_bytes >= 1",
             std::to_string(options.bucket_bytes));
    if (device_.is_cuda() && !device_.has_index()) device_ = torch::Device(torch::kCUDA, env.local_rank);
    backend_ = resolve_backend(options.backend, device_);
    if (!env.launched) return;  // one process: collectives are identities
#if defined(STABLEPOSE_HAVE_C10D)
    require_backend(backend_);
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(env.master_port);
    store_options.isServer = env.rank == 0;
    store_options.numWorkers = static_cast<std::size_t>(env.world_size);
    store_options.waitWorkers = true;
    store_options.timeout = options.timeout;
    auto group = std::make_unique<Group>();
    const auto type = backend_ == DistributedBackend::kNccl ? c10d::ProcessGroup::BackendType::NCCL
                                                            : c10d::ProcessGroup::BackendType::GLOO;
    try {
        group->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_options);
        group->process_group =
            c10::make_intrusive<c10d::ProcessGroup>(group->store, env.rank, env.world_size);
        if (device_.is_cuda())
            group->process_group->setBoundDeviceId(device_);  // barrier() and NCCL's device
        group->process_group->setDefaultBackend(type);
        group->process_group->setBackend(device_.type(), type,
                                         make_backend(backend_, group->store, env, device_, options.timeout));
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        const c10::Error* c10_error = dynamic_cast<const c10::Error*>(&e);
        fail("distributed: could not join the process group (" + env.describe() + ")",
             "all " + std::to_string(env.world_size) + " ranks started with the same MASTER_ADDR:MASTER_PORT",
             c10_error ? c10_error->what_without_backtrace() : e.what(),
             "check that rank 0 is running and its port is free and reachable from every rank; each rank "
             "waits DistributedOptions::timeout for the others");
    }
    group_ = std::move(group);
    spdlog::info("distributed: {} with {} on {}", env.describe(), to_string(backend_), device_.str());
#else
    fail("distributed: this LibTorch was built without torch.distributed",
         "USE_DISTRIBUTED in Torch's CMake config", "not defined",
         "use a torch wheel built with distributed support (the PyPI Linux wheels are)");
#endif
}

DistributedContext::~DistributedContext() = default;

bool DistributedContext::has_process_group() const { return group_ != nullptr; }

void DistributedContext::c10d_all_reduce_(std::vector<torch::Tensor>& tensors, bool max) {
#if defined(STABLEPOSE_HAVE_C10D)
    c10d::AllreduceOptions options;
    options.reduceOp = max ? c10d::ReduceOp::MAX : c10d::ReduceOp::SUM;
    options.timeout = options_.timeout;
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    works.reserve(tensors.size());
    // All buckets go out before the first wait, so the backend overlaps them.
    for (auto& t : tensors) {
        std::vector<at::Tensor> one{t};
        works.push_back(group_->process_group->allreduce(one, options));
    }
    for (auto& work : works) work->wait(options_.timeout);
#endif
}

void DistributedContext::c10d_broadcast_(std::vector<torch::Tensor>& tensors, int root) {
#if defined(STABLEPOSE_HAVE_C10D)
    c10d::BroadcastOptions options;
    options.rootRank = root;
    options.timeout = options_.timeout;
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    works.reserve(tensors.size());
    for (auto& t : tensors) {
        std::vector<at::Tensor> one{t};
        works.push_back(group_->process_group->broadcast(one, options));
    }
    for (auto& work : works) work->wait(options_.timeout);
#endif
}

void DistributedContext::c10d_barrier() {
#if defined(STABLEPOSE_HAVE_C10D)
    c10d::BarrierOptions options;
    options.timeout = options_.timeout;
    if (device_.is_cuda()) options.device_ids = {device_.index()};
    group_->process_group->barrier(options)->wait(options_.timeout);
#endif
}

}  // namespace stablepose
