// The training data loader: per-epoch permutations from the seed, rank sharding, drop_last, batches
// collated from make_training_example, decoded ahead of time by std::thread workers. A batch depends only on
// (seed, epoch, position, rank, world size): never on the number of workers or their timing, so a run that
// resumes from a DataCursor sees exactly the batches an uninterrupted run would have seen.
// Reference: torch.utils.data.DataLoader + DistributedSampler semantics (shuffle, drop_last).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <torch/types.h>

#include "stablepose/data/dataset.h"
#include "stablepose/data/training_example.h"

namespace stablepose {

// Where the loader stands: the next batch is batch `batch` of epoch `epoch`.
struct DataCursor {
    int64_t epoch = 0;
    int64_t batch = 0;
    bool operator==(const DataCursor&) const = default;
};

struct LoaderOptions {
    int batch_size = 4;  // per rank
    int workers = 4;     // 0: decode in the calling thread
    int prefetch_batches = 4;
    bool shuffle = true;
    bool drop_last = true;
    uint64_t seed = 23;
    int rank = 0;
    int world_size = 1;
};

// One rank's batch. images, hints: [B, 3, H, W] float32 in [-1, 1]; masks: [K * B, H/8, W/8] float32 0/1,
// the B masks of kernel 0 first (the adapter's layout).
struct TrainingBatch {
    torch::Tensor images, hints, masks;
    std::vector<std::string> captions;
    std::vector<int64_t> indices;  // dataset sample indices
    std::vector<std::filesystem::path> image_paths;
    DataCursor cursor;  // where this batch sits
    int64_t size() const { return static_cast<int64_t>(captions.size()); }
};

// The order of an epoch: identity without shuffle; otherwise a Fisher-Yates permutation driven by a
// std::mt19937_64 seeded with seed + epoch, with unbiased bounded draws (same on every platform).
std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch, bool shuffle);

// Collates examples (all of one size) into a batch.
TrainingBatch collate_examples(std::vector<TrainingExample> examples);

class DataLoader {
public:
    DataLoader(std::shared_ptr<const Dataset> dataset, ExampleOptions example_options, LoaderOptions options,
               DataCursor start = {});
    ~DataLoader();
    DataLoader(const DataLoader&) = delete;
    DataLoader& operator=(const DataLoader&) = delete;

    // The next batch (rolling over into the next epoch). Rethrows the first error of its examples (naming
    // the file) in the calling thread.
    TrainingBatch next();
    // The position of the batch that next() returns.
    DataCursor cursor() const;
    // Batches per epoch and rank: the global batch (batch_size * world_size) is cut from the permutation,
    // rank r taking the r-th contiguous slice, so world_size ranks together see what one process with the
    // combined batch would.
    int64_t batches_per_epoch() const { return batches_per_epoch_; }
    // The dataset indices of this rank's batch at `cursor`.
    std::vector<int64_t> batch_indices(DataCursor cursor) const;

private:
    struct Pending {
        std::vector<TrainingExample> examples;
        int remaining = 0;
        std::exception_ptr error;
    };
    DataCursor cursor_of(int64_t linear) const;
    int64_t batch_count(DataCursor c) const;
    const std::vector<int64_t>& permutation(int64_t epoch) const;  // caller holds mutex_
    TrainingExample make_example(int64_t linear, int slot) const;
    void work();

    std::shared_ptr<const Dataset> dataset_;
    ExampleOptions example_options_;
    LoaderOptions options_;
    int64_t batches_per_epoch_ = 0;
    int64_t next_linear_ = 0;  // the batch next() returns, counted from epoch 0
    // Workers: jobs are (linear batch, slot), handed out in order up to prefetch_batches ahead.
    mutable std::mutex mutex_;
    std::condition_variable work_cv_, ready_cv_;
    int64_t job_linear_ = 0;
    int job_slot_ = 0;
    bool stop_ = false;
    std::map<int64_t, Pending> pending_;
    mutable std::map<int64_t, std::vector<int64_t>> permutations_;
    std::vector<std::thread> threads_;
};

}  // namespace stablepose
