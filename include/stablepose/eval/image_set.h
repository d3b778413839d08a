// The image sets the image metrics compare: a folder of images, or a JSONL manifest naming images (and their
// prompts and scenario labels), e.g. the manifest.jsonl that `stablepose sample` writes.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace stablepose {

struct ImageSet {
    std::filesystem::path root;                // folder the entries' relative paths are resolved against
    std::vector<std::filesystem::path> files;  // resolved paths, in set order
    std::vector<std::string> prompts;          // one per file when the manifest has "prompt", else empty
    std::vector<std::string> scenarios;        // one per file when the manifest has "scenario", else empty
    std::filesystem::path manifest;            // empty for a plain folder

    size_t size() const { return files.size(); }
    // Path of files[i] relative to root (what identifies an image in the feature cache and in reports).
    std::string relative(size_t i) const;
};

// The images directly inside `dir` (png, jpg, jpeg, bmp, webp, tif, tiff; case-insensitive), sorted by name.
// Throws Error for a missing folder or one without images.
ImageSet list_image_folder(const std::filesystem::path& dir);

// A JSONL manifest: one object per line with the image path in "path" (or "image", as `stablepose sample`
// writes), relative to the manifest's folder unless absolute, and optionally "prompt" and "scenario". Throws
// Error for a missing file, a bad line, a missing image field or an empty manifest.
ImageSet read_image_manifest(const std::filesystem::path& jsonl);

// A manifest file; a folder holding manifest.jsonl (a `stablepose sample` output); or a plain image folder.
ImageSet open_image_set(const std::filesystem::path& dir_or_manifest);

}  // namespace stablepose
