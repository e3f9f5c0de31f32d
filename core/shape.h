// Shape: an inline, fixed-capacity list of extents or strides (no heap), and broadcasting rules.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "core/error.h"

namespace vg {

constexpr int kMaxDims = 8;

class Shape {
  public:
    Shape() = default;
    Shape(std::initializer_list<int64_t> v) { assign(v.begin(), v.end()); }
    explicit Shape(const std::vector<int64_t>& v) { assign(v.begin(), v.end()); }
    static Shape filled(int n, int64_t value) {
        Shape s;
        s.resize(n, value);
        return s;
    }

    int size() const { return n_; }
    bool empty() const { return n_ == 0; }
    int64_t& operator[](int i) { return d_[i]; }
    int64_t operator[](int i) const { return d_[i]; }
    int64_t back() const { return d_[n_ - 1]; }
    const int64_t* begin() const { return d_.data(); }
    const int64_t* end() const { return d_.data() + n_; }
    int64_t* begin() { return d_.data(); }
    int64_t* end() { return d_.data() + n_; }
    const int64_t* data() const { return d_.data(); }

    void push_back(int64_t v) {
        if (n_ >= kMaxDims) fail("Shape", "more than {} dimensions", kMaxDims);
        d_[n_++] = v;
    }
    void insert(int pos, int64_t v) {
        push_back(0);
        for (int i = n_ - 1; i > pos; --i) d_[i] = d_[i - 1];
        d_[pos] = v;
    }
    void erase(int pos) {
        for (int i = pos; i + 1 < n_; ++i) d_[i] = d_[i + 1];
        --n_;
    }
    void resize(int n, int64_t fill = 0) {
        if (n > kMaxDims) fail("Shape", "more than {} dimensions", kMaxDims);
        for (int i = n_; i < n; ++i) d_[i] = fill;
        n_ = n;
    }
    std::vector<int64_t> vec() const { return {begin(), end()}; }

    bool operator==(const Shape& o) const {
        return n_ == o.n_ && std::equal(begin(), end(), o.begin());
    }
    bool operator!=(const Shape& o) const { return !(*this == o); }

    int64_t numel() const {
        int64_t n = 1;
        for (int i = 0; i < n_; ++i) n *= d_[i];
        return n;
    }
    std::string str() const {
        std::string s = "[";
        for (int i = 0; i < n_; ++i) s += (i ? ", " : "") + std::to_string(d_[i]);
        return s + "]";
    }

  private:
    template <typename It>
    void assign(It b, It e) {
        for (; b != e; ++b) push_back(*b);
    }
    std::array<int64_t, kMaxDims> d_{};
    int n_ = 0;
};

// Row-major strides (in elements) of a contiguous tensor of this shape.
inline Shape contiguous_strides(const Shape& shape) {
    Shape s = Shape::filled(shape.size(), 1);
    for (int i = shape.size() - 2; i >= 0; --i)
        s[i] = s[i + 1] * std::max<int64_t>(shape[i + 1], 1);
    return s;
}

// Resolves a possibly negative dim against ndim, or throws naming the op.
inline int wrap_dim(int64_t dim, int ndim, const char* op) {
    int64_t lo = -std::max(ndim, 1), hi = std::max(ndim, 1) - 1;
    if (dim < lo || dim > hi)
        fail(op, "dim {} out of range for a tensor with {} dims (expected {}..{})", dim, ndim, lo,
             hi);
    return int(dim < 0 ? dim + std::max(ndim, 1) : dim);
}

// NumPy broadcasting of two shapes, or throws naming the op and both shapes.
inline Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
    int n = std::max(a.size(), b.size());
    Shape out = Shape::filled(n, 1);
    for (int i = 0; i < n; ++i) {
        int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
        int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
        if (da != db && da != 1 && db != 1)
            fail(op, "shapes {} and {} cannot be broadcast together (dim {}: {} vs {})", a.str(),
                 b.str(), i, da, db);
        out[i] = da == 1 ? db : da;
    }
    return out;
}

}  // namespace vg

template <>
struct fmt::formatter<vg::Shape> : fmt::formatter<std::string> {
    auto format(const vg::Shape& s, format_context& ctx) const {
        return fmt::formatter<std::string>::format(s.str(), ctx);
    }
};
