// Dataset helpers and the in-memory dataset.
#include "train/data/dataset.h"

#include <cstring>

#include "core/error.h"

namespace vg {

Sample Dataset::get(int64_t i) const {
    if (i < 0 || i >= size())
        fail("Dataset::get", "index {} out of range for {} ({} images)", i, name(), size());
    Sample s{ImageU8(image_shape()), label(i)};
    read_image(i, s.image.data.data());
    return s;
}

InMemoryDataset::InMemoryDataset(std::string name, ImageShape shape,
                                 std::vector<std::string> class_names, NormStats stats)
    : name_(std::move(name)), shape_(shape), class_names_(std::move(class_names)), stats_(stats) {}

void InMemoryDataset::reserve(int64_t n) {
    pixels_.reserve(size_t(n * shape_.numel()));
    labels_.reserve(size_t(n));
}

void InMemoryDataset::add(const uint8_t* chw, int64_t label) {
    if (label < 0 || label >= num_classes())
        fail("InMemoryDataset::add", "{}: label {} out of range [0, {})", name_, label,
             num_classes());
    pixels_.insert(pixels_.end(), chw, chw + shape_.numel());
    labels_.push_back(label);
}

int64_t InMemoryDataset::label(int64_t i) const {
    if (i < 0 || i >= size())
        fail("Dataset::label", "index {} out of range for {} ({} images)", i, name_, size());
    return labels_[size_t(i)];
}

void InMemoryDataset::read_image(int64_t i, uint8_t* dst) const {
    if (i < 0 || i >= size())
        fail("Dataset::read_image", "index {} out of range for {} ({} images)", i, name_, size());
    std::memcpy(dst, pixels_.data() + i * shape_.numel(), size_t(shape_.numel()));
}

}  // namespace vg
