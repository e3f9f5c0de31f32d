// Class-balanced subsets.
#include "train/data/subset.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/random.h"

namespace vg {

namespace {

// A seeded permutation of 0..n-1 (Fisher-Yates; draw t uses Philox counter (t, class, tag)).
std::vector<int64_t> class_permutation(int64_t n, uint64_t seed, int64_t cls) {
    std::vector<int64_t> perm(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) perm[size_t(i)] = i;
    const uint64_t key = seed * 0x9E3779B97F4A7C15ull + 0x5355u /* "SU" */;
    for (int64_t i = n - 1; i > 0; --i) {
        Philox4 w = philox4x32(key, uint32_t(i), uint32_t(cls), 0x5355u, 0);
        int64_t j = int64_t(uniform01(w.v[0], w.v[1]) * double(i + 1));
        std::swap(perm[size_t(i)], perm[size_t(std::min(j, i))]);
    }
    return perm;
}

}  // namespace

std::vector<int64_t> balanced_subset(const Dataset& ds, double fraction, uint64_t seed) {
    if (!(fraction > 0.0 && fraction <= 1.0))
        fail("train_fraction", "the fraction must lie in (0, 1], got {}", fraction);
    std::vector<std::vector<int64_t>> by_class(size_t(ds.num_classes()));
    for (int64_t i = 0; i < ds.size(); ++i) by_class[size_t(ds.label(i))].push_back(i);
    std::vector<int64_t> out;
    for (size_t c = 0; c < by_class.size(); ++c) {
        const std::vector<int64_t>& members = by_class[c];
        const int64_t n = int64_t(members.size());
        if (n == 0) continue;
        int64_t keep = std::clamp<int64_t>(std::llround(fraction * double(n)), 1, n);
        std::vector<int64_t> perm = class_permutation(n, seed, int64_t(c));
        for (int64_t r = 0; r < keep; ++r) out.push_back(members[size_t(perm[size_t(r)])]);
    }
    std::sort(out.begin(), out.end());
    return out;
}

SubsetDataset::SubsetDataset(std::shared_ptr<const Dataset> parent, std::vector<int64_t> indices,
                             std::string name)
    : parent_(std::move(parent)), indices_(std::move(indices)), name_(std::move(name)) {
    if (!parent_) fail("SubsetDataset", "no parent dataset");
    for (int64_t i : indices_)
        if (i < 0 || i >= parent_->size())
            fail("SubsetDataset", "index {} out of range for {} ({} images)", i, parent_->name(),
                 parent_->size());
}

int64_t SubsetDataset::parent_index(int64_t i) const {
    if (i < 0 || i >= size())
        fail("SubsetDataset", "index {} out of range for {} ({} images)", i, name_, size());
    return indices_[size_t(i)];
}

std::shared_ptr<Dataset> train_subset(std::shared_ptr<Dataset> ds, double fraction, uint64_t seed) {
    std::vector<int64_t> idx = balanced_subset(*ds, fraction, seed);
    if (fraction == 1.0) return ds;
    std::string name =
        fmt::format("{}[{:g}% per class, subset seed {}]", ds->name(), 100.0 * fraction, seed);
    return std::make_shared<SubsetDataset>(std::move(ds), std::move(idx), std::move(name));
}

}  // namespace vg
