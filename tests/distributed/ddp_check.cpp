// Data-parallel check for train/distributed.h (issue 4): W processes on Gloo, each training a small conv net
// with AdamW on its share of every global batch, must end with identical weights, equal (to a tolerance) to
// one process trained on the whole global batches. ddp_check.sh launches the processes and compares.
//   ddp_check train --out FILE [--steps N] [--global-batch B] [--bucket-bytes N] [--seed S]
//                   [--no-sync] [--no-broadcast]     (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT as torchrun)
//   ddp_check compare --tol T SINGLE RANK0 [RANK1 ...]   exit 1 unless the ranks are bit-identical and
//                                                       within T of SINGLE (weights and logged mean losses)
//   ddp_check free-port
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "stablepose/error.h"
#include "stablepose/train/distributed.h"

namespace {

using stablepose::fail;

// The ranks initialise differently on purpose (seed + rank): only broadcast_parameters makes them agree.
struct Net : torch::nn::Module {
    Net() {
        conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 8, 3).padding(1)));
        conv2 = register_module("conv2",
                                torch::nn::Conv2d(torch::nn::Conv2dOptions(8, 8, 3).stride(2).padding(1)));
        fc1 = register_module("fc1", torch::nn::Linear(8 * 4 * 4, 32));
        fc2 = register_module("fc2", torch::nn::Linear(32, 4));
        // Frozen, used in forward: it has no gradient, which the gradient all-reduce must skip.
        frozen = register_module("frozen", torch::nn::Linear(4, 4));
        for (auto& p : frozen->parameters()) p.requires_grad_(false);
    }
    // x: [B, 3, 8, 8]; returns [B, 4]
    torch::Tensor forward(const torch::Tensor& x) {
        auto h = torch::relu(conv1->forward(x));
        h = torch::relu(conv2->forward(h)).flatten(1);
        return frozen->forward(fc2->forward(torch::tanh(fc1->forward(h))));
    }
    torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
    torch::nn::Linear fc1{nullptr}, fc2{nullptr}, frozen{nullptr};
};

struct TrainArgs {
    std::string out;
    int steps = 5;
    int global_batch = 8;
    int64_t bucket_bytes = 1024;  // small, so that the ~16 KB of gradients span several buckets
    int seed = 7;
    bool sync = true;
    bool broadcast = true;
};

int train(const TrainArgs& args) {
    stablepose::DistributedOptions options;
    options.backend = stablepose::DistributedBackend::kGloo;
    options.timeout = std::chrono::seconds(120);
    options.bucket_bytes = args.bucket_bytes;
    auto ctx = stablepose::DistributedContext::from_environment(torch::kCPU, options);
    if (args.global_batch % ctx->world_size() != 0)
        fail("ddp_check: the global batch must split evenly", "a multiple of the world size",
             std::to_string(args.global_batch));

    torch::manual_seed(args.seed + ctx->rank());
    auto net = std::make_shared<Net>();
    if (args.broadcast) ctx->broadcast_parameters(*net);
    std::vector<torch::Tensor> trainable;
    for (auto& p : net->parameters())
        if (p.requires_grad()) trainable.push_back(p);
    torch::optim::AdamW optimizer(trainable, torch::optim::AdamWOptions(1e-3).weight_decay(0.01));

    std::vector<double> losses;
    for (int step = 0; step < args.steps; ++step) {
        // The global batch and its order depend only on the step: every process draws the same ones.
        torch::manual_seed(1000 + step);
        const auto x = torch::randn({args.global_batch, 3, 8, 8});
        const auto y = torch::randn({args.global_batch, 4});
        const auto perm = torch::randperm(args.global_batch, torch::kLong);
        const std::vector<int64_t> order(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + perm.numel());
        const auto mine =
            stablepose::shard_indices(order, ctx->rank(), ctx->world_size(), /*drop_last=*/true);
        const auto rows = torch::tensor(mine, torch::kLong);

        optimizer.zero_grad();
        // The mean over this rank's rows: averaging over equal shards gives the mean over the global batch.
        const auto loss = torch::mse_loss(net->forward(x.index_select(0, rows)), y.index_select(0, rows));
        loss.backward();
        if (args.sync) ctx->all_reduce_gradients(net->parameters());  // frozen ones have no grad: skipped
        const double value = loss.item<double>();
        if (ctx->any_rank(!std::isfinite(value))) continue;  // never here; the call must still agree
        losses.push_back(ctx->all_reduce_mean(value));
        optimizer.step();
        if (ctx->is_rank0()) std::printf("step %d mean loss %.8f\n", step, losses.back());
    }
    ctx->barrier();

    std::vector<torch::Tensor> saved;
    for (const auto& p : net->parameters()) saved.push_back(p.detach().clone());
    saved.push_back(torch::tensor(losses, torch::kFloat64));
    torch::save(saved, args.out);
    std::printf("%s: wrote %zu tensors to %s\n", ctx->env().describe().c_str(), saved.size(),
                args.out.c_str());
    return 0;
}

