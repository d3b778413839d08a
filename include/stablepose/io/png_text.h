// PNG text chunks (iTXt, UTF-8, uncompressed; PNG 1.2 §4.2.3.3) for generation metadata, so an image carries
// its prompt, seed and settings. Hand-written: OpenCV's PNG writer has no text-chunk option and the chunk
// layout is a few lines over zlib's crc32.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace stablepose {

// PNG bytes of an RGB (or grey) image with one iTXt chunk per entry, placed after IHDR.
std::string encode_png_with_text(const cv::Mat& image, const std::map<std::string, std::string>& text);
// Encodes and writes atomically (temporary file, then rename).
void write_png_with_text(const std::filesystem::path& path, const cv::Mat& image,
                         const std::map<std::string, std::string>& text);
// Every tEXt and uncompressed iTXt entry of a PNG file. Throws Error for a file that is not a PNG or is
// truncated.
std::map<std::string, std::string> read_png_text(const std::filesystem::path& path);

}  // namespace stablepose
