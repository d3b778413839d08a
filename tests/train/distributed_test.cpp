// train/distributed.h: DistributedSampler's sharding, torchrun's environment, bucketing, and the collectives
// of two Gloo ranks run as two threads of this process (the two-process check is tests/distributed/).
#include "stablepose/train/distributed.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <exception>
#include <numeric>
#include <thread>

#include "stablepose/error.h"

namespace stablepose {
namespace {

std::vector<int64_t> iota_from(int64_t start, int64_t n) {
    std::vector<int64_t> v(static_cast<size_t>(n));
    std::iota(v.begin(), v.end(), start);
    return v;
}

// Printed by torch 2.11's DistributedSampler(shuffle=False) for datasets of n items, each index i mapped to
// 100 + i (so the permutation passed here is 100, 101, ...).
TEST(DistributedShard, MatchesTorchDistributedSampler) {
    struct Case {
        int64_t n;
        int world;
        bool drop_last;
        std::vector<std::vector<int64_t>> shards;
    };
    const std::vector<Case> cases = {
        {10, 3, false, {{100, 103, 106, 109}, {101, 104, 107, 100}, {102, 105, 108, 101}}},
        {10, 3, true, {{100, 103, 106}, {101, 104, 107}, {102, 105, 108}}},
        {2, 4, false, {{100}, {101}, {100}, {101}}},
        {2, 4, true, {{}, {}, {}, {}}},
        {7, 7, true, {{100}, {101}, {102}, {103}, {104}, {105}, {106}}},
        {0, 2, false, {{}, {}}},
        {5, 2, false, {{100, 102, 104}, {101, 103, 100}}},
    };
    for (const auto& c : cases)
        for (int r = 0; r < c.world; ++r)
            EXPECT_EQ(shard_indices(iota_from(100, c.n), r, c.world, c.drop_last),
                      c.shards[static_cast<size_t>(r)])
                << "n " << c.n << ", world " << c.world << ", rank " << r << ", drop_last " << c.drop_last;
}

TEST(DistributedShard, EqualCountsCoverEverythingOrDropTheTail) {
    for (int64_t n = 0; n < 40; ++n)
        for (int world = 1; world <= 6; ++world) {
            const auto perm = iota_from(0, n);
            std::vector<int> seen(static_cast<size_t>(n), 0);
            size_t count = 0;
            for (int r = 0; r < world; ++r) {
                const auto padded = shard_indices(perm, r, world, false);
                if (r == 0) count = padded.size();
                EXPECT_EQ(padded.size(), count);
                for (auto i : padded) ++seen[static_cast<size_t>(i)];
                const auto dropped = shard_indices(perm, r, world, true);
                EXPECT_EQ(dropped.size(), static_cast<size_t>(n / world));
            }
            EXPECT_EQ(count, static_cast<size_t>((n + world - 1) / world));
            for (int64_t i = 0; i < n; ++i)
                EXPECT_GE(seen[static_cast<size_t>(i)], 1) << "n " << n << " world " << world;
        }
}

TEST(DistributedShard, RejectsBadRanks) {
    EXPECT_THROW(shard_indices({1, 2, 3}, 2, 2, false), Error);
    EXPECT_THROW(shard_indices({1, 2, 3}, -1, 2, false), Error);
    EXPECT_THROW(shard_indices({1, 2, 3}, 0, 0, true), Error);
}

// Sets (or, for nullptr, unsets) the launcher's variables for one test; each test runs in its own process.
void set_launch_env(const char* rank, const char* world, const char* local_rank, const char* addr,
                    const char* port) {
    const std::pair<const char*, const char*> vars[] = {{"RANK", rank},
                                                        {"WORLD_SIZE", world},
                                                        {"LOCAL_RANK", local_rank},
                                                        {"MASTER_ADDR", addr},
                                                        {"MASTER_PORT", port}};
    for (const auto& [name, value] : vars) value ? setenv(name, value, 1) : unsetenv(name);
}

TEST(DistributedEnv, ReadsTorchrunVariables) {
    set_launch_env(nullptr, nullptr, nullptr, nullptr, nullptr);
    const auto alone = DistributedEnv::from_environment();
    EXPECT_FALSE(alone.launched);
    EXPECT_EQ(alone.world_size, 1);
    EXPECT_EQ(alone.rank, 0);

    set_launch_env("3", "4", "1", "10.0.0.2", "29511");
    const auto env = DistributedEnv::from_environment();
    EXPECT_TRUE(env.launched);
    EXPECT_EQ(env.rank, 3);
    EXPECT_EQ(env.world_size, 4);
    EXPECT_EQ(env.local_rank, 1);
    EXPECT_EQ(env.master_addr, "10.0.0.2");
    EXPECT_EQ(env.master_port, 29511);

    set_launch_env("2", "4", nullptr, "127.0.0.1", "29500");
    EXPECT_EQ(DistributedEnv::from_environment().local_rank, 2);  // LOCAL_RANK defaults to RANK
    set_launch_env(nullptr, nullptr, nullptr, nullptr, nullptr);
}

TEST(DistributedEnv, RejectsInconsistentVariables) {
    const char* bad[][5] = {
        {"0", nullptr, nullptr, nullptr, nullptr},      // RANK without WORLD_SIZE
        {nullptr, "2", nullptr, "127.0.0.1", "29500"},  // WORLD_SIZE without RANK
        {"2", "2", nullptr, "127.0.0.1", "29500"},      // rank out of range
        {"1", "2", nullptr, nullptr, "29500"},          // no MASTER_ADDR with two processes
        {"1", "2", nullptr, "127.0.0.1", nullptr},      // no MASTER_PORT
        {"1", "2x", nullptr, "127.0.0.1", "29500"},     // not a number
        {"1", "2", nullptr, "127.0.0.1", "0"},          // port 0 cannot be shared
        {"1", "2", nullptr, "127.0.0.1", "70000"},      // not a port
    };
    for (const auto& v : bad) {
        set_launch_env(v[0], v[1], v[2], v[3], v[4]);
        EXPECT_THROW(DistributedEnv::from_environment(), Error)
            << "RANK " << (v[0] ? v[0] : "-") << " WORLD_SIZE " << (v[1] ? v[1] : "-");
    }
    set_launch_env(nullptr, nullptr, nullptr, nullptr, nullptr);
}

TEST(DistributedBuckets, GroupByDtypeWithinTheByteLimit) {
    const std::vector<torch::Tensor> t = {
        torch::zeros({4}),                   // 16 bytes, float
        torch::zeros({2}, torch::kFloat64),  // 16 bytes, double
        torch::zeros({3}),                   // 12 -> float bucket holds 28
        torch::zeros({20}),                  // 80 > 32: closes the float bucket, alone in its own
        torch::zeros({1}),                   // 4: a new float bucket
        torch::zeros({2}, torch::kFloat64),  // 16 -> double bucket holds 32
    };
    const auto buckets = make_buckets(t, 32);
    const std::vector<std::vector<size_t>> expected = {{0, 2}, {1, 5}, {3}, {4}};
    EXPECT_EQ(buckets, expected);
}

TEST(DistributedContext, SingleProcessCollectivesAreIdentities) {
    DistributedContext ctx(DistributedEnv{}, torch::Device(torch::kCPU));
    EXPECT_FALSE(ctx.has_process_group());
    EXPECT_TRUE(ctx.is_rank0());
    auto g = torch::tensor({1.0f, -2.0f});
    ctx.synchronize_gradients({g, torch::Tensor()});
    EXPECT_TRUE(torch::equal(g, torch::tensor({1.0f, -2.0f})));
    EXPECT_EQ(ctx.all_reduce_mean(2.5), 2.5);
    EXPECT_TRUE(ctx.any_rank(true));
    EXPECT_FALSE(ctx.any_rank(false));
    ctx.barrier();
    EXPECT_THROW(DistributedContext(DistributedEnv{}, torch::Device(torch::kCPU),
                                    DistributedOptions{DistributedBackend::kNccl}),
                 Error);
}

// One rank's share of the threaded test: every value depends on the rank, so each result says which ranks
// contributed. Rank r's gradient is base * (r + 1) + r; the mean over two ranks is 1.5 * base + 0.5.
void two_rank_body(int rank, int port) {
    DistributedEnv env;
    env.launched = true;
    env.rank = rank;
    env.world_size = 2;
    env.local_rank = rank;
    env.master_port = port;
    DistributedOptions options;
    options.backend = DistributedBackend::kGloo;
    options.timeout = std::chrono::seconds(60);
    options.bucket_bytes = 64;  // many buckets
    DistributedContext ctx(env, torch::Device(torch::kCPU), options);
    ASSERT_TRUE(ctx.has_process_group());

    const std::vector<torch::Tensor> bases = {
        torch::linspace(-1, 1, 15).view({3, 5}), torch::arange(7, torch::kFloat64) / 3, torch::Tensor(),
        torch::linspace(0, 5, 40),
        torch::arange(12, torch::kFloat32).view({3, 4}).t()};  // last: not contiguous
    std::vector<torch::Tensor> grads;
    for (const auto& b : bases) grads.push_back(b.defined() ? (b * (rank + 1) + rank) : torch::Tensor());
    grads[4] = torch::zeros({3, 4}).t();  // [4, 3], not contiguous: written through its strides
    grads[4].copy_(bases[4] * (rank + 1) + rank);
    ctx.synchronize_gradients(grads);
    for (size_t i = 0; i < bases.size(); ++i) {
        if (!bases[i].defined()) {
            EXPECT_FALSE(grads[i].defined());
            continue;
        }
        EXPECT_TRUE(torch::allclose(grads[i], bases[i] * 1.5 + 0.5, 1e-6, 1e-6))
            << "gradient " << i << " rank " << rank;
    }

    torch::nn::Linear linear(3, 2);
    {
        torch::NoGradGuard no_grad;
        for (auto& p : linear->parameters()) p.fill_(static_cast<float>(rank + 10));
    }
    ctx.broadcast_parameters(*linear, /*root=*/1);
    for (const auto& p : linear->parameters())
        EXPECT_TRUE(torch::all(p == 11.0f).item<bool>()) << "rank " << rank;

    EXPECT_DOUBLE_EQ(ctx.all_reduce_mean(rank + 1.0), 1.5);
    EXPECT_DOUBLE_EQ(ctx.all_reduce_sum(rank + 1.0), 3.0);
    EXPECT_DOUBLE_EQ(ctx.all_reduce_max(-rank), 0.0);
    EXPECT_TRUE(ctx.any_rank(rank == 1));
    EXPECT_FALSE(ctx.any_rank(false));
    auto flags = torch::tensor({rank == 0 ? 1.0f : 0.0f, 0.0f});
    ctx.all_reduce_max_(flags);
    EXPECT_TRUE(torch::equal(flags, torch::tensor({1.0f, 0.0f})));

    // Rank 1 lacks gradient 1: both ranks must refuse, naming it, instead of mixing up the buckets.
    std::vector<torch::Tensor> uneven = {torch::ones({2}), rank == 1 ? torch::Tensor() : torch::ones({3})};
    try {
        ctx.synchronize_gradients(uneven);
        ADD_FAILURE() << "rank " << rank << " accepted different gradients";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("gradient 1 differs"), std::string::npos) << e.what();
    }
    ctx.barrier();
}

TEST(DistributedContext, TwoGlooRanksAverageBroadcastAndAgree) {
    const int port = find_free_port();
    std::exception_ptr errors[2];
    std::vector<std::thread> threads;
    for (int rank = 0; rank < 2; ++rank)
        threads.emplace_back([&, rank] {
            try {
                two_rank_body(rank, port);
            } catch (...) {
                errors[rank] = std::current_exception();
            }
        });
    for (auto& t : threads) t.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

}  // namespace
}  // namespace stablepose
