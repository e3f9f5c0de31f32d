// Dataset: the common interface of the image datasets (uint8 CHW images + integer labels) and
// the per-dataset normalisation statistics.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace vg {

struct ImageShape {
    int c = 3, h = 32, w = 32;
    int64_t numel() const { return int64_t(c) * h * w; }
    bool operator==(const ImageShape&) const = default;
};

// An 8-bit image, channel-major: data[(c * h + y) * w + x].
struct ImageU8 {
    ImageShape shape;
    std::vector<uint8_t> data;

    ImageU8() = default;
    explicit ImageU8(ImageShape s, uint8_t fill = 0) : shape(s), data(size_t(s.numel()), fill) {}
    uint8_t* plane(int c) { return data.data() + int64_t(c) * shape.h * shape.w; }
    const uint8_t* plane(int c) const { return data.data() + int64_t(c) * shape.h * shape.w; }
    uint8_t& at(int c, int y, int x) { return data[(int64_t(c) * shape.h + y) * shape.w + x]; }
    uint8_t at(int c, int y, int x) const { return data[(int64_t(c) * shape.h + y) * shape.w + x]; }
};

struct Sample {
    ImageU8 image;
    int64_t label = 0;
};

// Per-channel mean/std of the [0, 1]-scaled pixels (only the first `c` entries are used).
struct NormStats {
    std::array<float, 3> mean{0.5f, 0.5f, 0.5f};
    std::array<float, 3> std{0.5f, 0.5f, 0.5f};
};

// Statistics of the training sets, as CCT (SHI-Labs/Compact-Transformers
// configs/datasets/cifar10.yml), Lee et al. 2021 and the structured-init code use them; the
// DeiT/ConViT code would normalise CIFAR with the ImageNet statistics.
inline NormStats cifar10_stats() {
    return {{0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}};
}
inline NormStats cifar100_stats() {
    return {{0.5071f, 0.4865f, 0.4409f}, {0.2673f, 0.2564f, 0.2762f}};
}
inline NormStats fashion_mnist_stats() {
    return {{0.2860f, 0.2860f, 0.2860f}, {0.3530f, 0.3530f, 0.3530f}};
}
// What the DeiT/ConViT code normalises every input with, CIFAR included (DeiT main.py's eval
// transform).
inline NormStats imagenet_stats() { return {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}}; }

class Dataset {
  public:
    virtual ~Dataset() = default;
    virtual std::string name() const = 0;  // "cifar10/train", used in messages and logs
    virtual int64_t size() const = 0;
    virtual int num_classes() const = 0;
    virtual const std::vector<std::string>& class_names() const = 0;
    virtual ImageShape image_shape() const = 0;
    virtual NormStats stats() const = 0;
    virtual int64_t label(int64_t i) const = 0;
    // Copies image i (uint8 CHW, image_shape().numel() bytes) into dst.
    virtual void read_image(int64_t i, uint8_t* dst) const = 0;

    Sample get(int64_t i) const;
};

// A dataset held entirely in memory (the CIFAR and Fashion-MNIST readers return this).
class InMemoryDataset : public Dataset {
  public:
    InMemoryDataset(std::string name, ImageShape shape, std::vector<std::string> class_names,
                    NormStats stats);
    // Appends one image (shape().numel() bytes, CHW) with its label.
    void add(const uint8_t* chw, int64_t label);
    void reserve(int64_t n);

    std::string name() const override { return name_; }
    int64_t size() const override { return int64_t(labels_.size()); }
    int num_classes() const override { return int(class_names_.size()); }
    const std::vector<std::string>& class_names() const override { return class_names_; }
    ImageShape image_shape() const override { return shape_; }
    NormStats stats() const override { return stats_; }
    int64_t label(int64_t i) const override;
    void read_image(int64_t i, uint8_t* dst) const override;
    const std::vector<int64_t>& labels() const { return labels_; }

  private:
    std::string name_;
    ImageShape shape_;
    std::vector<std::string> class_names_;
    NormStats stats_;
    std::vector<uint8_t> pixels_;
    std::vector<int64_t> labels_;
};

}  // namespace vg
