// Toy-world scenes: random composition, captions, and rendering with keypoints (hand-built).
#include "stablepose/toyworld/scene.h"

#include <algorithm>
#include <map>

#include <opencv2/imgproc.hpp>

#include "stablepose/error.h"
#include "stablepose/toyworld/background.h"
#include "stablepose/toyworld/body_model.h"
#include "stablepose/toyworld/joint_visibility.h"
#include "stablepose/toyworld/random.h"

namespace stablepose::toyworld {
namespace {

const std::vector<Rgb> kSkinTones{{250, 214, 170}, {236, 188, 130}, {214, 160, 105}, {180, 120, 75}, {140, 90, 55}};
const std::vector<Rgb> kHairColours{{28, 24, 24}, {70, 45, 30}, {115, 75, 40}, {205, 170, 95}, {150, 60, 30}};
const std::vector<Rgb> kShoeColours{{45, 38, 35}, {28, 28, 30}, {95, 62, 40}, {230, 230, 230}};

// Clothing colours that would blend into a background.
const std::map<std::string, std::vector<std::string>>& clashes() {
    static const std::map<std::string, std::vector<std::string>> table{
        {"sandy", {"yellow"}}, {"grassy", {"green"}},         {"snowy", {"white"}}, {"brick", {"red", "orange", "pink"}},
        {"sky", {"blue", "cyan"}}, {"wooden", {"orange"}}, {"tiled", {"white"}}};
    return table;
}

double luminance(const Rgb& c) { return 0.299 * c.r + 0.587 * c.g + 0.114 * c.b; }

// Hair at least 50 luminance levels darker than the skin, so hair and face stay apart in every view.
Rgb random_hair(const Rgb& skin, Random& rng) {
    std::vector<Rgb> fitting;
    for (const auto& h : kHairColours)
        if (luminance(skin) - luminance(h) >= 50) fitting.push_back(h);
    return rng.pick(fitting);
}

// "a red", "an orange".
std::string with_article(const std::string& word) {
    const bool vowel = !word.empty() && std::string("aeiou").find(word[0]) != std::string::npos;
    return (vowel ? "an " : "a ") + word;
}

const char* number_word(size_t n) {
    static const char* words[] = {"zero", "one", "two", "three", "four", "five"};
    return n < std::size(words) ? words[n] : "several";
}

}  // namespace

const std::vector<NamedColour>& clothing_colours() {
    static const std::vector<NamedColour> colours{
        {"red", {215, 40, 40}},    {"blue", {40, 80, 215}},     {"green", {40, 160, 60}},
        {"yellow", {240, 205, 35}}, {"purple", {135, 60, 185}}, {"orange", {245, 135, 30}},
        {"white", {238, 238, 238}}, {"black", {45, 45, 50}},     {"pink", {240, 120, 170}},
        {"cyan", {40, 190, 210}}};
    return colours;
}

const NamedColour& clothing_colour(const std::string& name) {
    for (const auto& c : clothing_colours())
        if (c.name == name) return c;
    std::string known;
    for (const auto& c : clothing_colours()) known += (known.empty() ? "" : ", ") + c.name;
    fail("unknown toy-world clothing colour '" + name + "'", "one of " + known, name);
}

Scene random_scene(Random& rng, int width, int height) {
    Scene scene;
    scene.width = width;
    scene.height = height;
    scene.background = rng.pick(background_names());
    scene.background_seed = rng.next();
    const double n_draw = rng.uniform();
    const int n = n_draw < 0.5 ? 1 : n_draw < 0.8 ? 2 : 3;
    scene.caption_template = rng.uniform_int(0, 1);

    std::vector<std::string> colours;
    const auto& avoid = clashes().at(scene.background);
    for (const auto& c : clothing_colours())
        if (std::find(avoid.begin(), avoid.end(), c.name) == avoid.end()) colours.push_back(c.name);

    // Slots across the width, shuffled so that depth and left-right position are independent.
    std::vector<int> slots(n);
    for (int i = 0; i < n; ++i) slots[i] = i;
    for (int i = n - 1; i > 0; --i) std::swap(slots[i], slots[rng.uniform_int(0, i)]);

    const double min_h = n == 1 ? 0.6 : n == 2 ? 0.55 : 0.5, max_h = n == 1 ? 0.95 : n == 2 ? 0.9 : 0.85;
    for (int i = 0; i < n; ++i) {
        FigureSpec f;
        const auto view = static_cast<View>(rng.uniform_int(0, 2));
        f.yaw_deg = random_yaw(view, rng);
        f.angles = random_pose_angles(rng);
        const int ci = rng.uniform_int(0, static_cast<int>(colours.size()) - 1);
        f.colour = colours[ci];
        colours.erase(colours.begin() + ci);
        f.style.clothing = clothing_colour(f.colour).rgb;
        f.style.skin = rng.pick(kSkinTones);
        f.style.hair = random_hair(f.style.skin, rng);
        f.style.shoes = rng.pick(kShoeColours);
        f.height_px = rng.uniform(min_h, max_h) * height;
        const Extent e = body_extent(body_parts(pose_skeleton(f.angles, f.yaw_deg)));
        const double width_px = f.height_px * (e.x_max - e.x_min) / (e.y_max - e.y_min);
        const double slot_w = static_cast<double>(width) / n;
        const double centre = (slots[i] + 0.5 + rng.uniform(-0.15, 0.15)) * slot_w;
        // At most a tenth of the silhouette may leave the image sideways.
        const double margin = 0.4 * width_px;
        f.centre_u = margin * 2 >= width ? width / 2.0 : std::clamp(centre, margin, width - margin);
        f.top_v = rng.uniform(0, std::max(0.0, height - f.height_px));
        scene.figures.push_back(f);
    }
    std::stable_sort(scene.figures.begin(), scene.figures.end(),
                     [](const FigureSpec& a, const FigureSpec& b) { return a.height_px < b.height_px; });
    return scene;
}

std::vector<size_t> left_to_right(const Scene& scene) {
    std::vector<size_t> order(scene.figures.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return scene.figures[a].centre_u < scene.figures[b].centre_u;
    });
    return order;
}

