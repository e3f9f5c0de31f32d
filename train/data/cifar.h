// CIFAR-10 / CIFAR-100 readers for the official "binary version" files.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "train/data/dataset.h"

namespace vg {

// CIFAR-10 record: 1 label byte + 3072 pixels (1024 R, 1024 G, 1024 B; rows top to bottom).
// CIFAR-100 record: coarse label byte, fine label byte, then the same 3072 pixels.
inline constexpr int64_t kCifarPixels = 3072;
inline constexpr int64_t kCifar10Record = 1 + kCifarPixels;
inline constexpr int64_t kCifar100Record = 2 + kCifarPixels;
// The most records one file may hold (the official files hold 10000 or 50000); a bigger file is
// refused before anything is allocated.
inline constexpr int64_t kMaxCifarRecords = 1'000'000;

// Appends the records of one binary file to `ds`. `label_bytes` is 1 (CIFAR-10) or 2 (CIFAR-100)
// and `label_index` picks which of them is the label. The file must hold exactly
// `expected_records` records (any whole number up to kMaxCifarRecords when <= 0); `limit` > 0
// reads only that many.
// Errors name `what` (e.g. "cifar10"), the file, the expected size, and end with `hint`.
void read_cifar_file(const std::filesystem::path& file, int label_bytes, int label_index,
                     int64_t expected_records, int64_t limit, InMemoryDataset& ds,
                     const std::string& what, const std::string& hint);

// <root>/cifar-10-batches-bin/data_batch_{1..5}.bin (train, 50000) or test_batch.bin (10000).
// Class names come from batches.meta.txt when present. `limit` > 0 keeps the first records only.
std::shared_ptr<InMemoryDataset> load_cifar10(const std::filesystem::path& root, bool train,
                                              int64_t limit = 0);

// <root>/cifar-100-binary/train.bin (50000) or test.bin (10000); fine labels (100 classes) unless
// `coarse` (20 superclasses). Names come from {fine,coarse}_label_names.txt when present.
std::shared_ptr<InMemoryDataset> load_cifar100(const std::filesystem::path& root, bool train,
                                               int64_t limit = 0, bool coarse = false);

}  // namespace vg
