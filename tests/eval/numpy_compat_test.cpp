// NumPy's linspace and float64 sum / mean, bit for bit (the COCO thresholds and the stats' means depend on
// them).
#include <gtest/gtest.h>

#include "eval/coco_golden.h"
#include "stablepose/eval/coco_eval_params.h"
#include "stablepose/eval/numpy_compat.h"

namespace stablepose {
namespace {

TEST(CocoNumpy, LinspaceMatchesNumpyBitForBit) {
    const auto& golden = testing::coco_golden()["numpy"];
    EXPECT_EQ(coco_keypoint_params().thresholds, golden["thresholds"].get<std::vector<double>>());
    EXPECT_EQ(coco_keypoint_params().recall_thresholds,
              golden["recall_thresholds"].get<std::vector<double>>());
    EXPECT_EQ(coco_keypoint_params().thresholds[5], 0.75);  // summarize() selects AP@.75 by equality
}

TEST(CocoNumpy, SumAndMeanMatchNumpyBitForBit) {
    int checked = 0;
    for (const auto& row : testing::coco_golden()["numpy"]["sums"]) {
        const auto values = row["values"].get<std::vector<double>>();
        EXPECT_EQ(numpy_sum(values), row["sum"].get<double>()) << values.size() << " values";
        if (!values.empty()) {
            EXPECT_EQ(numpy_mean(values), row["mean"].get<double>()) << values.size() << " values";
        }
        ++checked;
    }
    EXPECT_GE(checked, 10);
}

}  // namespace
}  // namespace stablepose
