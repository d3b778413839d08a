// The optional caches: text embeddings hit on the second run and change nothing; VAE moments only with the
// augmentation off, and a cached run draws the same latents as an uncached one.
#include <fstream>

#include "stablepose/train/trainer.h"
#include "stablepose/train/training_caches.h"
#include "train_test_util.h"

namespace stablepose {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kNoAugmentation{"data.augment.flip_p=0", "data.augment.rotate_p=0",
                                               "data.augment.colour_p=0", "data.augment.brightness_contrast_p=0",
                                               "data.augment.random_crop=false", "train.max_steps=2",
                                               "checkpoint.every=0", "data.workers=0"};

size_t files_in(const fs::path& dir) {
    if (!fs::exists(dir)) return 0;
    size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file();
    return n;
}

TEST(TrainingCaches, KeysChangeWithContentAndModel) {
    TextEmbeddingCache a("/nonexistent", "model-a", TextNormalization::ftfy);
    TextEmbeddingCache b("/nonexistent", "model-b", TextNormalization::ftfy);
    EXPECT_NE(a.key("a person"), a.key("a person dancing"));
    EXPECT_NE(a.key("a person"), b.key("a person"));
    const auto dir = testing::train_scratch("cache_keys");
    std::ofstream(dir / "x.png") << "one";
    LatentCache latents(dir / "cache", "vae", 64, 64);
    const auto before = latents.key(dir / "x.png");
    LatentCache other_size(dir / "cache", "vae", 128, 64);
    EXPECT_NE(before, other_size.key(dir / "x.png"));
    std::ofstream(dir / "y.png") << "two";
    EXPECT_NE(before, latents.key(dir / "y.png"));
}

TEST(TrainingCaches, CachedRunsMatchUncachedRuns) {
    const auto dir = testing::train_scratch("caches");
    const auto data = testing::write_dataset(dir / "data", 4, "humansd");
    TrainHooks hooks;
    hooks.console = false;
    TrainPaths p{testing::tiny_sd_dir(), data, dir / "plain", {}, {}};
    const auto plain = train(testing::tiny_config(kNoAugmentation), p, hooks);

    auto cached_overrides = kNoAugmentation;
    cached_overrides.push_back("cache.text_embeddings=true");
    cached_overrides.push_back("cache.latents=true");
    p.out_dir = dir / "cached";
    const auto first = train(testing::tiny_config(cached_overrides), p, hooks);
    const auto cache = dir / "data" / ".stablepose-cache";  // beside the dataset by default
    const auto text_files = files_in(cache / "text"), latent_files = files_in(cache / "latents");
    EXPECT_GE(text_files, 1u);       // "" (dropout) and/or the two captions
    EXPECT_EQ(latent_files, 4u);     // 2 steps x batch 2 = every image once
    p.out_dir = dir / "cached_again";
    const auto second = train(testing::tiny_config(cached_overrides), p, hooks);
    EXPECT_EQ(files_in(cache / "text"), text_files);  // all hits: nothing new written
    EXPECT_EQ(files_in(cache / "latents"), latent_files);
    ASSERT_EQ(plain.losses.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(first.losses[i], second.losses[i]) << i;
        // One image at a time through the encoders vs the whole batch: equal up to float rounding.
        EXPECT_NEAR(first.losses[i], plain.losses[i], 1e-5 * std::abs(plain.losses[i])) << i;
    }
}

}  // namespace
}  // namespace stablepose
