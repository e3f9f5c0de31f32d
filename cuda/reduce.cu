// The CUDA reduction kernels, one set for every functor of VG_REDUCTIONS (core/reductions.h): x is
// a contiguous [O, R, I] view reduced over R. Every path folds in an order fixed by the shape, so a
// result is the same on every run (no atomics):
// - long rows (I == 1, R >= kRowBlock): a block per (row, chunk); rows of few outputs (a whole
//   tensor: one output, millions of inputs) are cut into up to kMaxChunks chunks whose partial
//   accumulators a second kernel combines in chunk order;
// - few outputs over many rows (bias gradients: [B*N, C] -> [C]): the rows are split, each split
//   folds a tile of columns, and a second kernel combines the splits in order;
// - otherwise one thread per output, neighbouring threads on neighbouring columns.
#include "cuda/kernels.h"
#include "cuda/launch.cuh"
#include "cuda/reduce.cuh"

namespace vg::cuda {

namespace {

constexpr int kRowBlock = 256;
constexpr int64_t kMinChunk = 16 * kRowBlock;  // inputs per chunk, at least
constexpr int64_t kMaxChunks = 1024;
constexpr int64_t kFewRows = 1024;      // rows are cut into chunks only below this many
constexpr int kColTile = 32;            // split path: columns per block (one per lane)
constexpr int kRowLanes = 8;            // split path: rows walked in parallel per block
constexpr int64_t kRowsPerSplit = 256;  // split path: rows per split, at least
constexpr int64_t kMaxSplits = 64;
constexpr int64_t kSplitOutputs = 8192;  // split path only below this many outputs (O * I)

template <typename F, typename T>
using AccOf = typename F::template Acc<T>;

template <typename F, typename T>
__device__ void write(AccOf<F, T> a, int64_t R, int64_t c, T* y, int64_t* index) {
    y[c] = F::finalize(a, R);
    if constexpr (F::grad == ReduceGrad::Select) index[c] = a.index;
}

// Block b folds chunk (b % chunks) of row (b / chunks); with one chunk it writes the output,
// otherwise the partial accumulator partial[b].
template <typename F, typename T>
__global__ void reduce_rows_kernel(const T* x, int64_t R, int64_t chunk, int64_t chunks,
                                   AccOf<F, T>* partial, T* y, int64_t* index) {
    int64_t b = blockIdx.x, o = b / chunks, r0 = (b % chunks) * chunk;
    int64_t r1 = r0 + chunk < R ? r0 + chunk : R;
    const T* row = x + o * R;
    AccOf<F, T> acc = F::template init<T>();
    for (int64_t r = r0 + threadIdx.x; r < r1; r += blockDim.x) acc = F::step(acc, row[r], r);
    acc = block_reduce<F, T>(acc);
    if (threadIdx.x != 0) return;
    if (chunks == 1)
        write<F>(acc, R, o, y, index);
    else
        partial[b] = acc;
}

// Output o from its `parts` partial accumulators partial[o * parts + k], combined in order of k
// by one block (a fixed tree over the block's threads).
template <typename F, typename T>
__global__ void combine_parts_kernel(const AccOf<F, T>* partial, int64_t parts, int64_t R, T* y,
                                     int64_t* index) {
    int64_t o = blockIdx.x;
    AccOf<F, T> acc = F::template init<T>();
    for (int64_t k = threadIdx.x; k < parts; k += blockDim.x)
        acc = F::combine(acc, partial[o * parts + k]);
    acc = block_reduce<F, T>(acc);
    if (threadIdx.x == 0) write<F>(acc, R, o, y, index);
}

// One thread per output c = (o, i): folds x[o, :, i] in order.
template <typename F, typename T>
__global__ void reduce_columns_kernel(const T* x, int64_t O, int64_t R, int64_t I, T* y,
                                      int64_t* index) {
    VG_GRID_STRIDE_LOOP(c, O * I) {
        int64_t o = c / I, i = c - o * I;
        const T* p = x + o * R * I + i;
        AccOf<F, T> acc = F::template init<T>();
        for (int64_t r = 0; r < R; ++r) acc = F::step(acc, p[r * I], r);
        write<F>(acc, R, c, y, index);
    }
}

// partial[s, o, i] = the fold of x[o, r, i] over the rows r of split s.
// Block (kColTile, kRowLanes); grid (column tiles, O, splits).
template <typename F, typename T>
__global__ void reduce_split_kernel(const T* x, int64_t R, int64_t I, int64_t per_split,
                                    AccOf<F, T>* partial) {
    __shared__ AccOf<F, T> tile[kRowLanes][kColTile + 1];
    int64_t i = int64_t(blockIdx.x) * kColTile + threadIdx.x;
    int64_t o = blockIdx.y, s = blockIdx.z, O = gridDim.y;
    int64_t r0 = s * per_split, r1 = r0 + per_split < R ? r0 + per_split : R;
    AccOf<F, T> acc = F::template init<T>();
    if (i < I)
        for (int64_t r = r0 + threadIdx.y; r < r1; r += kRowLanes)
            acc = F::step(acc, x[(o * R + r) * I + i], r);
    tile[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && i < I) {
        for (int k = 1; k < kRowLanes; ++k) acc = F::combine(acc, tile[k][threadIdx.x]);
        partial[(s * O + o) * I + i] = acc;
    }
}

// Output c of n = O * I from the splits partial[s, c], combined in split order.
template <typename F, typename T>
__global__ void combine_splits_kernel(const AccOf<F, T>* partial, int64_t splits, int64_t n,
                                      int64_t R, T* y, int64_t* index) {
    VG_GRID_STRIDE_LOOP(c, n) {
        AccOf<F, T> acc = partial[c];
        for (int64_t s = 1; s < splits; ++s) acc = F::combine(acc, partial[s * n + c]);
        write<F>(acc, R, c, y, index);
    }
}

// dx[o, r, i] = dy[o, i] * derivative(x[o, r, i], y[o, i], R), or dy[o, i] where r is selected.
template <typename F, typename T>
__global__ void reduce_bwd_kernel(const T* x, const T* y, const int64_t* index, const T* dy,
                                  int64_t O, int64_t R, int64_t I, T* dx) {
    VG_GRID_STRIDE_LOOP(e, O * R * I) {
        int64_t i = e % I, orow = e / I, o = orow / R, r = orow - o * R;
        int64_t c = o * I + i;
        if constexpr (F::grad == ReduceGrad::Select)
            dx[e] = index[c] == r ? dy[c] : T(0);
        else
            dx[e] = dy[c] * F::derivative(x[e], y[c], R);
    }
}

// Device scratch for `count` partial accumulators (from the caching allocator, as any tensor).
template <typename A>
Tensor scratch(int64_t count, Device device) {
    static_assert(sizeof(A) % 8 == 0 || 8 % sizeof(A) == 0);
    return Tensor::empty({ceil_div(count * int64_t(sizeof(A)), 8)}, DType::I64, device);
}

}  // namespace

void reduce_fwd(ReduceOp op, const Tensor& x, int64_t O, int64_t R, int64_t I, Tensor& y,
                Tensor& index) {
    if (O * I == 0) return;
    const char* name = op_name(op).data();
    int dev = x.device().index;
    dispatch_float(x.dtype(), name, [&]<typename T>() {
        visit_reduction(op, [&]<typename F>() {
            using A = AccOf<F, T>;
            const T* xs = dev_ptr<T>(x);
            T* ys = dev_ptr<T>(y);
            int64_t* is = index.defined() ? dev_ptr<int64_t>(index) : nullptr;
            if (I == 1 && R >= kRowBlock) {
                int64_t chunks =
                    O < kFewRows ? std::min(kMaxChunks, std::max<int64_t>(1, R / kMinChunk)) : 1;
                int64_t chunk = ceil_div(R, chunks);
                chunks = ceil_div(R, chunk);
                VG_CHECK(O * chunks < (int64_t(1) << 31), name, "too many rows ({}) for one launch",
                         O);
                Tensor part = chunks > 1 ? scratch<A>(O * chunks, x.device()) : Tensor();
                A* ps = chunks > 1 ? reinterpret_cast<A*>(part.raw_data()) : nullptr;
                launch(name, "reduce_rows_kernel", reduce_rows_kernel<F, T>, unsigned(O * chunks),
                       kRowBlock, 0, dev, xs, R, chunk, chunks, ps, ys, is);
                if (chunks > 1)
                    launch(name, "combine_parts_kernel", combine_parts_kernel<F, T>, unsigned(O),
                           kRowBlock, 0, dev, ps, chunks, R, ys, is);
            } else if (O * I <= kSplitOutputs && R >= 2 * kRowsPerSplit) {
                int64_t splits = std::min(kMaxSplits, ceil_div(R, kRowsPerSplit));
                int64_t per_split = ceil_div(R, splits);
                splits = ceil_div(R, per_split);
                Tensor part = scratch<A>(splits * O * I, x.device());
                A* ps = reinterpret_cast<A*>(part.raw_data());
                dim3 grid(unsigned(ceil_div(I, kColTile)), unsigned(O), unsigned(splits));
                launch(name, "reduce_split_kernel", reduce_split_kernel<F, T>, grid,
                       dim3(kColTile, kRowLanes), 0, dev, xs, R, I, per_split, ps);
                launch(name, "combine_splits_kernel", combine_splits_kernel<F, T>, grid_for(O * I),
                       kBlock, 0, dev, ps, splits, O * I, R, ys, is);
            } else {
                launch(name, "reduce_columns_kernel", reduce_columns_kernel<F, T>, grid_for(O * I),
                       kBlock, 0, dev, xs, O, R, I, ys, is);
            }
        });
    });
}

void reduce_bwd(ReduceOp op, const Tensor& x, const Tensor& y, const Tensor& index,
                const Tensor& dy, int64_t O, int64_t R, int64_t I, Tensor& dx) {
    int64_t n = O * R * I;
    if (n == 0) return;
    const char* name = op_name(op).data();
    dispatch_float(dx.dtype(), name, [&]<typename T>() {
        visit_reduction(op, [&]<typename F>() {
            bool select = F::grad == ReduceGrad::Select;
            launch(name, "reduce_bwd_kernel", reduce_bwd_kernel<F, T>, grid_for(n), kBlock, 0,
                   dx.device().index, select ? nullptr : dev_ptr<T>(x),
                   select ? nullptr : dev_ptr<T>(y), select ? dev_ptr<int64_t>(index) : nullptr,
                   dev_ptr<T>(dy), O, R, I, dev_ptr<T>(dx));
        });
    });
}

}  // namespace vg::cuda
