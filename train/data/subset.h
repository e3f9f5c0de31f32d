// A class-balanced, seeded fraction of a dataset: the training subsets of ConViT's
// sample-efficiency study (d'Ascoli et al. 2021, Table 2: a per-class fraction f of the data).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "train/data/dataset.h"

namespace vg {

// The indices (ascending) of round(fraction * n_c) images of every class c, at least one per
// present class. Each class's images are ranked by a permutation that depends only on
// (seed, class, n_c), and the first ones are taken, so with one seed a smaller fraction's subset
// is contained in a larger one's, and every model trained with that seed sees the same images.
// fraction must lie in (0, 1]; 1 returns every index.
std::vector<int64_t> balanced_subset(const Dataset& ds, double fraction, uint64_t seed);

// A view of chosen images of another dataset (nothing copied).
class SubsetDataset : public Dataset {
  public:
    SubsetDataset(std::shared_ptr<const Dataset> parent, std::vector<int64_t> indices,
                  std::string name);

    std::string name() const override { return name_; }
    int64_t size() const override { return int64_t(indices_.size()); }
    int num_classes() const override { return parent_->num_classes(); }
    const std::vector<std::string>& class_names() const override { return parent_->class_names(); }
    ImageShape image_shape() const override { return parent_->image_shape(); }
    NormStats stats() const override { return parent_->stats(); }
    int64_t label(int64_t i) const override { return parent_->label(parent_index(i)); }
    void read_image(int64_t i, uint8_t* dst) const override {
        parent_->read_image(parent_index(i), dst);
    }
    const std::vector<int64_t>& indices() const { return indices_; }

  private:
    int64_t parent_index(int64_t i) const;
    std::shared_ptr<const Dataset> parent_;
    std::vector<int64_t> indices_;
    std::string name_;
};

// `ds` itself when fraction is 1, else a SubsetDataset of balanced_subset(ds, fraction, seed)
// named e.g. "cifar10/train[10% per class, subset seed 0]".
std::shared_ptr<Dataset> train_subset(std::shared_ptr<Dataset> ds, double fraction, uint64_t seed);

}  // namespace vg