// Largest |a - b| over tensors [begin, end) of two files; fails when their layouts differ.
double max_difference(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b, size_t begin,
                      size_t end, const std::string& what) {
    if (a.size() != b.size()) fail("ddp_check: " + what + " hold different numbers of tensors");
    double worst = 0;
    for (size_t i = begin; i < end; ++i) {
        if (!a[i].sizes().equals(b[i].sizes()))
            fail("ddp_check: " + what + ": tensor " + std::to_string(i) + " has different shapes");
        worst =
            std::max(worst, (a[i].to(torch::kFloat64) - b[i].to(torch::kFloat64)).abs().max().item<double>());
    }
    return worst;
}

// Each file: the parameters, then the logged mean losses (written by train()).
int compare(double tol, const std::vector<std::string>& files) {
    if (files.size() < 2)
        fail("ddp_check compare: needs the single-process file and at least one rank's file");
    std::vector<std::vector<torch::Tensor>> loaded(files.size());
    for (size_t i = 0; i < files.size(); ++i) torch::load(loaded[i], files[i]);
    const size_t n = loaded[0].size();
    if (n < 2) fail("ddp_check compare: " + files[0] + " holds no parameters");
    bool ok = true;
    for (size_t r = 1; r < files.size(); ++r) {
        const std::string what = files[r] + " and " + files[0];
        const double weights = max_difference(loaded[r], loaded[0], 0, n - 1, what);
        const double losses = max_difference(loaded[r], loaded[0], n - 1, n, what);
        const double vs_rank0 = max_difference(loaded[r], loaded[1], 0, n, files[r] + " and " + files[1]);
        const bool good = weights <= tol && losses <= tol && vs_rank0 == 0;
        std::printf(
            "rank %zu vs single process: max |weight diff| %.3e, max |mean-loss diff| %.3e (tolerance %.0e); "
            "vs rank 0: %.3e  %s\n",
            r - 1, weights, losses, tol, vs_rank0, good ? "ok" : "MISMATCH");
        ok = ok && good;
    }
    return ok ? 0 : 1;
}

int run(int argc, char** argv) {
    const std::vector<std::string> a(argv + 1, argv + argc);
    if (a.empty()) fail("usage: ddp_check train|compare|free-port ...");
    if (a[0] == "free-port") {
        std::printf("%d\n", stablepose::find_free_port());
        return 0;
    }
    if (a[0] == "compare") {
        if (a.size() < 4 || a[1] != "--tol")
            fail("usage: ddp_check compare --tol T SINGLE RANK0 [RANK1 ...]");
        return compare(std::stod(a[2]), std::vector<std::string>(a.begin() + 3, a.end()));
    }
    if (a[0] != "train") fail("ddp_check: unknown command '" + a[0] + "'", "train, compare or free-port");
    TrainArgs args;
    for (size_t i = 1; i < a.size(); ++i) {
        auto value = [&]() -> const std::string& {
            if (i + 1 >= a.size()) fail("ddp_check: " + a[i] + " needs a value");
            return a[++i];
        };
        if (a[i] == "--out")
            args.out = value();
        else if (a[i] == "--steps")
            args.steps = std::stoi(value());
        else if (a[i] == "--global-batch")
            args.global_batch = std::stoi(value());
        else if (a[i] == "--bucket-bytes")
            args.bucket_bytes = std::stoll(value());
        else if (a[i] == "--seed")
            args.seed = std::stoi(value());
        else if (a[i] == "--no-sync")
            args.sync = false;
        else if (a[i] == "--no-broadcast")
            args.broadcast = false;
        else
            fail("ddp_check: unknown option '" + a[i] + "'");
    }
    if (args.out.empty()) fail("ddp_check train: --out FILE is required");
    return train(args);
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ddp_check: %s\n", e.what());
        return 2;
    }
}
