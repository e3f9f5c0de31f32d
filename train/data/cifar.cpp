// CIFAR-10 / CIFAR-100 binary readers: whole files read once into memory, sizes checked first so
// a truncated download fails loudly instead of training on garbage.
#include "train/data/cifar.h"

#include <fstream>
#include <system_error>
#include <vector>

#include "core/error.h"
#include "train/data/data_paths.h"
#include "train/data/readable_file.h"

namespace vg {
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kCifar10Names = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                "dog",      "frog",       "horse", "ship", "truck"};

const std::vector<std::string> kCifar100Fine = {
    "apple",       "aquarium_fish", "baby",      "bear",       "beaver",       "bed",
    "bee",         "beetle",        "bicycle",   "bottle",     "bowl",         "boy",
    "bridge",      "bus",           "butterfly", "camel",      "can",          "castle",
    "caterpillar", "cattle",        "chair",     "chimpanzee", "clock",        "cloud",
    "cockroach",   "couch",         "crab",      "crocodile",  "cup",          "dinosaur",
    "dolphin",     "elephant",      "flatfish",  "forest",     "fox",          "girl",
    "hamster",     "house",         "kangaroo",  "keyboard",   "lamp",         "lawn_mower",
    "leopard",     "lion",          "lizard",    "lobster",    "man",          "maple_tree",
    "motorcycle",  "mountain",      "mouse",     "mushroom",   "oak_tree",     "orange",
    "orchid",      "otter",         "palm_tree", "pear",       "pickup_truck", "pine_tree",
    "plain",       "plate",         "poppy",     "porcupine",  "possum",       "rabbit",
    "raccoon",     "ray",           "road",      "rocket",     "rose",         "sea",
    "seal",        "shark",         "shrew",     "skunk",      "skyscraper",   "snail",
    "snake",       "spider",        "squirrel",  "streetcar",  "sunflower",    "sweet_pepper",
    "table",       "tank",          "telephone", "television", "tiger",        "tractor",
    "train",       "trout",         "tulip",     "turtle",     "wardrobe",     "whale",
    "willow_tree", "wolf",          "woman",     "worm"};

const std::vector<std::string> kCifar100Coarse = {"aquatic_mammals",
                                                  "fish",
                                                  "flowers",
                                                  "food_containers",
                                                  "fruit_and_vegetables",
                                                  "household_electrical_devices",
                                                  "household_furniture",
                                                  "insects",
                                                  "large_carnivores",
                                                  "large_man-made_outdoor_things",
                                                  "large_natural_outdoor_scenes",
                                                  "large_omnivores_and_herbivores",
                                                  "medium_mammals",
                                                  "non-insect_invertebrates",
                                                  "people",
                                                  "reptiles",
                                                  "small_mammals",
                                                  "trees",
                                                  "vehicles_1",
                                                  "vehicles_2"};

// Names from a one-per-line file when it holds exactly `fallback.size()` of them.
std::vector<std::string> read_names(const fs::path& file,
                                    const std::vector<std::string>& fallback) {
    // Only a regular file: opening a FIFO would block; a names file is a few KB.
    std::error_code ec;
    if (!unreadable_reason(file).empty() || fs::file_size(file, ec) > (1 << 20)) return fallback;
    std::ifstream in(file);
    if (!in) return fallback;
    std::vector<std::string> names;
    std::string line;
    while (std::getline(in, line)) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        if (!line.empty()) names.push_back(line);
    }
    return names.size() == fallback.size() ? names : fallback;
}

}  // namespace

void read_cifar_file(const fs::path& file, int label_bytes, int label_index,
                     int64_t expected_records, int64_t limit, InMemoryDataset& ds,
                     const std::string& what, const std::string& hint) {
    const int64_t rec = label_bytes + kCifarPixels;
    if (expected_records > kMaxCifarRecords)
        fail(what.c_str(), "{} records expected from {}: more than the {} a file may hold",
             expected_records, file.string(), kMaxCifarRecords);
    std::string expect =
        expected_records > 0
            ? fmt::format("{} bytes = {} records of {} bytes", expected_records * rec,
                          expected_records, rec)
            : fmt::format("a whole number of {}-byte records, at most {}", rec, kMaxCifarRecords);
    if (std::string why = unreadable_reason(file); !why.empty())
        fail(what.c_str(), "{} {} (expected {}). {}", file.string(), why, expect, hint);
    std::error_code ec;
    int64_t bytes = int64_t(fs::file_size(file, ec));
    if (ec) fail(what.c_str(), "cannot stat {}: {}. {}", file.string(), ec.message(), hint);
    bool ok = expected_records > 0
                  ? bytes == expected_records * rec
                  : (bytes > 0 && bytes % rec == 0 && bytes / rec <= kMaxCifarRecords);
    if (!ok)
        fail(what.c_str(),
             "{} has {} bytes but expected {}: truncated or not the binary version. {}",
             file.string(), bytes, expect, hint);
    int64_t n = bytes / rec;
    if (limit > 0 && limit < n) n = limit;

    std::ifstream in(file, std::ios::binary);
    std::vector<uint8_t> buf(size_t(n * rec));
    if (!in || !in.read(reinterpret_cast<char*>(buf.data()), std::streamsize(buf.size())))
        fail(what.c_str(), "failed reading {} records from {} (expected {}). {}", n, file.string(),
             expect, hint);
    ds.reserve(ds.size() + n);
    for (int64_t r = 0; r < n; ++r) {
        const uint8_t* p = buf.data() + r * rec;
        int64_t label = p[label_index];
        if (label >= ds.num_classes())
            fail(what.c_str(),
                 "{} record {} has label {} but there are {} classes: not the expected format. {}",
                 file.string(), r, label, ds.num_classes(), hint);
        ds.add(p + label_bytes, label);
    }
}

std::shared_ptr<InMemoryDataset> load_cifar10(const fs::path& root, bool train, int64_t limit) {
    fs::path dir = root / dataset_source("cifar10").subdir;
    auto ds = std::make_shared<InMemoryDataset>(
        train ? "cifar10/train" : "cifar10/test", ImageShape{3, 32, 32},
        read_names(dir / "batches.meta.txt", kCifar10Names), cifar10_stats());
    std::string hint = how_to_get("cifar10", root);
    std::vector<std::string> files;
    if (train)
        for (int b = 1; b <= 5; ++b) files.push_back("data_batch_" + std::to_string(b) + ".bin");
    else
        files.push_back("test_batch.bin");
    for (const auto& f : files) {
        int64_t left = limit > 0 ? limit - ds->size() : 0;
        if (limit > 0 && left <= 0) break;
        read_cifar_file(dir / f, 1, 0, 10000, left, *ds, "cifar10", hint);
    }
    return ds;
}

std::shared_ptr<InMemoryDataset> load_cifar100(const fs::path& root, bool train, int64_t limit,
                                               bool coarse) {
    fs::path dir = root / dataset_source("cifar100").subdir;
    auto names = coarse ? read_names(dir / "coarse_label_names.txt", kCifar100Coarse)
                        : read_names(dir / "fine_label_names.txt", kCifar100Fine);
    std::string nm =
        std::string("cifar100") + (coarse ? "-coarse" : "") + (train ? "/train" : "/test");
    auto ds = std::make_shared<InMemoryDataset>(nm, ImageShape{3, 32, 32}, std::move(names),
                                                cifar100_stats());
    read_cifar_file(dir / (train ? "train.bin" : "test.bin"), 2, coarse ? 0 : 1,
                    train ? 50000 : 10000, limit, *ds, "cifar100", how_to_get("cifar100", root));
    return ds;
}

}  // namespace vg
