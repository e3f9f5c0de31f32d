// Tensor metadata, factories, element access, printing and device/dtype movement.
#include "core/tensor.h"

#include <cmath>

#include "core/dispatch.h"
#include "core/random.h"
#if VG_WITH_CUDA
#include "cuda/kernels.h"  // copy_across: the documented core -> cuda exception
#endif

namespace vg {

TensorImpl& Tensor::impl() const {
    if (!impl_) fail("Tensor", "use of an undefined tensor");
    return *impl_;
}

int64_t Tensor::size(int64_t d) const { return shape()[wrap_dim(d, dim(), "Tensor::size")]; }

bool Tensor::is_contiguous() const {
    const Shape& s = shape();
    int64_t expected = 1;
    for (int d = s.size() - 1; d >= 0; --d) {
        if (s[d] == 1) continue;
        if (strides()[d] != expected) return false;
        expected *= s[d];
    }
    return true;
}

void* Tensor::raw_data() const {
    return static_cast<char*>(storage()->data()) + offset() * int64_t(dtype_size(dtype()));
}

std::string Tensor::desc() const {
    if (!defined()) return "undefined";
    return fmt::format("{}{} on {}", dtype_name(dtype()), shape().str(), device().str());
}

Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset) {
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = base.storage();
    impl->shape = shape;
    impl->strides = strides;
    impl->offset = offset;
    impl->dtype = base.dtype();
    return Tensor(std::move(impl));
}

void check_defined(const char* op, const Tensor& t, const char* what) {
    if (!t.defined()) fail(op, "{} is an undefined tensor", what);
}

void check_same_device(const char* op, std::initializer_list<const Tensor*> ts) {
    const Tensor* first = nullptr;
    for (const Tensor* t : ts) {
        if (!t->defined()) continue;
        if (!first)
            first = t;
        else if (t->device() != first->device())
            fail(op, "tensors are on different devices: {} and {} (move one with .to())",
                 first->desc(), t->desc());
    }
}

void check_same_dtype(const char* op, std::initializer_list<const Tensor*> ts) {
    const Tensor* first = nullptr;
    for (const Tensor* t : ts) {
        if (!t->defined()) continue;
        if (!first)
            first = t;
        else if (t->dtype() != first->dtype())
            fail(op, "dtype mismatch: {} and {}", first->desc(), t->desc());
    }
}

// --- factories ----------------------------------------------------------------------------------

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
    for (int64_t e : shape)
        if (e < 0) fail("Tensor::empty", "negative extent in shape {}", shape.str());
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = std::make_shared<Storage>(size_t(shape.numel()) * dtype_size(dtype), device);
    impl->shape = shape;
    impl->strides = contiguous_strides(shape);
    impl->dtype = dtype;
    return Tensor(std::move(impl));
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
    Tensor t = empty(shape, dtype, device);
    t.fill_(value);
    return t;
}
Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
    return full(shape, 0.0, dtype, device);
}
Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) {
    return full(shape, 1.0, dtype, device);
}
Tensor Tensor::scalar(double value, DType dtype, Device device) {
    return full(Shape{}, value, dtype, device);
}

Tensor Tensor::arange(int64_t n, DType dtype, Device device) {
    Tensor t = empty(Shape{n}, dtype, device);
    VG_DISPATCH(device, arange, t);
    return t;
}

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype,
                           Device device) {
    if (int64_t(values.size()) != shape.numel())
        fail("Tensor::from_vector", "{} values given for shape {} ({} elements)", values.size(),
             shape.str(), shape.numel());
    Tensor host = empty(shape, dtype);
    dispatch_all(dtype, "Tensor::from_vector", [&]<typename T>() {
        T* p = host.data<T>();
        for (size_t i = 0; i < values.size(); ++i) p[i] = T(values[i]);
    });
    return host.to(device);
}

Tensor Tensor::from_vector_i64(const std::vector<int64_t>& values, const Shape& shape,
                               Device device) {
    if (int64_t(values.size()) != shape.numel())
        fail("Tensor::from_vector_i64", "{} values given for shape {} ({} elements)", values.size(),
             shape.str(), shape.numel());
    Tensor host = empty(shape, DType::I64);
    std::copy(values.begin(), values.end(), host.data<int64_t>());
    return host.to(device);
}

static Tensor random_tensor(const Shape& shape, DType dtype, Device device, Generator* gen,
                            const RandomParams& p) {
    Generator& g = gen ? *gen : default_generator();
    Tensor t = Tensor::empty(shape, dtype, device);
    if (!is_floating(dtype))
        fail("Tensor::rand", "random tensors must be float32 or float64, got {}",
             dtype_name(dtype));
    uint64_t offset = g.advance(uint64_t(shape.numel()));
    VG_DISPATCH(device, random_fill, t, p, g.seed(), offset);
    return t;
}

Tensor Tensor::rand(const Shape& shape, DType dtype, Device device, Generator* gen) {
    return random_tensor(shape, dtype, device, gen, {RandomKind::Uniform, 0, 1, 0, 1});
}
Tensor Tensor::randn(const Shape& shape, DType dtype, Device device, Generator* gen) {
    return random_tensor(shape, dtype, device, gen, {RandomKind::Normal, 0, 1, 0, 0});
}
Tensor Tensor::trunc_normal(const Shape& shape, double mean, double std, double a, double b,
                            DType dtype, Device device, Generator* gen) {
    if (!(a < b) || !(std > 0))
        fail("Tensor::trunc_normal", "needs a < b and std > 0 (got a={}, b={}, std={})", a, b, std);
    return random_tensor(shape, dtype, device, gen, {RandomKind::TruncNormal, mean, std, a, b});
}

