#include "stablepose/io/atomic_file.h"

#include <algorithm>
#include <vector>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include <unistd.h>

#include "stablepose/error.h"

namespace stablepose {

void write_file_atomic(const std::filesystem::path& path, std::string_view bytes) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
    if (ec) fail("cannot create directory '" + path.parent_path().string() + "'", "a writable directory", ec.message());
    const fs::path tmp = path.string() + ".tmp-" + std::to_string(::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) fail("cannot write '" + tmp.string() + "'", "a writable location", std::strerror(errno));
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        out.flush();
        if (!out) {
            fs::remove(tmp, ec);
            fail("writing '" + path.string() + "' failed", std::to_string(bytes.size()) + " bytes written",
                 std::strerror(errno), "check free disk space");
        }
    }
    fs::rename(tmp, path, ec);
    if (ec) {
        const std::string reason = ec.message();  // before remove() resets ec
        fs::remove(tmp, ec);
        fail("cannot move the finished file into place at '" + path.string() + "'", "a successful rename",
             reason,
             fs::is_directory(path) ? "a folder has that name: move it away or choose another output path"
                                    : "check the folder's permissions and free space");
    }
}

void remove_tree(const std::filesystem::path& path) {
    namespace fs = std::filesystem;
    if (!fs::exists(fs::symlink_status(path))) return;
    if (fs::is_directory(fs::symlink_status(path))) {
        std::vector<fs::path> paths;
        for (const auto& entry : fs::recursive_directory_iterator(path)) paths.push_back(entry.path());
        // Deepest first, so every folder is empty when its turn comes.
        std::sort(paths.begin(), paths.end(),
                  [](const fs::path& a, const fs::path& b) { return a.string().size() > b.string().size(); });
        for (const auto& p : paths) fs::remove(p);
    }
    fs::remove(path);
}

}  // namespace stablepose
