// Test-set evaluation: top-1, top-5, loss and per-class accuracy, in dataset order.
#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "train/run/loader.h"
#include "train/run/trainer.h"

namespace vg {

EvalResult evaluate(models::VisionModel& model, std::shared_ptr<const Dataset> data,
                    NormChoice norm, int64_t batch, Device device, int workers) {
    NoGradGuard no_grad;
    model.eval();
    LoaderConfig lc = LoaderConfig::eval(batch, workers);
    lc.aug.norm = norm;
    Loader loader(data, lc);
    loader.start_epoch(0);
    const int K = data->num_classes();
    std::vector<int64_t> correct(K, 0), seen(K, 0);
    EvalResult r;
    double loss_sum = 0;
    int64_t hit1 = 0, hit5 = 0;
    Batch in;
    while (loader.next(in)) {
        int64_t b = in.images.size(0);
        Tensor logits = model.forward(in.images.to(device)).to(DType::F64).cpu();
        loss_sum += cross_entropy(logits, in.labels).item() * double(b);
        std::vector<double> z = logits.to_vector();
        std::vector<int64_t> y = in.labels.to_vector_i64();
        for (int64_t i = 0; i < b; ++i) {
            const double* row = z.data() + i * K;
            // A row with a NaN or an infinity ranks nothing: it is a wrong prediction, never a
            // tie that "no class beats".
            bool finite = std::all_of(row, row + K, [](double v) { return std::isfinite(v); });
            int64_t rank = 0;  // classes scoring strictly higher than the true one
            for (int k = 0; k < K; ++k) rank += row[k] > row[y[i]];
            bool top1 = finite && rank == 0, top5 = finite && rank < 5;
            r.predicted.push_back(finite ? int(std::max_element(row, row + K) - row) : -1);
            hit1 += top1;
            hit5 += top5;
            r.nonfinite += !finite;
            seen[y[i]]++;
            correct[y[i]] += top1;
        }
        r.count += b;
    }
    double n = double(std::max<int64_t>(r.count, 1));
    r.loss = loss_sum / n;
    r.top1 = 100.0 * double(hit1) / n;
    r.top5 = 100.0 * double(hit5) / n;
    for (int k = 0; k < K; ++k)
        r.per_class.push_back(seen[k] ? 100.0 * double(correct[k]) / double(seen[k]) : NAN);
    return r;
}

}  // namespace vg
