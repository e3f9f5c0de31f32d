// Tensor: a cheap handle to shape + strides (in elements) + offset over a shared Storage.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/shape.h"
#include "core/storage.h"

namespace vg {

struct AutogradMeta;  // autograd/node.h
class Generator;      // core/random.h

struct TensorImpl {
    std::shared_ptr<Storage> storage;
    Shape shape;
    Shape strides;       // in elements; 0 along broadcast (expanded) dims
    int64_t offset = 0;  // in elements
    DType dtype = DType::F32;
    std::shared_ptr<AutogradMeta> autograd;  // null until autograd needs it
};

// Observes the gradient flowing into a tensor during backward().
using GradHook = std::function<void(const class Tensor& grad)>;

class Tensor {
  public:
    Tensor() = default;
    explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

    // --- metadata --------------------------------------------------------------------------------
    bool defined() const { return impl_ != nullptr; }
    const Shape& shape() const { return impl().shape; }
    const Shape& strides() const { return impl().strides; }
    int dim() const { return shape().size(); }
    int64_t size(int64_t d) const;  // negative d counts from the end
    int64_t numel() const { return shape().numel(); }
    int64_t offset() const { return impl().offset; }
    DType dtype() const { return impl().dtype; }
    Device device() const { return impl().storage->device(); }
    bool is_contiguous() const;
    const std::shared_ptr<Storage>& storage() const { return impl().storage; }
    TensorImpl& impl() const;
    // Address of element [0, ..., 0]. Host-readable only on the CPU.
    void* raw_data() const;
    template <typename T>
    T* data() const;
    // A short description for error messages: "float32[2, 3] on cpu".
    std::string desc() const;

    // --- factories (core/tensor.cpp, core/random.cpp) --------------------------------------------
    static Tensor empty(const Shape& shape, DType dtype = DType::F32,
                        Device device = Device::cpu());
    static Tensor zeros(const Shape& shape, DType dtype = DType::F32,
                        Device device = Device::cpu());
    static Tensor ones(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
    static Tensor full(const Shape& shape, double value, DType dtype = DType::F32,
                       Device device = Device::cpu());
    static Tensor arange(int64_t n, DType dtype = DType::F32, Device device = Device::cpu());
    static Tensor from_vector(const std::vector<double>& values, const Shape& shape,
                              DType dtype = DType::F32, Device device = Device::cpu());
    static Tensor from_vector_i64(const std::vector<int64_t>& values, const Shape& shape,
                                  Device device = Device::cpu());
    static Tensor scalar(double value, DType dtype = DType::F32, Device device = Device::cpu());
    // Random factories draw from the global generator unless one is given.
    static Tensor rand(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu(),
                       Generator* gen = nullptr);  // U[0, 1)
    static Tensor randn(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu(),
                        Generator* gen = nullptr);  // N(0, 1)
    // N(mean, std^2) restricted to [a, b] (absolute bounds, as timm's trunc_normal_).
    static Tensor trunc_normal(const Shape& shape, double mean, double std, double a, double b,
                               DType dtype = DType::F32, Device device = Device::cpu(),
                               Generator* gen = nullptr);

    // --- element access (tests, debugging; copies from the device when needed) -------------------
    double item() const;                                  // one-element tensors
    double at(std::initializer_list<int64_t> idx) const;  // any dtype, read as double
    void set(std::initializer_list<int64_t> idx, double value);
    std::vector<double> to_vector() const;  // row-major values, any dtype
    std::vector<int64_t> to_vector_i64() const;
    std::string str(int max_per_dim = 6) const;

    // --- device / dtype movement ---------------------------------------------------------------
    Tensor to(Device device) const;  // no copy if already there
    Tensor to(DType dtype) const;    // no copy if already that dtype (not differentiable)
    Tensor cpu() const { return to(Device::cpu()); }
    Tensor clone() const;       // differentiable contiguous copy
    Tensor contiguous() const;  // itself when already contiguous

    // --- views: no data copied; differentiable (autograd/ops/views.cpp)
    // ---------------------------
    Tensor view(const Shape& shape) const;     // requires compatible strides; -1 infers one extent
    Tensor reshape(const Shape& shape) const;  // view when possible, else copies
    Tensor flatten(int64_t start = 0, int64_t end = -1) const;
    Tensor permute(const std::vector<int64_t>& dims) const;
    Tensor transpose(int64_t d0, int64_t d1) const;
    Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
    Tensor select(int64_t dim, int64_t index) const;  // narrow + squeeze
    Tensor expand(const Shape& shape) const;          // size-1 dims -> stride 0
    Tensor squeeze(int64_t dim) const;
    Tensor unsqueeze(int64_t dim) const;

    // --- in-place (only on tensors that do not require grad: optimisers, accumulation) ----------
    Tensor& fill_(double value);
    Tensor& copy_(const Tensor& src);  // same shape (or broadcastable), any strides and devices
    Tensor& add_(const Tensor& other, double alpha = 1.0);
    Tensor& mul_(double value);
    Tensor& zero_() { return fill_(0.0); }

    // --- autograd (autograd/tensor_autograd.cpp)
    // ---------------------------------------------------
    bool requires_grad() const;
    Tensor& requires_grad_(bool value = true);
    Tensor grad() const;  // undefined until a backward() reaches this tensor
    void set_grad(const Tensor& g) const;
    bool is_leaf() const;
    // Backward from this tensor. Without `grad` the tensor must hold one element.
    void backward(const Tensor& grad = {}, bool retain_graph = false) const;
    Tensor detach() const;  // same storage, no history
    // Keep .grad() for a non-leaf tensor after backward (study of intermediates).
    void retain_grad() const;
    // Call `hook` with the gradient flowing into this tensor during backward().
    void register_hook(GradHook hook) const;
    AutogradMeta* autograd_meta() const { return impl().autograd.get(); }
    AutogradMeta& ensure_autograd_meta() const;

  private:
    std::shared_ptr<TensorImpl> impl_;
};

// A new tensor viewing `base`'s storage with other metadata (the primitive under every view).
Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset);

// Throws if the tensors are not all on one device (naming the op and the devices).
void check_same_device(const char* op, std::initializer_list<const Tensor*> ts);
// Throws if the tensors do not share one dtype.
void check_same_dtype(const char* op, std::initializer_list<const Tensor*> ts);
// Throws if `t` requires grad while grad mode is on: in-place writes would silently invalidate
// values saved for backward (autograd/tensor_autograd.cpp).
void check_inplace(const Tensor& t, const char* op);
// Throws if `t` is undefined.
void check_defined(const char* op, const Tensor& t, const char* what = "input");

template <typename T>
T* Tensor::data() const {
    if (dtype_of<T>() != dtype())
        fail("Tensor::data", "requested {} but the tensor is {}", dtype_name(dtype_of<T>()),
             desc());
    return static_cast<T*>(raw_data());
}

}  // namespace vg

template <>
struct fmt::formatter<vg::Tensor> : fmt::formatter<std::string> {
    auto format(const vg::Tensor& t, format_context& ctx) const {
        return fmt::formatter<std::string>::format(t.str(), ctx);
    }
};
