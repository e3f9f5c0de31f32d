// Module: a tree of named parameters, buffers and child modules, with train/eval mode, device and
// dtype moves, and state dicts whose dotted names match timm's ("blocks.3.attn.qk.weight").
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace vg::nn {

using StateDict = std::map<std::string, Tensor>;
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
  public:
    Module() = default;
    virtual ~Module() = default;
    // Parameters are registered by address, so a module never moves once built.
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;

    // --- mode ------------------------------------------------------------------------------------
    void train(bool on = true);  // recursive
    void eval() { train(false); }
    bool is_training() const { return training_; }

    // --- parameters and buffers ------------------------------------------------------------------
    // In registration order, children after own tensors, each name prefixed by its path.
    NamedTensors named_parameters() const;
    std::vector<Tensor> parameters() const;
    NamedTensors named_buffers() const;
    int64_t num_parameters() const;
    // Clears gradients in place (the buffers are kept, filled with zeros).
    void zero_grad();

    // Moves every parameter and buffer; parameters stay leaves that require grad.
    void to(Device device);
    void to(DType dtype);

    // --- state dicts -----------------------------------------------------------------------------
    StateDict state_dict() const;  // parameters + buffers, sharing storage with the module
    // Copies values in. Every name, shape and dtype is checked first; with `strict` missing and
    // unexpected names are errors too. One vg::Error lists every problem at once.
    void load_state_dict(const StateDict& sd, bool strict = true);
    // safetensors checkpoints (core/safetensors.h) of state_dict().
    void save(const std::string& path) const;
    void load(const std::string& path, bool strict = true);

    const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const {
        return children_;
    }

  protected:
    // `slot` must be a member of the derived module; the tensor becomes a grad-requiring leaf.
    void register_parameter(const std::string& name, Tensor* slot);
    void register_buffer(const std::string& name, Tensor* slot);
    template <typename M>
    std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
        add_child(name, m);
        return m;
    }
    // Called after the mode changes (modules with cached state may override).
    virtual void on_train(bool) {}

  private:
    void add_child(const std::string& name, std::shared_ptr<Module> m);
    void collect(const std::string& prefix, bool params,
                 std::vector<std::pair<std::string, Tensor*>>& out) const;
    // Replaces every parameter and buffer t for which needs(t) holds by change(t); parameters
    // stay leaves that require grad.
    void convert(const std::function<bool(const Tensor&)>& needs,
                 const std::function<Tensor(const Tensor&)>& change);

    std::vector<std::pair<std::string, Tensor*>> params_;
    std::vector<std::pair<std::string, Tensor*>> buffers_;
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
    bool training_ = true;
};

// A container of named children (PyTorch's nn.Sequential / nn.ModuleList naming: "0", "1", ...
// or any other names); the owner calls the children itself.
class ModuleList : public Module {
  public:
    template <typename M>
    std::shared_ptr<M> add(const std::string& name, std::shared_ptr<M> m) {
        return register_module(name, m);
    }
};

}  // namespace vg::nn
