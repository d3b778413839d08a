// The training loader: determinism independent of the worker count, per-epoch permutations, sharding,
// resuming from a cursor, and errors that name the file.
#include <set>

#include "stablepose/train/data_loader.h"
#include "train_test_util.h"

namespace stablepose {
namespace {

namespace fs = std::filesystem;
using testing::error_of;

ExampleOptions options64() {
    ExampleOptions o;
    o.augment.width = o.augment.height = 64;
    return o;
}

std::vector<TrainingBatch> take(DataLoader& loader, int n) {
    std::vector<TrainingBatch> out;
    for (int i = 0; i < n; ++i) out.push_back(loader.next());
    return out;
}

void expect_same(const std::vector<TrainingBatch>& a, const std::vector<TrainingBatch>& b, const std::string& what) {
    ASSERT_EQ(a.size(), b.size()) << what;
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].indices, b[i].indices) << what << " batch " << i;
        EXPECT_EQ(a[i].captions, b[i].captions) << what << " batch " << i;
        EXPECT_EQ(a[i].cursor, b[i].cursor) << what << " batch " << i;
        EXPECT_TRUE(torch::equal(a[i].images, b[i].images)) << what << " batch " << i;
        EXPECT_TRUE(torch::equal(a[i].hints, b[i].hints)) << what << " batch " << i;
        EXPECT_TRUE(torch::equal(a[i].masks, b[i].masks)) << what << " batch " << i;
    }
}

std::shared_ptr<const Dataset> dataset(const std::string& name, int n, const std::string& format = "humansd") {
    const auto dir = testing::train_scratch(name);
    return std::make_shared<Dataset>(open_dataset(testing::write_dataset(dir, n, format)));
}

TEST(LoaderPermutation, SeededPerEpochAndComplete) {
    const auto a = epoch_permutation(50, 23, 0, true);
    EXPECT_EQ(a, epoch_permutation(50, 23, 0, true));
    EXPECT_NE(a, epoch_permutation(50, 23, 1, true));
    EXPECT_NE(a, epoch_permutation(50, 24, 0, true));
    EXPECT_EQ(std::set<int64_t>(a.begin(), a.end()).size(), 50u);
    EXPECT_EQ(epoch_permutation(4, 23, 3, false), (std::vector<int64_t>{0, 1, 2, 3}));
}

TEST(DataLoader, BatchesDoNotDependOnTheNumberOfWorkers) {
    const auto data = dataset("workers", 7);
    LoaderOptions o;
    o.batch_size = 2;
    o.prefetch_batches = 2;
    std::vector<std::vector<TrainingBatch>> runs;
    for (int workers : {0, 1, 3}) {
        o.workers = workers;
        DataLoader loader(data, options64(), o);
        EXPECT_EQ(loader.batches_per_epoch(), 3);  // drop_last: 7 / 2
        runs.push_back(take(loader, 7));           // crosses two epoch boundaries
    }
    expect_same(runs[0], runs[1], "0 vs 1 workers");
    expect_same(runs[0], runs[2], "0 vs 3 workers");
    EXPECT_EQ(runs[0][0].images.sizes(), (std::vector<int64_t>{2, 3, 64, 64}));
    EXPECT_EQ(runs[0][0].masks.sizes(), (std::vector<int64_t>{4, 8, 8}));  // [K * B, h, w]
    EXPECT_EQ(runs[0][3].cursor, (DataCursor{1, 0}));
    // Each epoch draws its own order and never repeats a sample.
    std::set<int64_t> first;
    for (int i = 0; i < 3; ++i) first.insert(runs[0][i].indices.begin(), runs[0][i].indices.end());
    EXPECT_EQ(first.size(), 6u);
    EXPECT_NE(runs[0][0].indices, runs[0][3].indices);
}

TEST(DataLoader, ResumingFromACursorRepeatsTheSameBatches) {
    const auto data = dataset("cursor", 6);
    LoaderOptions o;
    o.batch_size = 2;
    o.workers = 2;
    DataLoader full(data, options64(), o);
    const auto all = take(full, 6);
    DataLoader resumed(data, options64(), o, all[4].cursor);
    expect_same(std::vector<TrainingBatch>(all.begin() + 4, all.end()), take(resumed, 2), "resumed at epoch 1 batch 1");
    EXPECT_NE(error_of([&] { DataLoader(data, options64(), o, DataCursor{0, 3}); }).find("outside the epoch"),
              std::string::npos);
}

TEST(DataLoader, RanksSplitTheGlobalBatch) {
    const auto data = dataset("ranks", 8, "jsonl");
    LoaderOptions one;
    one.batch_size = 4;
    one.workers = 0;
    DataLoader single(data, options64(), one);
    const auto combined = take(single, 2);
    for (int rank = 0; rank < 2; ++rank) {
        LoaderOptions o = one;
        o.batch_size = 2;
        o.world_size = 2;
        o.rank = rank;
        DataLoader loader(data, options64(), o);
        for (int b = 0; b < 2; ++b) {
            const auto batch = loader.next();
            const auto& want = combined[static_cast<size_t>(b)];
            EXPECT_EQ(batch.indices, std::vector<int64_t>(want.indices.begin() + 2 * rank, want.indices.begin() + 2 * rank + 2));
            EXPECT_TRUE(torch::equal(batch.images, want.images.narrow(0, 2 * rank, 2)));
        }
    }
}

TEST(DataLoader, ErrorsNameTheFile) {
    const auto dir = testing::train_scratch("errors");
    const auto file = testing::write_dataset(dir, 4, "humansd");
    fs::remove(dir / "images" / "img2.png");
    std::ofstream(dir / "pose" / "img1.npz", std::ios::trunc) << "PK\x03\x04 this is not a zip";
    auto data = std::make_shared<Dataset>(open_dataset(file));
    LoaderOptions o;
    o.batch_size = 1;
    o.shuffle = false;
    for (int workers : {0, 2}) {
        o.workers = workers;
        DataLoader loader(data, options64(), o);
        EXPECT_NO_THROW(loader.next());
        auto message = error_of([&] { loader.next(); });
        EXPECT_NE(message.find("img1.npz"), std::string::npos) << message;
        message = error_of([&] { loader.next(); });
        EXPECT_NE(message.find("img2.png"), std::string::npos) << message;
    }
    LoaderOptions big;
    big.batch_size = 5;
    EXPECT_NE(error_of([&] { DataLoader(data, options64(), big); }).find("smaller than one batch"), std::string::npos);
}

}  // namespace
}  // namespace stablepose
