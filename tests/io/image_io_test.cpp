// Image reading: the stored pixels, as PIL reads them in the official loaders (no EXIF rotation), and errors.
#include <unistd.h>

#include <fstream>

#include "stablepose/io/image_io.h"
#include "test_util.h"

namespace stablepose {
namespace {

// exif_orientation_6.jpg: 100 x 40 stored pixels, left half red, right half blue, EXIF orientation 6 ("rotate
// 90 degrees clockwise to display"); written by PIL, whose np.array(Image.open(...)) gives (40, 100, 3).
TEST(ImageIo, ExifOrientationIsNotApplied) {
    const auto rgb = read_image_rgb(testing::fixture("exif_orientation_6.jpg"));
    ASSERT_EQ(rgb.rows, 40);
    ASSERT_EQ(rgb.cols, 100);
    const auto left = rgb.at<cv::Vec3b>(20, 10), right = rgb.at<cv::Vec3b>(20, 90);
    EXPECT_GT(left[0], 200);  // red: channel 0 is red
    EXPECT_LT(left[2], 50);
    EXPECT_GT(right[2], 200);
    EXPECT_LT(right[0], 50);
}

TEST(ImageIo, MissingAndCorruptFilesAreNamed) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("stablepose_image_io_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "corrupt.png") << "not an image";
    EXPECT_NE(testing::error_of([&] { read_image_rgb(dir / "absent.png"); }).find("image not found"),
              std::string::npos);
    EXPECT_NE(testing::error_of([&] { read_image_rgb(dir / "corrupt.png"); }).find("cannot decode image"),
              std::string::npos);
    std::filesystem::remove(dir / "corrupt.png");
    std::filesystem::remove(dir);
}

}  // namespace
}  // namespace stablepose
