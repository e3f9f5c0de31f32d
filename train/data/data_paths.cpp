// Data-root resolution and dataset lookup by name.
#include "train/data/data_paths.h"

#include <fmt/format.h>

#include <cstdlib>
#include <system_error>

#include "core/error.h"
#include "train/data/cifar.h"
#include "train/data/fashion_mnist.h"

namespace vg {
namespace fs = std::filesystem;

namespace {

bool is_dir(const fs::path& p) {
    std::error_code ec;
    return fs::is_directory(p, ec);
}

fs::path executable_dir() {
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path() : exe.parent_path();
}

}  // namespace

fs::path resolve_data_root(const std::string& explicit_root) {
    if (!explicit_root.empty()) return fs::path(explicit_root);
    if (const char* env = std::getenv(kDataEnv); env && *env) return fs::path(env);
    std::error_code ec;
    fs::path cwd = fs::current_path(ec);
    fs::path from_cwd = (cwd / ".." / "shared" / "data").lexically_normal();
    if (is_dir(from_cwd)) return from_cwd;
    for (fs::path d = executable_dir(); !d.empty(); d = d.parent_path()) {
        fs::path cand = (d / ".." / "shared" / "data").lexically_normal();
        if (is_dir(cand)) return cand;
        if (d == d.root_path()) break;
    }
    return from_cwd;
}

const DatasetSource& dataset_source(const std::string& name) {
    static const DatasetSource sources[] = {
        {"cifar10", "cifar-10-batches-bin",
         "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
         "tar xzf cifar-10-binary.tar.gz"},
        {"cifar100", "cifar-100-binary", "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
         "tar xzf cifar-100-binary.tar.gz"},
        {"fashion_mnist", "fashion-mnist",
         "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/ (train-images-idx3-ubyte.gz, "
         "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz)",
         "mkdir fashion-mnist and gunzip the four files into it"},
    };
    for (const auto& s : sources)
        if (name == s.name) return s;
    fail("dataset_source", "unknown dataset '{}' (known: cifar10, cifar100, fashion_mnist)", name);
}

std::string how_to_get(const std::string& name, const fs::path& root) {
    const DatasetSource& s = dataset_source(name);
    return fmt::format(
        "To get it: download {} into the data root and unpack it there ({}), "
        "so that {} exists; choose the data root with {} DIR or the environment variable {}=DIR "
        "(current data root: {})",
        s.url, s.unpack, (root / s.subdir).string(), kDataFlag, kDataEnv, root.string());
}

std::shared_ptr<InMemoryDataset> load_dataset(const std::string& name, bool train,
                                              const fs::path& root, int64_t limit) {
    if (name == "cifar10") return load_cifar10(root, train, limit);
    if (name == "cifar100") return load_cifar100(root, train, limit);
    if (name == "fashion_mnist") return load_fashion_mnist(root, train, limit);
    fail("load_dataset", "unknown dataset '{}' (known: cifar10, cifar100, fashion_mnist)", name);
}

}  // namespace vg
