// Dataset files as they go wrong in practice: headers whose sizes overflow, paths that are
// directories or FIFOs, files this user may not read. Each is one error that says what the path
// is, never an allocation failure, a hang or "not found".
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/helpers.h"
#include "tests/train/train_fixtures.h"
#include "train/data/cifar.h"
#include "train/data/data_paths.h"
#include "train/data/fashion_mnist.h"
#include "train/run/checkpoint.h"

using namespace vg;
using test::error_of;
namespace fs = std::filesystem;

namespace {

void put_be32(std::vector<uint8_t>& b, uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
}

void write_bytes(const std::string& p, const std::vector<uint8_t>& bytes) {
    std::ofstream out(p, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

}  // namespace

TEST_CASE("fashion_mnist: header sizes that overflow 16 + n * rows * cols are refused") {
    test::TempDir dir("vg_idx_overflow");
    // 16 images of 2^30 x 2^30: n * rows * cols = 2^64 wraps to 0, so a 16-byte file "matches".
    std::vector<uint8_t> im, lb;
    put_be32(im, 0x00000803u);
    put_be32(im, 16);
    put_be32(im, 1u << 30);
    put_be32(im, 1u << 30);
    put_be32(lb, 0x00000801u);
    put_be32(lb, 16);
    lb.resize(8 + 16, 0);
    write_bytes(dir.file("images"), im);
    write_bytes(dir.file("labels"), lb);
    std::string msg =
        error_of([&] { read_idx_pair(dir.file("images"), dir.file("labels"), 0, 0, "fm", "h"); });
    CHECK(msg.find("declares 16 images of 1073741824x1073741824") != std::string::npos);
    // A count beyond the bound, with a plausible image size.
    im.clear();
    put_be32(im, 0x00000803u);
    put_be32(im, 0xFFFFFFFFu);
    put_be32(im, 28);
    put_be32(im, 28);
    write_bytes(dir.file("images"), im);
    msg = error_of([&] { read_idx_pair(dir.file("images"), dir.file("labels"), 0, 0, "fm", "h"); });
    CHECK(msg.find("declares 4294967295 images") != std::string::npos);
}

TEST_CASE("cifar: a file of more records than the bound is refused before reading") {
    test::TempDir dir("vg_cifar_bound");
    std::string big = dir.file("big.bin");
    { std::ofstream(big) << ""; }
    // A sparse file of 1000001 records: no disk space used, nothing read.
    fs::resize_file(big, uint64_t(kMaxCifarRecords + 1) * uint64_t(kCifar10Record));
    InMemoryDataset ds("syn", {3, 32, 32}, std::vector<std::string>(10, "c"), cifar10_stats());
    std::string msg = error_of([&] { read_cifar_file(big, 1, 0, 0, 0, ds, "cifar10", "hint"); });
    CHECK(msg.find("at most 1000000") != std::string::npos);
    CHECK(ds.size() == 0);
}

TEST_CASE("data and checkpoint paths that are directories, FIFOs or unreadable say so") {
    test::TempDir dir("vg_data_paths");
    fs::path root = dir.file("root");
    fs::create_directories(root / "cifar-10-batches-bin" / "test_batch.bin");  // a directory
    std::string msg = error_of([&] { load_cifar10(root, false); });
    CHECK(msg.find("test_batch.bin is a directory, not a file") != std::string::npos);
    CHECK(msg.find("not found") == std::string::npos);

    fs::create_directories(root / "fashion-mnist");
    fs::path fifo = root / "fashion-mnist" / "t10k-images-idx3-ubyte";
    REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
    msg = error_of([&] { load_fashion_mnist(root, false); });
    CHECK(msg.find("t10k-images-idx3-ubyte is not a regular file (a FIFO, socket or device)") !=
          std::string::npos);

    fs::remove(root / "cifar-10-batches-bin" / "test_batch.bin");
    fs::path locked = root / "cifar-10-batches-bin" / "test_batch.bin";
    std::ofstream(locked) << "x";
    fs::permissions(locked, fs::perms::owner_write);
    msg = test::as_unprivileged([&] { return error_of([&] { load_cifar10(root, false); }); });
    CHECK(msg.find("test_batch.bin cannot be opened (Permission denied)") != std::string::npos);

    // A run directory given where its checkpoint was meant.
    fs::create_directories(dir.file("run"));
    msg = error_of([&] { load_checkpoint(dir.file("run")); });
    CHECK(msg == "load_checkpoint: " + dir.file("run") + " is a directory, not a file");
    std::ofstream(dir.file("run/checkpoint.safetensors")) << "x";
    msg = error_of([&] { load_checkpoint(dir.file("run")); });
    CHECK(msg.find("Did you mean " + dir.file("run/checkpoint.safetensors") + "?") !=
          std::string::npos);
    // A file beyond any checkpoint's size is refused before it is read (sparse: no disk used).
    std::string huge = dir.file("huge.safetensors");
    std::ofstream(huge) << "";
    fs::resize_file(huge, kMaxCheckpointBytes + 1);
    msg = error_of([&] { load_checkpoint(huge); });
    CHECK(msg.find("more than the 68719476736 this reader accepts") != std::string::npos);
    fs::path ckpt_fifo = dir.file("fifo.safetensors");
    REQUIRE(::mkfifo(ckpt_fifo.c_str(), 0644) == 0);
    msg = error_of([&] { load_checkpoint(ckpt_fifo.string()); });  // would block in a read
    CHECK(msg.find("is not a regular file") != std::string::npos);
}