std::string scene_caption(const Scene& scene) {
    const auto order = left_to_right(scene);
    const std::string where = " on a " + scene.background + " background";
    if (order.size() == 1) {
        const std::string& c = scene.figures[order[0]].colour;
        return scene.caption_template == 0 ? with_article(c) + " figure" + where : "a figure in " + c + where;
    }
    std::string text = std::string(number_word(order.size())) + " figures, ";
    for (size_t i = 0; i < order.size(); ++i) {
        if (i > 0) text += i + 1 == order.size() ? " and " : ", ";
        text += with_article(scene.figures[order[i]].colour) + " one";
    }
    return text + "," + where;
}

std::vector<PlacedFigure> place_figures(const Scene& scene) {
    std::vector<PlacedFigure> placed;
    for (const auto& f : scene.figures) {
        const Skeleton3d skeleton = pose_skeleton(f.angles, f.yaw_deg);
        const auto parts = body_parts(skeleton);
        const Placement pl = place_figure(body_extent(parts), f.height_px, f.centre_u, f.top_v);
        placed.push_back(make_figure(skeleton, pl, f.style));
    }
    return placed;
}

RenderedScene render_scene(const Scene& scene, int supersample) {
    if (supersample < 1) fail("render_scene: supersample must be at least 1", ">= 1", std::to_string(supersample));
    const auto placed = place_figures(scene);
    Random bg_rng(scene.background_seed);
    const cv::Size big(scene.width * supersample, scene.height * supersample), size(scene.width, scene.height);
    cv::Mat canvas = render_background(scene.background, big.width, big.height, bg_rng);
    RenderedScene out;
    cv::resize(canvas, out.background, size, 0, 0, cv::INTER_AREA);
    draw_figures(canvas, supersample, placed);
    cv::resize(canvas, out.image, size, 0, 0, cv::INTER_AREA);

    const cv::Rect2d frame(0, 0, scene.width, scene.height);
    for (const size_t i : left_to_right(scene)) {
        RenderedPerson p;
        p.figure = i;
        p.view = classify_view(scene.figures[i].yaw_deg);
        p.keypoints = figure_keypoints(placed, i, scene.width, scene.height);
        const Extent e = body_extent(placed[i].parts);
        const Placement& pl = placed[i].placement;
        const cv::Rect2d box(pl.u0 + pl.scale * e.x_min, pl.v0 - pl.scale * e.y_max, pl.scale * (e.x_max - e.x_min),
                             pl.scale * (e.y_max - e.y_min));
        p.bbox = box & frame;
        out.people.push_back(std::move(p));
    }
    return out;
}

}  // namespace stablepose::toyworld
