// Class-balanced training subsets (ConViT Table 2's per-class fractions).
#include <algorithm>
#include <map>

#include "tests/helpers.h"
#include "tests/train/train_fixtures.h"
#include "train/data/subset.h"

using namespace vg;

namespace {

std::map<int64_t, int64_t> per_class(const Dataset& ds, const std::vector<int64_t>& idx) {
    std::map<int64_t, int64_t> n;
    for (int64_t i : idx) n[ds.label(i)]++;
    return n;
}

}  // namespace

TEST_CASE("train subset: class-balanced, seeded, and nested across fractions") {
    auto ds = test::synthetic_split("s", 400, 1);  // labels i % 4: 100 images per class
    std::vector<int64_t> a = balanced_subset(*ds, 0.1, 0);
    CHECK(a.size() == 40);
    for (auto [cls, n] : per_class(*ds, a)) CHECK(n == 10);
    CHECK(std::is_sorted(a.begin(), a.end()));
    CHECK(std::adjacent_find(a.begin(), a.end()) == a.end());
    CHECK(balanced_subset(*ds, 0.1, 0) == a);  // the same images for every run with this seed
    // A larger fraction with the same seed contains the smaller one.
    std::vector<int64_t> b = balanced_subset(*ds, 0.3, 0);
    CHECK(b.size() == 120);
    CHECK(std::includes(b.begin(), b.end(), a.begin(), a.end()));
    CHECK(balanced_subset(*ds, 0.1, 1) != a);
    CHECK(balanced_subset(*ds, 1.0, 5).size() == 400);
    // At least one image per class, however small the fraction.
    for (auto [cls, n] : per_class(*ds, balanced_subset(*ds, 0.001, 0))) CHECK(n == 1);
    // Not the first images of each class: over 200 seeds every image is drawn about
    // 0.1 * 200 = 20 times (binomial sd 4.2).
    std::vector<int> hits(400, 0);
    for (uint64_t seed = 0; seed < 200; ++seed)
        for (int64_t i : balanced_subset(*ds, 0.1, seed)) hits[size_t(i)]++;
    CHECK(*std::min_element(hits.begin(), hits.end()) >= 4);
    CHECK(*std::max_element(hits.begin(), hits.end()) <= 40);

    for (double bad : {0.0, -0.1, 1.5, std::nan("")})
        CHECK_THROWS_WITH_AS(balanced_subset(*ds, bad, 0),
                             doctest::Contains("train_fraction: the fraction must lie in (0, 1]"),
                             Error);
}

TEST_CASE("train subset: the view reads the parent's images and labels") {
    auto ds = test::synthetic_split("s/train", 40, 2);
    auto sub = train_subset(ds, 0.25, 3);
    auto* view = dynamic_cast<SubsetDataset*>(sub.get());
    REQUIRE(view != nullptr);
    CHECK(sub->size() == 12);  // round(0.25 * 10) = 3 per class (2.5 rounds away from zero)
    CHECK(sub->name() == "s/train[25% per class, subset seed 3]");
    std::vector<uint8_t> a(size_t(ds->image_shape().numel())), b(a.size());
    for (int64_t i = 0; i < sub->size(); ++i) {
        const int64_t p = view->indices()[size_t(i)];
        CHECK(sub->label(i) == ds->label(p));
        sub->read_image(i, a.data());
        ds->read_image(p, b.data());
        CHECK(a == b);
    }
    CHECK(train_subset(ds, 1.0, 3) == ds);  // the whole set is the set itself
    CHECK_THROWS_WITH_AS(sub->label(12), doctest::Contains("out of range"), Error);
}
