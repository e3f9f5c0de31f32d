// Where the datasets live: the data-root resolution rule and the "how to get it" hints used in
// every missing/truncated-file error.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "train/data/dataset.h"

namespace vg {

// The command-line flag and environment variable that point vitgrad at the data root.
inline constexpr const char* kDataFlag = "--data-dir";
inline constexpr const char* kDataEnv = "VITGRAD_DATA";

// The data root, by the first rule that applies:
//   1. `explicit_root` when non-empty (the CLI flag), used as given even if it does not exist;
//   2. the environment variable VITGRAD_DATA when set and non-empty;
//   3. `../shared/data` relative to the current directory, when it exists;
//   4. `../shared/data` relative to any ancestor directory of the running executable (so a binary
//      in <repo>/build-x finds <repo>/../shared/data), when it exists;
//   5. otherwise `../shared/data` relative to the current directory (missing: readers then fail
//      with a message that explains how to get the data).
std::filesystem::path resolve_data_root(const std::string& explicit_root = "");

// Official download location and unpacked directory of each dataset.
struct DatasetSource {
    const char* name;    // "cifar10"
    const char* subdir;  // directory under the data root
    const char* url;     // official archive
    const char* unpack;  // one line on turning the archive into `subdir`
};
const DatasetSource& dataset_source(const std::string& name);  // cifar10, cifar100, fashion_mnist

// The tail of every data error: where to download `name`, where to put it and how to point at it.
std::string how_to_get(const std::string& name, const std::filesystem::path& root);

// Loads a dataset by name ("cifar10", "cifar100", "fashion_mnist") and split from the data root.
// `limit` > 0 keeps only the first `limit` records (smoke tests); files are still size-checked.
std::shared_ptr<InMemoryDataset> load_dataset(const std::string& name, bool train,
                                              const std::filesystem::path& root, int64_t limit = 0);

}  // namespace vg
