// Fashion-MNIST IDX reader: checks magic numbers, dimensions and file sizes before reading.
#include "train/data/fashion_mnist.h"

#include <fstream>
#include <system_error>
#include <vector>

#include "core/error.h"
#include "train/data/data_paths.h"

namespace vg {
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kFashionNames = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                "Bag",         "Ankle boot"};

uint32_t be32(const uint8_t* p) {
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// The whole file, after checking it exists; errors end with `hint`.
std::vector<uint8_t> slurp(const fs::path& file, const std::string& what, const std::string& hint) {
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) {
        fs::path gz = file;
        gz += ".gz";
        bool zipped = fs::is_regular_file(gz, ec);
        fail(what.c_str(), "{} not found{}. {}", file.string(),
             zipped ? " (a .gz copy exists: gunzip it, vitgrad reads the uncompressed file)" : "",
             hint);
    }
    std::ifstream in(file, std::ios::binary);
    std::vector<uint8_t> buf(size_t(fs::file_size(file, ec)));
    if (!in || !in.read(reinterpret_cast<char*>(buf.data()), std::streamsize(buf.size())))
        fail(what.c_str(), "failed reading {}. {}", file.string(), hint);
    return buf;
}

}  // namespace

std::shared_ptr<InMemoryDataset> read_idx_pair(const fs::path& images, const fs::path& labels,
                                               int64_t expected, int64_t limit,
                                               const std::string& name, const std::string& hint) {
    const char* what = "fashion_mnist";
    std::vector<uint8_t> im = slurp(images, what, hint);
    std::vector<uint8_t> lb = slurp(labels, what, hint);
    if (im.size() < 16 || be32(im.data()) != 0x00000803u)
        fail(what,
             "{} is not an IDX image file (needs magic 0x00000803 and a 16-byte header; {} bytes). "
             "{}",
             images.string(), im.size(), hint);
    if (lb.size() < 8 || be32(lb.data()) != 0x00000801u)
        fail(what,
             "{} is not an IDX label file (needs magic 0x00000801 and an 8-byte header; {} bytes). "
             "{}",
             labels.string(), lb.size(), hint);
    int64_t n = be32(im.data() + 4), rows = be32(im.data() + 8), cols = be32(im.data() + 12);
    int64_t nl = be32(lb.data() + 4);
    if (expected > 0 && n != expected)
        fail(what, "{} holds {} images, expected {}. {}", images.string(), n, expected, hint);
    if (nl != n)
        fail(what, "{} holds {} labels but {} holds {} images. {}", labels.string(), nl,
             images.string(), n, hint);
    if (int64_t(im.size()) != 16 + n * rows * cols)
        fail(what, "{} has {} bytes, expected {} (16 + {} images of {}x{}): truncated. {}",
             images.string(), im.size(), 16 + n * rows * cols, n, rows, cols, hint);
    if (int64_t(lb.size()) != 8 + n)
        fail(what, "{} has {} bytes, expected {} (8 + {} labels): truncated. {}", labels.string(),
             lb.size(), 8 + n, n, hint);
    auto ds = std::make_shared<InMemoryDataset>(name, ImageShape{1, int(rows), int(cols)},
                                                kFashionNames, fashion_mnist_stats());
    if (limit > 0 && limit < n) n = limit;
    ds->reserve(n);
    for (int64_t i = 0; i < n; ++i) {
        int64_t label = lb[size_t(8 + i)];
        if (label >= ds->num_classes())
            fail(what, "{} label {} at record {} is out of range [0, 10). {}", labels.string(),
                 label, i, hint);
        ds->add(im.data() + 16 + i * rows * cols, label);
    }
    return ds;
}

std::shared_ptr<InMemoryDataset> load_fashion_mnist(const fs::path& root, bool train,
                                                    int64_t limit) {
    fs::path dir = root / dataset_source("fashion_mnist").subdir;
    std::string pre = train ? "train" : "t10k";
    return read_idx_pair(dir / (pre + "-images-idx3-ubyte"), dir / (pre + "-labels-idx1-ubyte"),
                         train ? 60000 : 10000, limit,
                         train ? "fashion_mnist/train" : "fashion_mnist/test",
                         how_to_get("fashion_mnist", root));
}

}  // namespace vg
