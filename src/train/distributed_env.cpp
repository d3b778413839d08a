// torchrun's environment (torch.distributed.run), torch.utils.data.DistributedSampler's sharding, and DDP's
// gradient bucketing rule: the parts of distributed.h that need no process group.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <tuple>

#include "stablepose/error.h"
#include "stablepose/train/distributed.h"

namespace stablepose {

namespace {

std::optional<std::string> env_var(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr) return std::nullopt;
    return std::string(value);
}

int parse_env_int(const char* name, const std::string& text, int min, int max) {
    int value = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end || value < min || value > max)
        fail(std::string("distributed: bad ") + name + " in the environment",
             "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]", "'" + text + "'",
             "launch with torchrun (or set RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT yourself)");
    return value;
}

}  // namespace

DistributedEnv DistributedEnv::from_environment() {
    DistributedEnv env;
    const auto world = env_var("WORLD_SIZE");
    const auto rank = env_var("RANK");
    if (!world) {
        if (rank)
            fail("distributed: RANK is set but WORLD_SIZE is not", "both (torchrun sets both) or neither",
                 "RANK=" + *rank, "set WORLD_SIZE to the number of processes, or unset RANK to train alone");
        return env;
    }
    env.launched = true;
    env.world_size = parse_env_int("WORLD_SIZE", *world, 1, 1 << 20);
    if (!rank)
        fail("distributed: WORLD_SIZE is set but RANK is not", "RANK in [0, WORLD_SIZE) for every process",
             "WORLD_SIZE=" + *world + " and no RANK", "launch with torchrun, or give each process its RANK");
    env.rank = parse_env_int("RANK", *rank, 0, env.world_size - 1);
    const auto local_rank = env_var("LOCAL_RANK");
    env.local_rank = local_rank ? parse_env_int("LOCAL_RANK", *local_rank, 0, env.world_size - 1) : env.rank;
    const auto addr = env_var("MASTER_ADDR");
    const auto port = env_var("MASTER_PORT");
    if (env.world_size > 1 && (!addr || !port || addr->empty()))
        fail("distributed: MASTER_ADDR and MASTER_PORT are needed with several processes",
             "rank 0's address and a free TCP port, the same in every process",
             std::string("MASTER_ADDR ") + (addr ? "'" + *addr + "'" : "unset") + ", MASTER_PORT " +
                 (port ? "'" + *port + "'" : "unset"),
             "e.g. MASTER_ADDR=127.0.0.1 MASTER_PORT=29500 on one machine");
    if (addr && !addr->empty()) env.master_addr = *addr;
    // Port 0 asks the OS for a free port, which only works when no other process has to find it.
    if (port) env.master_port = parse_env_int("MASTER_PORT", *port, env.world_size == 1 ? 0 : 1, 65535);
    return env;
}

std::string DistributedEnv::describe() const {
    return "rank " + std::to_string(rank) + "/" + std::to_string(world_size) + " (local " +
           std::to_string(local_rank) + "), master " + master_addr + ":" + std::to_string(master_port);
}

DistributedBackend parse_distributed_backend(const std::string& name) {
    if (name == "auto") return DistributedBackend::kAuto;
    if (name == "gloo") return DistributedBackend::kGloo;
    if (name == "nccl") return DistributedBackend::kNccl;
    fail("distributed: unknown backend '" + name + "'", "auto, gloo or nccl", name);
}

std::string to_string(DistributedBackend backend) {
    switch (backend) {
        case DistributedBackend::kAuto:
            return "auto";
        case DistributedBackend::kGloo:
            return "gloo";
        case DistributedBackend::kNccl:
            return "nccl";
    }
    return "unknown";
}

std::vector<int64_t> shard_indices(const std::vector<int64_t>& permutation, int rank, int world_size,
                                   bool drop_last) {
    if (world_size < 1 || rank < 0 || rank >= world_size)
        fail("shard_indices: bad rank or world size", "0 <= rank < world_size",
             "rank " + std::to_string(rank) + ", world_size " + std::to_string(world_size));
    const int64_t n = static_cast<int64_t>(permutation.size());
    const int64_t w = world_size;
    // DistributedSampler: num_samples = ceil((n - w) / w) with drop_last and an uneven split, else ceil(n /
    // w).
    const int64_t per_rank = (drop_last && n % w != 0) ? (n >= w ? (n - w + w - 1) / w : 0) : (n + w - 1) / w;
    const int64_t total = per_rank * w;
    std::vector<int64_t> shard;
    shard.reserve(static_cast<size_t>(per_rank));
    // Element k of the padded list is permutation[k mod n]: padding repeats the start, wrapping as often as
    // needed when the list is shorter than the padding (the sampler's `indices * ceil(pad / n)`).
    for (int64_t k = rank; k < total; k += w) shard.push_back(permutation[static_cast<size_t>(k % n)]);
    return shard;
}

int find_free_port(const std::string& host) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;  // the OS picks
    if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
        fail("find_free_port: not an IPv4 address", "e.g. 127.0.0.1", host);
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) fail("find_free_port: socket() failed", "", std::strerror(errno));
    socklen_t len = sizeof(addr);
    const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    const int error = errno;
    close(fd);
    if (!ok) fail("find_free_port: could not bind to " + host, "", std::strerror(error));
    return ntohs(addr.sin_port);
}

std::vector<std::vector<size_t>> make_buckets(const std::vector<torch::Tensor>& tensors,
                                              int64_t bucket_bytes) {
    // One open bucket per (dtype, device); a bucket closes when the next tensor would overflow it.
    using Key = std::tuple<int, int, int>;
    std::map<Key, size_t> open;  // key -> index into buckets
    std::vector<std::vector<size_t>> buckets;
    std::vector<int64_t> bytes;
    for (size_t i = 0; i < tensors.size(); ++i) {
        const auto& t = tensors[i];
        const Key key{static_cast<int>(t.scalar_type()), static_cast<int>(t.device().type()),
                      t.device().index()};
        const int64_t size = t.numel() * static_cast<int64_t>(t.element_size());
        auto it = open.find(key);
        if (it != open.end() && bytes[it->second] + size > bucket_bytes) {
            open.erase(it);
            it = open.end();
        }
        if (it == open.end()) {
            it = open.emplace(key, buckets.size()).first;
            buckets.emplace_back();
            bytes.push_back(0);
        }
        buckets[it->second].push_back(i);
        bytes[it->second] += size;
    }
    return buckets;
}

}  // namespace stablepose
