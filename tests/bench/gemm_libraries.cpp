// The CPU GEMM libraries Debian packages, side by side on vitgrad's shapes: single-precision
// row-major GEMMs through Eigen, OpenBLAS, oneDNN or BLIS (one library per build, chosen by a
// macro), 2048^3 and the Ti/4 batch-64 linear-layer shapes, plus the FMA peak of a register loop.
// Not part of the build; docs/dependencies.md gives the numbers and why oneDNN was chosen.
//
//   F="-O3 -march=native -fopenmp -std=c++20"; S=tests/bench/gemm_libraries.cpp
//   g++ $F -DUSE_EIGEN -I/usr/include/eigen3 $S -o /tmp/gemm_eigen
//   g++ $F -DUSE_DNNL $S -o /tmp/gemm_onednn -ldnnl
//   g++ $F -DUSE_CBLAS -I/usr/include/x86_64-linux-gnu/openblas-openmp $S -o /tmp/gemm_openblas \
//       -L/usr/lib/x86_64-linux-gnu/openblas-openmp -lopenblas \
//       -Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-openmp
//   g++ $F -DUSE_CBLAS -I/usr/include/x86_64-linux-gnu/blis-openmp $S -o /tmp/gemm_blis \
//       -L/usr/lib/x86_64-linux-gnu/blis-openmp -lblis \
//       -Wl,-rpath,/usr/lib/x86_64-linux-gnu/blis-openmp
//   for l in eigen onednn openblas blis; do OMP_NUM_THREADS=2 BLIS_NUM_THREADS=2 \
//       OPENBLAS_CORETYPE=SkylakeX /tmp/gemm_$l; done
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>
#if defined(USE_EIGEN)
#include <Eigen/Core>
#elif defined(USE_DNNL)
#include <dnnl.h>
#else
#include <cblas.h>
#endif

namespace {

using Clock = std::chrono::steady_clock;

// Row-major C [M, N] = op(A) op(B); a transposed A is stored [K, M], a transposed B [N, K].
void gemm(bool ta, bool tb, int M, int N, int K, const float* A, const float* B, float* C) {
#if defined(USE_EIGEN)
    using RM = Eigen::Matrix<float, -1, -1, Eigen::RowMajor>;
    using CM = Eigen::Matrix<float, -1, -1, Eigen::ColMajor>;
    Eigen::Map<RM> c(C, M, N);
    if (!ta && !tb) c.noalias() = Eigen::Map<const RM>(A, M, K) * Eigen::Map<const RM>(B, K, N);
    if (ta && !tb) c.noalias() = Eigen::Map<const CM>(A, M, K) * Eigen::Map<const RM>(B, K, N);
    if (!ta && tb) c.noalias() = Eigen::Map<const RM>(A, M, K) * Eigen::Map<const CM>(B, K, N);
    if (ta && tb) c.noalias() = Eigen::Map<const CM>(A, M, K) * Eigen::Map<const CM>(B, K, N);
#elif defined(USE_DNNL)
    dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, 1.f, A, ta ? M : K, B, tb ? K : N, 0.f, C,
               N);
#else
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N,
                K, 1.f, A, ta ? M : K, B, tb ? K : N, 0.f, C, N);
#endif
}

// Twelve independent AVX-512 FMA chains per thread; the empty asm keeps the compiler from merging
// the (identical) chains.
double fma_peak() {
    double best = 0;
    const long iters = 20'000'000;
    for (int r = 0; r < 5; ++r) {
        auto t0 = Clock::now();
#pragma omp parallel
        {
            __m512 a[12];
            for (int j = 0; j < 12; ++j) a[j] = _mm512_set1_ps(float(j));
            const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
            for (long i = 0; i < iters; ++i) {
                for (int j = 0; j < 12; ++j) a[j] = _mm512_fmadd_ps(a[j], x, y);
                asm volatile(""
                             : "+v"(a[0]), "+v"(a[1]), "+v"(a[2]), "+v"(a[3]), "+v"(a[4]),
                               "+v"(a[5]), "+v"(a[6]), "+v"(a[7]), "+v"(a[8]), "+v"(a[9]),
                               "+v"(a[10]), "+v"(a[11]));
            }
            __m512 s = a[0];
            for (int j = 1; j < 12; ++j) s = _mm512_add_ps(s, a[j]);
            volatile float sink = _mm512_reduce_add_ps(s);
            (void)sink;
        }
        double dt = std::chrono::duration<double>(Clock::now() - t0).count();
        best = std::max(best, omp_get_max_threads() * iters * 12.0 * 32 / dt / 1e9);
    }
    return best;
}

struct Shape {
    const char* name;
    bool ta, tb;
    int M, N, K;
};

}  // namespace

int main() {
    std::printf("FMA peak %.0f GFLOP/s (%d threads)\n", fma_peak(), omp_get_max_threads());
    const int R = 4160;  // batch 64 x 65 tokens
    const Shape shapes[] = {
        {"2048^3", false, false, 2048, 2048, 2048}, {"qkv fwd", false, true, R, 576, 192},
        {"fc1 fwd", false, true, R, 768, 192},      {"fc2 fwd", false, true, R, 192, 768},
        {"proj fwd", false, true, R, 192, 192},     {"qkv dX", false, false, R, 192, 576},
        {"fc1 dX", false, false, R, 192, 768},      {"fc2 dX", false, false, R, 768, 192},
        {"qkv dW", true, false, 576, 192, R},       {"fc1 dW", true, false, 768, 192, R},
        {"fc2 dW", true, false, 192, 768, R}};
    for (const Shape& s : shapes) {
        std::vector<float> A(size_t(s.M) * s.K), B(size_t(s.K) * s.N, 0.25f), C(size_t(s.M) * s.N);
        for (size_t i = 0; i < A.size(); ++i) A[i] = float(i % 13) * 0.01f;
        double best = 1e9;
        for (int r = 0; r < 12; ++r) {
            auto t0 = Clock::now();
            gemm(s.ta, s.tb, s.M, s.N, s.K, A.data(), B.data(), C.data());
            best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
        }
        std::printf("%-9s %5dx%5dx%5d %8.3f ms %6.0f GFLOP/s\n", s.name, s.M, s.N, s.K, best * 1e3,
                    2.0 * s.M * s.N * s.K / best / 1e9);
    }
}
