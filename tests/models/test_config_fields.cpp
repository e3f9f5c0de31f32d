// ModelConfig as data: the LayerNorm epsilon reaches every norm of a model, every field is
// printable (and a new field without a line in config_fields() fails here), and `vitgrad models`
// / `vitgrad info --model` show the registry.
#include <functional>

#include "models/config_fields.h"
#include "models/registry.h"
#include "nn/layer_norm.h"
#include "tests/helpers.h"
#include "tests/train/cli_runner.h"

using namespace vg;
using namespace vg::models;

namespace {

// Number of fields of an aggregate: the most initialisers T{...} accepts (each `Any` converts to
// whatever a field is).
struct Any {
    template <typename T>
    operator T() const;
};
template <typename T, typename... A>
constexpr size_t field_count() {
    if constexpr (requires { T{A{}..., Any{}}; })
        return field_count<T, A..., Any>();
    else
        return sizeof...(A);
}

void collect_norms(const nn::Module& m, std::vector<const nn::LayerNorm*>& out) {
    if (auto* ln = dynamic_cast<const nn::LayerNorm*>(&m)) out.push_back(ln);
    for (const auto& [name, child] : m.children()) collect_norms(*child, out);
}

}  // namespace

TEST_CASE("ModelConfig::ln_eps is the epsilon of every LayerNorm, 1e-6 in every registry entry") {
    for (const std::string& name : model_names()) {
        INFO(name);
        CHECK(model_config(name).ln_eps == 1e-6);
    }
    for (const char* name : {"convit_cifar_micro", "deit_cifar_micro"}) {
        INFO(name);
        ModelConfig c = model_config(name);
        c.ln_eps = 0.25;
        manual_seed(0);
        auto model = create_model(c);
        std::vector<const nn::LayerNorm*> norms;
        collect_norms(*model, norms);
        CHECK(norms.size() == size_t(2 * c.depth + 1));  // norm1, norm2 per block, final norm
        for (const nn::LayerNorm* ln : norms) CHECK(ln->eps == 0.25);
        // The forward uses it: a large epsilon changes the logits.
        manual_seed(0);
        auto standard = create_model(model_config(name));
        Tensor x = test::uniform({2, 3, 32, 32}, -1, 1, DType::F32);
        double diff = max(abs(model->forward(x) - standard->forward(x))).item();
        CHECK(diff > 1e-3);
    }
    ModelConfig bad = model_config("deit_cifar_micro");
    bad.ln_eps = 0;
    CHECK_THROWS_WITH_AS(create_model(bad), doctest::Contains("eps must be in (0, 1), got 0"),
                         Error);
}

TEST_CASE("config_fields lists every ModelConfig field") {
    auto fields = config_fields(model_config("convit_cifar_tiny"));
    // Fails when a field is added to ModelConfig without a line in models/config_fields.cpp.
    CHECK(fields.size() == field_count<ModelConfig>());
    CHECK(fields.front() == std::pair<std::string, std::string>{"name", "convit_cifar_tiny"});
    CHECK(fields[1].second == "ConViT");
    bool has_eps = false;
    for (auto& [k, v] : fields) has_eps = has_eps || (k == "ln_eps" && v == "1e-06");
    CHECK(has_eps);
}

TEST_CASE("vitgrad models prints the registry as a table, info --model one configuration") {
    test::CliResult r = test::run_cli("models");
    REQUIRE(r.code == 0);
    for (const std::string& name : model_names()) {
        INFO(name);
        CHECK(r.out.find("\n" + name + " ") != std::string::npos);
    }
    CHECK(r.out.rfind("name ", 0) == 0);
    // convit_cifar_micro: its dry counts, as the table shows them.
    ModelConfig micro = model_config("convit_cifar_micro");
    std::string params = fmt::format("{:.2f}M", double(count_parameters(micro)) / 1e6);
    size_t row = r.out.find("\nconvit_cifar_micro ");
    std::string line = r.out.substr(row + 1, r.out.find('\n', row + 1) - row - 1);
    CHECK(line.find(" " + params + " ") != std::string::npos);
    CHECK(line.find("3x32x32") != std::string::npos);

    r = test::run_cli("info --model deit_cifar_micro");
    REQUIRE(r.code == 0);
    for (auto& [k, v] : config_fields(model_config("deit_cifar_micro"))) {
        INFO(k);
        CHECK(r.out.find("  " + k + " ") != std::string::npos);
    }
    CHECK(r.out.find(std::to_string(count_parameters(model_config("deit_cifar_micro")))) !=
          std::string::npos);
    r = test::run_cli("info --model deit_cifar_mikro");
    CHECK(r.one_error_line());
    CHECK(r.err.find("did you mean deit_cifar_micro") != std::string::npos);
}