// --- element access -----------------------------------------------------------------------------

namespace {
// Every element of t in row-major order, converted to Out, read on the host.
template <typename Out>
std::vector<Out> host_values(const Tensor& t, const char* op) {
    Tensor c = t.cpu().contiguous();
    std::vector<Out> out(size_t(c.numel()));
    dispatch_all(c.dtype(), op, [&]<typename T>() {
        const T* p = c.data<T>();
        for (size_t i = 0; i < out.size(); ++i) out[i] = Out(p[i]);
    });
    return out;
}
}  // namespace

std::vector<double> Tensor::to_vector() const {
    return host_values<double>(*this, "Tensor::to_vector");
}

std::vector<int64_t> Tensor::to_vector_i64() const {
    return host_values<int64_t>(*this, "Tensor::to_vector_i64");
}

double Tensor::item() const {
    if (numel() != 1) fail("Tensor::item", "needs a one-element tensor, got {}", desc());
    return to_vector()[0];
}

static int64_t element_offset(const Tensor& t, std::initializer_list<int64_t> idx, const char* op) {
    if (int(idx.size()) != t.dim())
        fail(op, "{} indices given for a tensor with {} dims ({})", idx.size(), t.dim(), t.desc());
    int64_t off = t.offset();
    int d = 0;
    for (int64_t i : idx) {
        if (i < 0 || i >= t.shape()[d])
            fail(op, "index {} out of range for dim {} of size {} ({})", i, d, t.shape()[d],
                 t.desc());
        off += i * t.strides()[d++];
    }
    return off;
}

double Tensor::at(std::initializer_list<int64_t> idx) const {
    Tensor host = device().is_cpu() ? *this : cpu();
    int64_t off = element_offset(host, idx, "Tensor::at");
    return dispatch_all(host.dtype(), "Tensor::at", [&]<typename T>() {
        return double(static_cast<const T*>(host.storage()->data())[off]);
    });
}

void Tensor::set(std::initializer_list<int64_t> idx, double value) {
    if (!device().is_cpu()) fail("Tensor::set", "element writes need a CPU tensor, got {}", desc());
    int64_t off = element_offset(*this, idx, "Tensor::set");
    dispatch_all(dtype(), "Tensor::set",
                 [&]<typename T>() { static_cast<T*>(storage()->data())[off] = T(value); });
}

std::string Tensor::str(int max_per_dim) const {
    if (!defined()) return "Tensor(undefined)";
    std::vector<double> v = to_vector();
    const Shape& s = shape();
    std::string out;
    // Recursive bracketed print, eliding the middle of long dims.
    auto rec = [&](auto&& self, int d, int64_t base) -> void {
        if (d == s.size()) {
            double x = v[size_t(base)];
            out += dtype() == DType::I64 ? fmt::format("{}", int64_t(x)) : fmt::format("{:.6g}", x);
            return;
        }
        int64_t stride = 1;
        for (int k = d + 1; k < s.size(); ++k) stride *= s[k];
        out += "[";
        for (int64_t i = 0; i < s[d]; ++i) {
            if (s[d] > max_per_dim && i == max_per_dim / 2) {
                out += "..., ";
                i = s[d] - max_per_dim / 2 - 1;
                continue;
            }
            self(self, d + 1, base + i * stride);
            if (i + 1 < s[d]) out += d + 1 == s.size() ? ", " : ",\n" + std::string(d + 1, ' ');
        }
        out += "]";
    };
    rec(rec, 0, 0);
    return fmt::format("Tensor({}, {})", out, desc());
}

// --- movement -----------------------------------------------------------------------------------

Tensor Tensor::to(Device target) const {
    if (device() == target) return *this;
    Tensor src = contiguous();
    Tensor dst = empty(shape(), dtype(), target);
#if VG_WITH_CUDA
    cuda::copy_across(src, dst);
#else
    fail("Tensor::to", "cannot move {} to {}: vitgrad was built without CUDA", desc(), target);
#endif
    return dst;
}

Tensor Tensor::to(DType target) const {
    if (dtype() == target) return *this;
    Tensor dst = empty(shape(), target, device());
    VG_DISPATCH(device(), copy, *this, dst);
    return dst;
}

// --- in-place -----------------------------------------------------------------------------------

Tensor& Tensor::fill_(double value) {
    check_inplace(*this, "Tensor::fill_");
    VG_DISPATCH(device(), fill, *this, value);
    return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
    check_inplace(*this, "Tensor::copy_");
    check_defined("Tensor::copy_", src, "source");
    Shape b = broadcast_shapes(src.shape(), shape(), "Tensor::copy_");
    if (b != shape())
        fail("Tensor::copy_", "source {} does not broadcast to destination {}", src.desc(), desc());
    Tensor s = src.device() == device() ? src : src.to(device());
    Tensor expanded = s.shape() == shape() ? s : s.detach().expand(shape());
    VG_DISPATCH(device(), copy, expanded, *this);
    return *this;
}

}  // namespace vg
