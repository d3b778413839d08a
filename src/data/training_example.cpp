#include "stablepose/data/training_example.h"

#include <algorithm>

#include "stablepose/error.h"
#include "stablepose/io/image_io.h"

namespace stablepose {

std::vector<cv::Point2d> official_keypoints_before(const Pose& pose, int max_people, int num_joints) {
    std::vector<cv::Point2d> points(static_cast<size_t>(max_people) * num_joints, cv::Point2d(0, 0));
    const int people = std::min<int>(max_people, static_cast<int>(pose.people.size()));
    for (int p = 0; p < people; ++p)
        for (int j = 0; j < num_joints; ++j) {
            const Joint& k = pose.people[p].joints.at(j);
            if (k.x >= 0 && k.x < pose.width && k.y >= 0 && k.y < pose.height)
                points[static_cast<size_t>(p) * num_joints + j] = cv::Point2d(k.x, k.y);
        }
    return points;
}

torch::Tensor official_pose_after(const Pose& pose, const GeometryResult& geometry, int max_people,
                                  int num_joints, float threshold, const std::vector<int>& flip_permutation) {
    auto out = torch::full({max_people, num_joints, 3}, -1.0f);
    out.select(2, 2).zero_();
    auto a = out.accessor<float, 3>();
    const int people = std::min<int>(max_people, static_cast<int>(pose.people.size()));
    for (int p = 0; p < people; ++p)
        for (int j = 0; j < num_joints; ++j) {
            const int src = flip_permutation.empty() ? j : flip_permutation[j];
            const size_t i = static_cast<size_t>(p) * num_joints + src;
            const float confidence = pose.people[p].joints.at(src).confidence;
            if (!geometry.kept[i] || !(confidence > threshold)) continue;
            a[p][j][0] = static_cast<float>(geometry.points[i].x);
            a[p][j][1] = static_cast<float>(geometry.points[i].y);
            a[p][j][2] = confidence;
        }
    return out;
}

TrainingExample augment_example(const cv::Mat& rgb, const Pose& pose, const std::string& caption,
                                const AugmentParams& params, const ExampleOptions& options) {
    const KeypointSchema& schema = options.schema ? *options.schema : coco17_schema();
    const int joints = schema.num_joints();
    const int max_people = options.style.max_people;
    if (pose.width != rgb.cols || pose.height != rgb.rows)
        fail("augmentation: the pose and the image differ in size",
             std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows),
             std::to_string(pose.width) + "x" + std::to_string(pose.height));
    for (const auto& person : pose.people)
        if (static_cast<int>(person.joints.size()) != joints)
            fail("augmentation: a person has the wrong number of joints",
                 std::to_string(joints) + " (" + schema.name + ")", std::to_string(person.joints.size()));

    const auto geometry = apply_geometry(rgb, official_keypoints_before(pose, max_people, joints), params);
    const auto perm =
        params.flip && options.augment.flip_swaps_left_right ? schema.flip_permutation() : std::vector<int>{};

    TrainingExample ex;
    ex.params = params;
    ex.caption = params.drop_text ? std::string() : caption;
    ex.pose =
        official_pose_after(pose, geometry, max_people, joints, options.style.confidence_threshold, perm);
    ex.image = rgb_to_tensor(apply_colour(geometry.image, params));

    // The skeleton of the augmented pose, drawn as the official loader draws its 10 x 17 x 3 array.
    Pose drawn;
    drawn.width = params.width;
    drawn.height = params.height;
    auto a = ex.pose.accessor<float, 3>();
    for (int p = 0; p < max_people; ++p) {
        Person person;
        for (int j = 0; j < joints; ++j) person.joints.push_back({a[p][j][0], a[p][j][1], a[p][j][2]});
        drawn.people.push_back(std::move(person));
    }
    ex.hint = render_skeleton_tensor(drawn, schema, options.style);
    ex.masks = build_pose_masks(ex.hint.unsqueeze(0), options.masks);
    return ex;
}

TrainingExample make_training_example(const DatasetSample& sample, const ExampleOptions& options,
                                      uint64_t seed, int64_t epoch, int64_t index) {
    const cv::Mat rgb = read_image_rgb(sample.image_path);
    if (sample.width > 0 && (sample.width != rgb.cols || sample.height != rgb.rows))
        fail(sample.image_path.string() + ": the image size differs from its annotation (" + sample.source +
                 ")",
             std::to_string(sample.width) + "x" + std::to_string(sample.height),
             std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows),
             "the keypoints are in the annotated size; restore the original image or fix the annotation");
    const Pose pose = load_sample_pose(sample, rgb.cols, rgb.rows);
    const auto params = sample_augment_params(options.augment, seed, epoch, index);
    TrainingExample ex = augment_example(rgb, pose, sample.caption, params, options);
    ex.image_path = sample.image_path;
    ex.pose_path = sample.pose_path;
    return ex;
}

}  // namespace stablepose
