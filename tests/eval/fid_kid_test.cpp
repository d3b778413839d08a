// FID and KID from fixed feature matrices against torchmetrics (tests/reference/make_metrics_golden.py), and the
// per-scenario averaging against a transcription of Stable-Pose's eval_quality.py loop.
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "stablepose/error.h"
#include "stablepose/eval/frechet_distance.h"
#include "stablepose/eval/image_quality.h"
#include "stablepose/eval/kernel_inception_distance.h"
#include "test_util.h"

namespace stablepose {
namespace {

torch::Tensor g(const std::string& name) { return testing::golden("metrics", name); }
double scalar(const std::string& name) { return g(name).item<double>(); }
double rel(double a, double b) { return std::abs(a - b) / std::abs(b); }

nlohmann::json metrics_json() {
    return nlohmann::json::parse(std::ifstream(std::filesystem::path(STABLEPOSE_GOLDEN_DIR) / "metrics.json"));
}

std::vector<torch::Tensor> rows_of(const torch::Tensor& t) {
    std::vector<torch::Tensor> out;
    for (int64_t i = 0; i < t.size(0); ++i) out.push_back(t[i]);
    return out;
}

TEST(FidMath, MatchesTorchmetricsOnFixedFeatures) {
    for (const std::string name : {"d64", "d256", "d1024"}) {
        const double ours = frechet_inception_distance(g("fid." + name + ".real"), g("fid." + name + ".fake"));
        const double reference = scalar("fid." + name + ".torchmetrics");
        std::printf("FID %s: ours %.12g torchmetrics %.12g scipy %.12g (rel diff %.3g)\n", name.c_str(), ours,
                    reference, scalar("fid." + name + ".scipy"), rel(ours, reference));
        EXPECT_LE(rel(ours, reference), 1e-6) << name;
        EXPECT_LE(rel(ours, scalar("fid." + name + ".scipy")), 1e-6) << name << " vs scipy.linalg.sqrtm";
    }
}

TEST(FidMath, IdenticalSetsGiveZeroAndShiftsAddTheirSquaredNorm) {
    const auto real = g("fid.d64.real").to(torch::kFloat64);
    EXPECT_NEAR(frechet_inception_distance(real, real), 0.0, 1e-8);
    // Moving every feature by v adds ||v||^2 and leaves the covariance term alone.
    const auto shift = torch::full({64}, 0.25, torch::kFloat64);
    EXPECT_NEAR(frechet_inception_distance(real, real + shift), 64 * 0.0625, 1e-6);
}

TEST(FidMath, MomentsAreTheMeanAndUnbiasedCovariance) {
    const auto f = g("fid.d64.fake").to(torch::kFloat64);
    const auto m = feature_moments(f);
    EXPECT_EQ(m.count, f.size(0));
    EXPECT_LE(testing::max_abs_diff(m.mean, f.mean(0)), 1e-12);
    const auto centred = f - f.mean(0);
    EXPECT_LE(testing::max_abs_diff(m.cov, centred.t().mm(centred) / (f.size(0) - 1)), 1e-10);
}

TEST(FidMath, RejectsFewerThanTwoRows) {
    EXPECT_THROW(frechet_inception_distance(torch::ones({1, 8}), torch::ones({5, 8})), Error);
    EXPECT_THROW(frechet_inception_distance(torch::ones({5, 8}), torch::ones({5, 4})), Error);
}

TEST(KidMath, FixedSubsetsMatchTorchmetrics) {
    const auto j = metrics_json()["kid"];
    KidOptions o;
    o.subset_size = j["subset_size"];
    o.subsets = j["subsets"];
    const auto r = kernel_inception_distance(g("kid.real"), g("kid.fake"), o, rows_of(g("kid.real_idx")),
                                             rows_of(g("kid.fake_idx")));
    std::printf("KID: mean %.12g (torchmetrics f64 %.12g, f32 %.12g), std %.12g (f64 %.12g)\n", r.mean,
                scalar("kid.mean64"), scalar("kid.mean32"), r.std, scalar("kid.std64"));
    EXPECT_EQ(r.values.size(), static_cast<size_t>(o.subsets));
    EXPECT_LE(rel(r.mean, scalar("kid.mean64")), 1e-6);
    EXPECT_LE(rel(r.std, scalar("kid.std64")), 1e-6);
    // The reference's float32 kernel sums cancel to ~1e-4 of the value; float64 agrees within that.
    EXPECT_LE(rel(r.mean, scalar("kid.mean32")), 1e-3);
}

TEST(KidMath, SeededDrawsReproduceTorchRandperm) {
    const auto j = metrics_json()["kid"];
    KidOptions o;
    o.subset_size = j["subset_size"];
    o.subsets = j["subsets"];
    o.seed = j["seed"];
    const auto r = kernel_inception_distance(g("kid.real"), g("kid.fake"), o);
    EXPECT_EQ(r.seed, o.seed);
    EXPECT_LE(rel(r.mean, scalar("kid.mean64")), 1e-6);
    o.seed += 1;  // another seed draws other subsets
    EXPECT_GT(rel(kernel_inception_distance(g("kid.real"), g("kid.fake"), o).mean, scalar("kid.mean64")), 1e-6);
}

TEST(KidMath, SubsetLargerThanASetIsAnError) {
    KidOptions o;
    o.subset_size = 111;  // the fake set has 110 rows
    try {
        kernel_inception_distance(g("kid.real"), g("kid.fake"), o);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("subset_size <= 110"), std::string::npos) << e.what();
    }
}

TEST(KidMath, WholeSetReportSkipsKidWhenASetIsTooSmall) {
    InceptionFeatures real{g("kid.real").slice(1, 0, 64), g("kid.real")};
    InceptionFeatures fake{g("kid.fake").slice(1, 0, 64), g("kid.fake")};
    FidKidOptions o;
    o.fid_dims = 64;
    o.kid.subset_size = 200;
    const auto r = fid_kid(real, fake, o);
    EXPECT_FALSE(r.kid.has_value());
    EXPECT_NE(r.kid_skipped.find("200"), std::string::npos);
    EXPECT_TRUE(to_json(r)["kid"].is_null());
}

TEST(KidMath, PerScenarioAveragingMatchesTheStablePoseLoop) {
    const auto j = metrics_json()["scenario"];
    InceptionFeatures real{g("scenario.real64"), g("scenario.real2048")};
    InceptionFeatures fake{g("scenario.fake64"), g("scenario.fake2048")};
    FidKidOptions o;
    o.fid_dims = 64;
    o.kid.subset_size = j["subset_size"];
    o.kid.seed = j["seed"];
    const auto r = scenario_average(real, j["real_labels"].get<std::vector<std::string>>(), fake,
                                    j["fake_labels"].get<std::vector<std::string>>(), o);
    ASSERT_EQ(r.scenarios.size(), 3u);
    for (const auto& s : r.scenarios) {
        EXPECT_LE(rel(s.result.fid, j["fid"][s.scenario].get<double>()), 1e-6) << s.scenario;
        if (j["kid"][s.scenario].is_null()) {
            EXPECT_FALSE(s.result.kid.has_value()) << s.scenario;
        } else {
            ASSERT_TRUE(s.result.kid.has_value()) << s.scenario;
            EXPECT_LE(rel(s.result.kid->mean, j["kid"][s.scenario].get<double>()), 1e-6) << s.scenario;
        }
    }
    EXPECT_LE(rel(r.fid_mean, j["fid_mean"].get<double>()), 1e-6);
    ASSERT_TRUE(r.kid_mean.has_value());
    EXPECT_EQ(r.kid_scenarios, 2);
    EXPECT_LE(rel(*r.kid_mean, j["kid_mean"].get<double>()), 1e-6);
}

TEST(KidMath, PerScenarioNeedsBothSetsPerLabel) {
    InceptionFeatures real{torch::rand({4, 64}), torch::rand({4, 2048})};
    InceptionFeatures fake{torch::rand({4, 64}), torch::rand({4, 2048})};
    FidKidOptions o;
    o.fid_dims = 64;
    EXPECT_THROW(scenario_average(real, {"a", "a", "b", "b"}, fake, {"a", "a", "c", "c"}, o), Error);
    EXPECT_THROW(scenario_average(real, {"a", "a", "b"}, fake, {"a", "a", "b", "b"}, o), Error);
    // A scenario with one fake image: the message names it and its counts (not a bare "[1, 2048]").
    try {
        scenario_average(real, {"a", "a", "b", "b"}, fake, {"a", "a", "a", "b"}, o);
        ADD_FAILURE() << "a one-image scenario was accepted";
    } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("scenario 'b' has too few images"), std::string::npos) << m;
        EXPECT_NE(m.find("2 real and 1 fake"), std::string::npos) << m;
    }
}

}  // namespace
}  // namespace stablepose
