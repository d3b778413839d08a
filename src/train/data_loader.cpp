// Training data loader (data_loader.h): permutations, sharding, prefetching worker threads, collation.
#include "stablepose/train/data_loader.h"

#include <limits>
#include <random>

#include "stablepose/error.h"

namespace stablepose {

std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch, bool shuffle) {
    std::vector<int64_t> perm(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) perm[static_cast<size_t>(i)] = i;
    if (!shuffle) return perm;
    std::mt19937_64 rng(seed + static_cast<uint64_t>(epoch));
    for (int64_t i = n - 1; i > 0; --i) {
        // Unbiased draw in [0, i]: reject the top partial range (std::uniform_int_distribution is
        // implementation-defined, so it would change the order between standard libraries).
        const uint64_t range = static_cast<uint64_t>(i) + 1;
        const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % range;
        uint64_t draw;
        do draw = rng();
        while (draw >= limit);
        std::swap(perm[static_cast<size_t>(i)], perm[static_cast<size_t>(draw % range)]);
    }
    return perm;
}

TrainingBatch collate_examples(std::vector<TrainingExample> examples) {
    if (examples.empty()) fail("collate: empty batch");
    TrainingBatch b;
    std::vector<torch::Tensor> images, hints, masks;
    for (auto& e : examples) {
        if (!e.image.sizes().equals(examples.front().image.sizes()))
            fail("collate: examples of different sizes in one batch", c10::str(examples.front().image.sizes()),
                 c10::str(e.image.sizes()) + " (" + e.image_path.string() + ")");
        images.push_back(e.image);
        hints.push_back(e.hint);
        masks.push_back(e.masks);  // [K, h, w]
        b.captions.push_back(std::move(e.caption));
        b.image_paths.push_back(e.image_path);
    }
    b.images = torch::stack(images);
    b.hints = torch::stack(hints);
    const auto m = torch::stack(masks, 1);  // [K, B, h, w]
    b.masks = m.reshape({m.size(0) * m.size(1), m.size(2), m.size(3)});
    return b;
}

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, ExampleOptions example_options, LoaderOptions options,
                       DataCursor start)
    : dataset_(std::move(dataset)), example_options_(std::move(example_options)), options_(options) {
    if (options_.batch_size < 1 || options_.world_size < 1 || options_.rank < 0 || options_.rank >= options_.world_size)
        fail("data loader: bad batch/rank settings", "batch_size >= 1, 0 <= rank < world_size",
             "batch_size " + std::to_string(options_.batch_size) + ", rank " + std::to_string(options_.rank) +
                 ", world_size " + std::to_string(options_.world_size));
    if (!options_.drop_last && options_.world_size > 1)
        fail("data loader: drop_last=false with several processes", "drop_last=true (every rank takes full batches)",
             "drop_last=false, world_size " + std::to_string(options_.world_size));
    const int64_t n = static_cast<int64_t>(dataset_->size());
    const int64_t global = static_cast<int64_t>(options_.batch_size) * options_.world_size;
    batches_per_epoch_ = options_.drop_last ? n / global : (n + global - 1) / global;
    if (batches_per_epoch_ == 0)
        fail("dataset " + dataset_->source.string() + " is smaller than one batch",
             "at least " + std::to_string(global) + " samples (batch_size x processes)", std::to_string(n) + " samples",
             "lower data.batch_size or set data.drop_last=false");
    if (start.epoch < 0 || start.batch < 0 || start.batch >= batches_per_epoch_)
        fail("data loader: the resume cursor lies outside the epoch",
             "batch < " + std::to_string(batches_per_epoch_) + " (this dataset and batch size)",
             "epoch " + std::to_string(start.epoch) + ", batch " + std::to_string(start.batch),
             "resume with the dataset and data.batch_size of the checkpoint");
    next_linear_ = job_linear_ = start.epoch * batches_per_epoch_ + start.batch;
    for (int i = 0; i < options_.workers; ++i) threads_.emplace_back([this] { work(); });
}

DataLoader::~DataLoader() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    work_cv_.notify_all();
    for (auto& t : threads_) t.join();
}

DataCursor DataLoader::cursor_of(int64_t linear) const {
    return {linear / batches_per_epoch_, linear % batches_per_epoch_};
}

DataCursor DataLoader::cursor() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return cursor_of(next_linear_);
}

