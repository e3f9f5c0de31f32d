// The kernel list (core/kernel_list.inc) is declared for both backends; this checks, from the
// sources, that each backend also defines every kernel, so a kernel missing on CUDA is caught on
// a machine without nvcc too (where the CUDA files are never compiled, let alone linked).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& p) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// Names declared in the list: `void name(` (or any return type) at the start of a line.
std::set<std::string> declared_kernels() {
    std::string text = read_text(fs::path(VG_SOURCE_DIR) / "core/kernel_list.inc");
    std::set<std::string> names;
    std::regex decl(R"(^\w[\w:<>]*\s+(\w+)\()", std::regex::multiline);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), decl);
         it != std::sregex_iterator(); ++it)
        names.insert((*it)[1]);
    return names;
}

// Names defined (a parameter list followed by a body) in the files of `dir` with extension `ext`.
std::set<std::string> defined_functions(const std::string& dir, const std::string& ext) {
    std::set<std::string> names;
    std::regex def(R"(^\w[\w:<>]*\s+(\w+)\(([^;{}]*)\)\s*\{)", std::regex::multiline);
    for (const auto& entry : fs::directory_iterator(fs::path(VG_SOURCE_DIR) / dir)) {
        if (entry.path().extension() != ext) continue;
        std::string text = read_text(entry.path());
        for (auto it = std::sregex_iterator(text.begin(), text.end(), def);
             it != std::sregex_iterator(); ++it)
            names.insert((*it)[1]);
    }
    return names;
}

void check_backend(const std::set<std::string>& kernels, const std::set<std::string>& defined,
                   const char* backend) {
    for (const std::string& k : kernels) {
        INFO(std::string(backend), " defines kernel ", k);
        CHECK(defined.count(k) == 1);
    }
}

}  // namespace

TEST_CASE("kernel list: every kernel of core/kernel_list.inc is defined by both backends") {
    std::set<std::string> kernels = declared_kernels();
    REQUIRE(kernels.size() >= 20);  // the list was found and parsed
    CHECK(kernels.count("matmul") == 1);
    check_backend(kernels, defined_functions("core/cpu", ".cpp"), "core/cpu");
    check_backend(kernels, defined_functions("cuda", ".cu"), "cuda");
}
