// The dependency direction of docs/architecture.md, checked from the sources: a file includes only
// files of its own room or of rooms earlier in the list, so the rooms stack without a cycle.
#include <doctest/doctest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <string>

namespace {

namespace fs = std::filesystem;

// The layers and train/'s rooms, bottom first, as docs/architecture.md lists them.
constexpr std::array<const char*, 14> kRooms = {
    "core/",       "cuda/",          "autograd/",    "nn/",         "models/",
    "train/data/", "train/augment/", "train/optim/", "train/init/", "train/probe/",
    "train/run/",  "train/analyze/", "train/bench/", "train/cli/"};

// The two upward includes the architecture page names (device memory and cross-device copies).
const std::set<std::string> kAllowedUpward = {"core/allocator.cpp -> cuda/caching_allocator.h",
                                              "core/tensor.cpp -> cuda/kernels.h"};

std::optional<size_t> room_of(const std::string& path) {
    std::optional<size_t> room;
    for (size_t i = 0; i < kRooms.size(); ++i)
        if (path.rfind(kRooms[i], 0) == 0) room = i;  // the most specific prefix wins
    return room;
}

}  // namespace

TEST_CASE("layering: every include points to the file's own room or one below it") {
    const fs::path root(VG_SOURCE_DIR);
    const std::regex include(R"re(^\s*#\s*include\s+"([^"]+)")re");
    const std::set<std::string> source_ext = {".h", ".cpp", ".cu", ".cuh", ".inc"};
    int files = 0;
    for (const char* top : {"core", "cuda", "autograd", "nn", "models", "train"}) {
        for (const auto& entry : fs::recursive_directory_iterator(root / top)) {
            if (!entry.is_regular_file() || !source_ext.count(entry.path().extension().string()))
                continue;
            const std::string file = fs::relative(entry.path(), root).generic_string();
            const size_t own = room_of(file).value();
            ++files;
            std::ifstream in(entry.path());
            std::string line;
            while (std::getline(in, line)) {
                std::smatch m;
                if (!std::regex_search(line, m, include)) continue;
                const std::string target = m[1];
                const std::optional<size_t> room = room_of(target);
                if (!room || *room <= own || kAllowedUpward.count(file + " -> " + target)) continue;
                FAIL_CHECK(file << " includes " << target << ", a room above its own");
            }
        }
    }
    CHECK(files > 200);  // the walk found the tree
}
