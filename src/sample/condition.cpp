#include "stablepose/sample/condition.h"

#include "stablepose/data/humanart_coco.h"
#include "stablepose/data/humansd_npz.h"
#include "stablepose/error.h"
#include "stablepose/io/image_io.h"
#include "stablepose/pose/canvas_fit.h"
#include "stablepose/pose/openpose_renderer.h"
#include "stablepose/pose/pose_json.h"

namespace stablepose {

Pose load_source_pose(const PoseSource& source, const KeypointSchema& schema) {
    switch (source.kind) {
        case PoseSourceKind::kKeypointJson: {
            auto file = read_pose_json(source.path, {.allow_no_people = true});
            if (file.schema.name != schema.name)
                fail("pose file " + source.path.string() + ": schema '" + file.schema.name + "'",
                     "schema '" + schema.name + "' (the adapter's)", file.schema.name,
                     "convert the keypoints to the adapter's schema");
            return file.pose;
        }
        case PoseSourceKind::kHumansdNpz: {
            int w = 0, h = 0;
            if (source.pose_size) {
                std::tie(w, h) = *source.pose_size;
            } else {
                const auto image = read_image_rgb(*source.image);
                w = image.cols;
                h = image.rows;
            }
            return read_humansd_npz(source.path, w, h);
        }
        case PoseSourceKind::kCocoAnnotation:
            return read_coco_pose(source.path, source.coco_image_id);
        case PoseSourceKind::kSkeletonImage:
            break;
    }
    fail("a skeleton image has no keypoints", "a keypoint source", source.path.string());
}

SkeletonDrawing parse_skeleton_drawing(const std::string& name) {
    if (name == "humansd") return SkeletonDrawing::kSchema;
    if (name == "openpose") return SkeletonDrawing::kOpenPose;
    fail("unknown skeleton drawing", "\"humansd\" (Stable-Pose) or \"openpose\" (diffusers ControlNet)", name);
}

PreparedCondition prepare_condition(const PoseSource& source, const GenerationSettings& settings,
                                    const KeypointSchema& schema, const SkeletonStyle& style, SkeletonDrawing drawing) {
    PreparedCondition out;
    if (source.kind == PoseSourceKind::kSkeletonImage) {
        const auto image = read_image_rgb(source.path);
        out.skeleton = rgb_to_tensor(fit_image_to_canvas(image, settings.width, settings.height, settings.fit));
        return out;
    }
    const auto pose = load_source_pose(source, schema);
    pose.validate(schema, source.path.string());
    auto fitted = fit_pose_to_canvas(pose, settings.width, settings.height, settings.fit);
    if (drawing == SkeletonDrawing::kOpenPose) {
        if (schema.name != "coco17")
            fail("OpenPose drawing needs COCO-17 keypoints", "schema coco17", schema.name);
        out.skeleton =
            rgb_to_tensor(render_openpose_skeleton(coco17_to_openpose18(fitted, style.confidence_threshold),
                                                   style.confidence_threshold));
    } else {
        out.skeleton = render_skeleton_tensor(fitted, schema, style);
    }
    out.people_total = static_cast<int>(fitted.people.size());
    for (size_t i = 0; i < fitted.people.size() && static_cast<int>(i) < style.max_people; ++i)
        out.people_drawn += person_is_drawn(fitted.people[i]) ? 1 : 0;
    out.schema_name = schema.name;
    out.pose = std::move(fitted);
    return out;
}

}  // namespace stablepose
