// Fashion-MNIST reader for the uncompressed IDX files (big-endian headers; magic 0x00000803 for
// images, 0x00000801 for labels).
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>

#include "train/data/dataset.h"

namespace vg {

// Reads an IDX image file + label file pair (1x28x28 uint8 images, labels 0..9) into a dataset.
// `expected` > 0 is the record count both files must hold; `limit` > 0 keeps the first records.
std::shared_ptr<InMemoryDataset> read_idx_pair(const std::filesystem::path& images,
                                               const std::filesystem::path& labels,
                                               int64_t expected, int64_t limit,
                                               const std::string& name, const std::string& hint);

// <root>/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte (60000 train, 10000 test).
std::shared_ptr<InMemoryDataset> load_fashion_mnist(const std::filesystem::path& root, bool train,
                                                    int64_t limit = 0);

}  // namespace vg
