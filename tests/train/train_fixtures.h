// Shared fixtures of the training tests: a temporary directory, a tiny synthetic image dataset
// and a matching tiny training configuration, file and error helpers, and running a check as an
// unprivileged user.
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "core/error.h"
#include "core/random.h"
#include "train/data/dataset.h"
#include "train/run/config.h"
#include "train/run/trainer.h"

namespace vg::test {

// A fresh directory under the system temp dir, removed with its contents at scope exit.
class TempDir {
  public:
    explicit TempDir(const std::string& stem)
        : path_(std::filesystem::temp_directory_path() /
                (stem + "_" + std::to_string(::getpid()))) {
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

  private:
    std::filesystem::path path_;
};

// 8x8 RGB images of 4 classes: a class-dependent brightness per channel plus seeded noise.
// The whole file as text ("" when it cannot be read).
inline std::string read_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

// The message of the vg::Error `f` throws, or "" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

// What `f` returns when run by an unprivileged user (uid/gid 65534) in a child process: root may
// open any file, so permission errors are only observable that way. Returns f() directly when
// this process is not root, and "(could not drop privileges)" when the child cannot.
inline std::string as_unprivileged(const std::function<std::string()>& f) {
    if (::geteuid() != 0) return f();
    int fds[2];
    if (::pipe(fds) != 0) return "(pipe failed)";
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(fds[0]);
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) {
            const char msg[] = "(could not drop privileges)";
            (void)!::write(fds[1], msg, sizeof msg - 1);
            ::_exit(0);
        }
        std::string r = f();
        (void)!::write(fds[1], r.data(), r.size());
        ::_exit(0);
    }
    ::close(fds[1]);
    std::string r;
    char buf[512];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) r.append(buf, size_t(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return r;
}

inline std::shared_ptr<InMemoryDataset> synthetic_split(const std::string& name, int64_t n,
                                                        uint64_t seed) {
    ImageShape s{3, 8, 8};
    auto ds = std::make_shared<InMemoryDataset>(
        name, s, std::vector<std::string>{"a", "b", "c", "d"}, NormStats{});
    Generator g(seed);
    std::vector<double> noise =
        Tensor::rand({n, s.numel()}, DType::F64, Device::cpu(), &g).to_vector();
    std::vector<uint8_t> img(size_t(s.numel()));
    for (int64_t i = 0; i < n; ++i) {
        int64_t label = i % 4;
        for (int64_t j = 0; j < s.numel(); ++j) {
            int64_t c = j / 64;
            double v =
                40.0 + 50.0 * double((label + c) % 4) + 60.0 * noise[size_t(i * s.numel() + j)];
            img[size_t(j)] = uint8_t(std::min(255.0, v));
        }
        ds->add(img.data(), label);
    }
    return ds;
}

inline TrainData synthetic_data() {
    return {synthetic_split("synthetic/train", 64, 1), synthetic_split("synthetic/test", 32, 2)};
}

// The smallest registry ConViT on the synthetic data; every random source is on (dropout aside):
// drop_path, RandAugment, erasing, mixup/cutmix, and the EMA is kept.
inline TrainConfig tiny_config(const std::string& output_dir) {
    TrainConfig c;
    c.model = "convit_cifar_micro";
    c.dataset = "synthetic";
    c.output_dir = output_dir;
    c.epochs = 2;
    c.batch_size = 16;
    c.lr = 1e-3;
    c.warmup_epochs = 0;
    c.seed = 3;
    c.workers = 1;
    c.ema = true;
    c.ema_decay = 0.9;
    c.quiet = true;
    return c;
}

}  // namespace vg::test
