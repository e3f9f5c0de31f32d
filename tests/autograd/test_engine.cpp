// The autograd engine: accumulation, shared subgraphs, no_grad, graph release, hooks and errors.
#include "autograd/node.h"
#include "tests/helpers.h"

using namespace vg;
using vg::test::uniform;

TEST_CASE("shared subgraphs accumulate their gradients") {
    Tensor x = Tensor::from_vector({1.0, 2.0, 3.0}, {3}, DType::F64).requires_grad_();
    Tensor s = exp(x);                // used twice below
    Tensor y = sum(s * s + s * 3.0);  // dy/dx = 2 e^{2x} + 3 e^x
    y.backward();
    for (int i = 0; i < 3; ++i) {
        double v = double(i + 1);
        CHECK(x.grad().at({i}) == doctest::Approx(2 * std::exp(2 * v) + 3 * std::exp(v)));
    }
    // A second backward over a new graph adds into .grad.
    sum(x * 2.0).backward();
    CHECK(x.grad().at({0}) == doctest::Approx(2 * std::exp(2.0) + 3 * std::exp(1.0) + 2));
}

TEST_CASE("the same leaf used by two inputs of one op gets both contributions") {
    Tensor a = Tensor::from_vector({3.0}, {1}, DType::F64).requires_grad_();
    Tensor b = Tensor::from_vector({5.0}, {1}, DType::F64).requires_grad_();
    sum(a * a + a + b).backward();
    CHECK(a.grad().item() == doctest::Approx(7.0));
    CHECK(b.grad().item() == doctest::Approx(1.0));
    // a and b received the same upstream tensor from `add`; their .grad must not alias.
    {
        NoGradGuard ng;
        a.grad().add_(Tensor::ones({1}, DType::F64));
    }
    CHECK(b.grad().item() == doctest::Approx(1.0));
}

TEST_CASE("no_grad records nothing") {
    Tensor x = Tensor::ones({2}, DType::F64).requires_grad_();
    Tensor y;
    {
        NoGradGuard ng;
        y = exp(x) * 2.0;
    }
    CHECK_FALSE(y.requires_grad());
    CHECK(y.is_leaf());
    Tensor z = exp(x);
    CHECK(z.requires_grad());
    CHECK_FALSE(z.is_leaf());
    Tensor d = z.detach();
    CHECK_FALSE(d.requires_grad());
    CHECK(d.storage() == z.storage());
}

TEST_CASE("backward frees the saved tensors of the graph") {
    Tensor x = uniform({32, 32}, -1, 1).requires_grad_();
    int64_t before = Storage::live_count();
    Tensor loss;
    {
        Tensor h = tanh(gelu(x) * 2.0);
        Tensor h2 = sigmoid(h) * h;
        loss = sum(h2);
    }
    int64_t with_graph = Storage::live_count();
    CHECK(with_graph > before + 3);  // intermediates held alive by the graph's saved tensors
    loss.backward();
    // Only x.grad (and the loss itself) remain: the saved activations were released.
    CHECK(Storage::live_count() <= before + 2);
}

TEST_CASE("backward twice without retain_graph is a clear error - with it, it works") {
    Tensor x = Tensor::ones({3}, DType::F64).requires_grad_();
    Tensor y = sum(exp(x));
    y.backward({}, /*retain_graph=*/true);
    y.backward();
    CHECK(x.grad().at({0}) == doctest::Approx(2 * std::exp(1.0)));
    CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("second time"), Error);
}

TEST_CASE("non-scalar backward needs a gradient") {
    Tensor x = Tensor::ones({3}, DType::F64).requires_grad_();
    Tensor y = exp(x);
    CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("float64[3]"), Error);
    CHECK_THROWS_WITH_AS(y.backward(Tensor::ones({2}, DType::F64)),
                         doctest::Contains("does not match"), Error);
    y.backward(Tensor::full({3}, 2.0, DType::F64));
    CHECK(x.grad().at({1}) == doctest::Approx(2 * std::exp(1.0)));
    Tensor c = Tensor::ones({1}, DType::F64);
    CHECK_THROWS_WITH_AS(c.backward(), doctest::Contains("does not require grad"), Error);
}

TEST_CASE("intermediates: retain_grad and hooks read gradients inside the graph") {
    Tensor x = Tensor::from_vector({0.5, -1.0}, {2}, DType::F64).requires_grad_();
    Tensor h = x * 3.0;
    h.retain_grad();
    std::vector<double> seen;
    Tensor e = exp(h);
    e.register_hook([&](const Tensor& g) { seen = g.to_vector(); });
    sum(e * 2.0).backward();
    CHECK(seen == std::vector<double>{2.0, 2.0});
    REQUIRE(h.grad().defined());
    CHECK(h.grad().at({0}) == doctest::Approx(2 * std::exp(1.5)));
    CHECK(x.grad().at({0}) == doctest::Approx(6 * std::exp(1.5)));
    CHECK_FALSE(e.grad().defined());
}

TEST_CASE("gradients flow through views into the right elements") {
    Tensor x = Tensor::arange(6, DType::F64).reshape({2, 3}).contiguous();
    x.requires_grad_();
    Tensor y = x.transpose(0, 1).narrow(0, 1, 2);  // [[1, 4], [2, 5]]
    sum(y * y).backward();
    CHECK(x.grad().to_vector() == std::vector<double>{0, 2, 4, 0, 8, 10});
}

TEST_CASE("in-place writes on tensors that require grad are refused outside no_grad") {
    Tensor w = Tensor::ones({2}, DType::F64).requires_grad_();
    CHECK_THROWS_WITH_AS(w.fill_(0), doctest::Contains("fill_"), Error);
    CHECK_THROWS_WITH_AS(w.add_(w), doctest::Contains("requires grad"), Error);
    NoGradGuard ng;
    w.mul_(3.0);
    CHECK(w.at({0}) == 3.0);
    CHECK_THROWS_WITH_AS(Tensor::ones({2}, DType::I64).requires_grad_(),
                         doctest::Contains("only float"), Error);
}
