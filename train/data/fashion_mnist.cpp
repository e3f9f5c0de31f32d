// Fashion-MNIST IDX reader: checks magic numbers, dimensions and file sizes before reading.
#include "train/data/fashion_mnist.h"

#include <fstream>
#include <system_error>
#include <vector>

#include "core/error.h"
#include "train/data/data_paths.h"
#include "train/data/readable_file.h"

namespace vg {
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kFashionNames = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                "Bag",         "Ankle boot"};

uint32_t be32(const uint8_t* p) {
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// Bounds on an IDX header's counts, checked before any size arithmetic or allocation: with them
// 16 + n * rows * cols stays far below 2^63 (Fashion-MNIST: 60000 images of 28 x 28).
constexpr int64_t kMaxIdxRecords = 10'000'000;
constexpr int64_t kMaxIdxSide = 1024;

// An IDX file's size and its first `header` bytes, after checking it is a readable regular file.
std::vector<uint8_t> read_header(const fs::path& file, size_t header, const char* what,
                                 const std::string& hint, int64_t& size) {
    if (std::string why = unreadable_reason(file); !why.empty()) {
        fs::path gz = file;
        gz += ".gz";
        bool zipped = unreadable_reason(gz).empty();
        fail(what, "{} {}{}. {}", file.string(), why,
             zipped ? " (a .gz copy exists: gunzip it, vitgrad reads the uncompressed file)" : "",
             hint);
    }
    std::error_code ec;
    size = int64_t(fs::file_size(file, ec));
    if (ec) fail(what, "cannot stat {}: {}. {}", file.string(), ec.message(), hint);
    std::vector<uint8_t> buf(std::min<size_t>(header, size_t(size)));
    std::ifstream in(file, std::ios::binary);
    if (!in || !in.read(reinterpret_cast<char*>(buf.data()), std::streamsize(buf.size())))
        fail(what, "failed reading {}. {}", file.string(), hint);
    return buf;
}

// The whole file, whose size was checked against its header.
std::vector<uint8_t> read_all(const fs::path& file, int64_t size, const char* what,
                              const std::string& hint) {
    std::vector<uint8_t> buf(static_cast<size_t>(size));
    std::ifstream in(file, std::ios::binary);
    if (!in || !in.read(reinterpret_cast<char*>(buf.data()), std::streamsize(buf.size())))
        fail(what, "failed reading {}. {}", file.string(), hint);
    return buf;
}

}  // namespace

std::shared_ptr<InMemoryDataset> read_idx_pair(const fs::path& images, const fs::path& labels,
                                               int64_t expected, int64_t limit,
                                               const std::string& name, const std::string& hint) {
    const char* what = "fashion_mnist";
    int64_t im_size = 0, lb_size = 0;
    std::vector<uint8_t> ih = read_header(images, 16, what, hint, im_size);
    std::vector<uint8_t> lh = read_header(labels, 8, what, hint, lb_size);
    if (ih.size() < 16 || be32(ih.data()) != 0x00000803u)
        fail(what,
             "{} is not an IDX image file (needs magic 0x00000803 and a 16-byte header; {} bytes). "
             "{}",
             images.string(), im_size, hint);
    if (lh.size() < 8 || be32(lh.data()) != 0x00000801u)
        fail(what,
             "{} is not an IDX label file (needs magic 0x00000801 and an 8-byte header; {} bytes). "
             "{}",
             labels.string(), lb_size, hint);
    int64_t n = be32(ih.data() + 4), rows = be32(ih.data() + 8), cols = be32(ih.data() + 12);
    int64_t nl = be32(lh.data() + 4);
    if (n > kMaxIdxRecords || rows < 1 || rows > kMaxIdxSide || cols < 1 || cols > kMaxIdxSide)
        fail(what,
             "{} declares {} images of {}x{}: outside the supported [0, {}] images of [1, {}] "
             "pixels a side (damaged header?). {}",
             images.string(), n, rows, cols, kMaxIdxRecords, kMaxIdxSide, hint);
    if (expected > 0 && n != expected)
        fail(what, "{} holds {} images, expected {}. {}", images.string(), n, expected, hint);
    if (nl != n)
        fail(what, "{} holds {} labels but {} holds {} images. {}", labels.string(), nl,
             images.string(), n, hint);
    const int64_t pixels = rows * cols;
    if (im_size != 16 + n * pixels)
        fail(what, "{} has {} bytes, expected {} (16 + {} images of {}x{}): truncated. {}",
             images.string(), im_size, 16 + n * pixels, n, rows, cols, hint);
    if (lb_size != 8 + n)
        fail(what, "{} has {} bytes, expected {} (8 + {} labels): truncated. {}", labels.string(),
             lb_size, 8 + n, n, hint);
    std::vector<uint8_t> im = read_all(images, im_size, what, hint);
    std::vector<uint8_t> lb = read_all(labels, lb_size, what, hint);
    auto ds = std::make_shared<InMemoryDataset>(name, ImageShape{1, int(rows), int(cols)},
                                                kFashionNames, fashion_mnist_stats());
    if (limit > 0 && limit < n) n = limit;
    ds->reserve(n);
    for (int64_t i = 0; i < n; ++i) {
        int64_t label = lb[size_t(8 + i)];
        if (label >= ds->num_classes())
            fail(what, "{} label {} at record {} is out of range [0, 10). {}", labels.string(),
                 label, i, hint);
        ds->add(im.data() + 16 + i * pixels, label);
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
