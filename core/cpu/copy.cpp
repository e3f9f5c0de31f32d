// CPU copy, fill, arange and random fill.
#include "core/cpu/loops.h"
#include "core/kernels.h"

namespace vg::cpu {

void copy(const Tensor& src, Tensor& dst) {
    dispatch_all(src.dtype(), "copy", [&]<typename S>() {
        dispatch_all(dst.dtype(), "copy", [&]<typename D>() {
            const S* s = static_cast<const S*>(src.storage()->data());
            D* d = static_cast<D*>(dst.storage()->data());
            for_each_row<2>(dst.shape(), {&src.strides(), &dst.strides()},
                            {src.offset(), dst.offset()},
                            [&](std::array<int64_t, 2> o, int64_t n, std::array<int64_t, 2> st) {
                                if (st[0] == 1 && st[1] == 1) {
                                    for (int64_t i = 0; i < n; ++i) d[o[1] + i] = D(s[o[0] + i]);
                                } else {
                                    for (int64_t i = 0; i < n; ++i)
                                        d[o[1] + i * st[1]] = D(s[o[0] + i * st[0]]);
                                }
                            });
        });
    });
}

void fill(Tensor& dst, double value) {
    dispatch_all(dst.dtype(), "fill", [&]<typename T>() {
        T* d = static_cast<T*>(dst.storage()->data());
        T v = T(value);
        for_each_row<1>(dst.shape(), {&dst.strides()}, {dst.offset()},
                        [&](std::array<int64_t, 1> o, int64_t n, std::array<int64_t, 1> st) {
                            for (int64_t i = 0; i < n; ++i) d[o[0] + i * st[0]] = v;
                        });
    });
}

void arange(Tensor& dst) {
    dispatch_all(dst.dtype(), "arange", [&]<typename T>() {
        T* d = dst.data<T>();
        for (int64_t i = 0; i < dst.numel(); ++i) d[i] = T(i);
    });
}

void random_fill(Tensor& dst, const RandomParams& p, uint64_t seed, uint64_t offset) {
    dispatch_float(dst.dtype(), "random_fill", [&]<typename T>() {
        T* d = dst.data<T>();
        parallel_for(dst.numel(), 4096, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) d[i] = T(random_value(p, seed, offset, uint64_t(i)));
        });
    });
}

}  // namespace vg::cpu
