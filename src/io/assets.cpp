#include "stablepose/io/assets.h"

#include <cstdlib>
#include <string>
#include <vector>

#include <unistd.h>

#include "stablepose/error.h"

namespace stablepose {

std::filesystem::path find_asset(const std::filesystem::path& relative) {
    namespace fs = std::filesystem;
    std::vector<fs::path> roots;
    if (const char* env = std::getenv("STABLEPOSE_ASSETS")) roots.emplace_back(env);
    std::error_code ec;
    const auto exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) roots.push_back(exe.parent_path().parent_path() / "share" / "stablepose" / "assets");
    roots.emplace_back(STABLEPOSE_SOURCE_ASSETS_DIR);
    std::string searched;
    for (const auto& root : roots) {
        const auto candidate = root / relative;
        if (fs::exists(candidate)) return candidate;
        searched += (searched.empty() ? "" : ", ") + candidate.string();
    }
    fail("asset '" + relative.string() + "' not found", "the file in one of the asset folders", "searched " + searched,
         "set STABLEPOSE_ASSETS to the project's assets/ folder");
}

}  // namespace stablepose