const std::vector<int64_t>& DataLoader::permutation(int64_t epoch) const {
    auto it = permutations_.find(epoch);
    if (it != permutations_.end()) return it->second;
    while (!permutations_.empty() && permutations_.begin()->first < epoch - 1) permutations_.erase(permutations_.begin());
    return permutations_[epoch] =
               epoch_permutation(static_cast<int64_t>(dataset_->size()), options_.seed, epoch, options_.shuffle);
}

std::vector<int64_t> DataLoader::batch_indices(DataCursor c) const {
    std::unique_lock<std::mutex> lock(mutex_, std::defer_lock);
    if (!threads_.empty()) lock.lock();
    const auto& perm = permutation(c.epoch);
    const int64_t n = static_cast<int64_t>(perm.size());
    const int64_t begin = c.batch * options_.batch_size * options_.world_size +
                          static_cast<int64_t>(options_.rank) * options_.batch_size;
    const int64_t end = std::min(begin + options_.batch_size, n);
    return std::vector<int64_t>(perm.begin() + begin, perm.begin() + end);
}

int64_t DataLoader::batch_count(DataCursor c) const {
    const int64_t begin = c.batch * options_.batch_size * options_.world_size +
                          static_cast<int64_t>(options_.rank) * options_.batch_size;
    return std::min<int64_t>(options_.batch_size, static_cast<int64_t>(dataset_->size()) - begin);
}

TrainingExample DataLoader::make_example(int64_t linear, int slot) const {
    const auto c = cursor_of(linear);
    const auto& perm = permutation(c.epoch);
    const int64_t index = perm[static_cast<size_t>(c.batch * options_.batch_size * options_.world_size +
                                                   static_cast<int64_t>(options_.rank) * options_.batch_size + slot)];
    return make_training_example(dataset_->samples[static_cast<size_t>(index)], example_options_, options_.seed,
                                 c.epoch, index);
}

void DataLoader::work() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
        work_cv_.wait(lock, [this] { return stop_ || job_linear_ < next_linear_ + options_.prefetch_batches; });
        if (stop_) return;
        const int64_t linear = job_linear_;
        const int slot = job_slot_;
        const auto c = cursor_of(linear);
        const int64_t count = batch_count(c);
        auto& p = pending_[linear];
        if (p.examples.empty()) {
            p.examples.resize(static_cast<size_t>(count));
            p.remaining = static_cast<int>(count);
        }
        if (++job_slot_ == count) {
            ++job_linear_;
            job_slot_ = 0;
        }
        const auto& perm = permutation(c.epoch);
        const int64_t index = perm[static_cast<size_t>(c.batch * options_.batch_size * options_.world_size +
                                                       static_cast<int64_t>(options_.rank) * options_.batch_size + slot)];
        lock.unlock();
        TrainingExample example;
        std::exception_ptr error;
        try {
            example = make_training_example(dataset_->samples[static_cast<size_t>(index)], example_options_,
                                            options_.seed, c.epoch, index);
        } catch (...) {
            error = std::current_exception();
        }
        lock.lock();
        auto& done = pending_[linear];
        done.examples[static_cast<size_t>(slot)] = std::move(example);
        if (error && !done.error) done.error = error;
        if (--done.remaining == 0) ready_cv_.notify_all();
    }
}

TrainingBatch DataLoader::next() {
    const int64_t linear = next_linear_;
    const auto c = cursor_of(linear);
    std::vector<TrainingExample> examples;
    if (threads_.empty()) {
        ++next_linear_;  // a failing batch is consumed, as with workers
        const int64_t count = batch_count(c);
        for (int64_t slot = 0; slot < count; ++slot) examples.push_back(make_example(linear, static_cast<int>(slot)));
    } else {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_cv_.wait(lock, [&] {
            auto it = pending_.find(linear);
            return it != pending_.end() && it->second.remaining == 0;
        });
        auto node = pending_.extract(linear);
        ++next_linear_;
        lock.unlock();
        work_cv_.notify_all();
        if (node.mapped().error) std::rethrow_exception(node.mapped().error);
        examples = std::move(node.mapped().examples);
    }
    auto indices = batch_indices(c);
    auto batch = collate_examples(std::move(examples));
    batch.indices = std::move(indices);
    batch.cursor = c;
    return batch;
}

}  // namespace stablepose
