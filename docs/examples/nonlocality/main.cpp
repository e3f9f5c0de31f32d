// A study program of one's own: load a vitgrad checkpoint, run a batch of images through the
// model and print every layer's non-locality per head (ConViT, d'Ascoli et al. 2021, Eq. 8), first
// with the one-call study API, then from the raw internals of one forward.
//
//   nonlocality CHECKPOINT [IMAGES]
//
// IMAGES is a safetensors file holding "images" [B, C, H, W], already normalised; without it the
// program takes the first 256 test images of the run's dataset from the data root.
#include <cstdio>

#include "autograd/grad_mode.h"
#include "nn/internals.h"
#include "train/analyze/model_source.h"
#include "train/probe/study.h"

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3) {
        std::fprintf(stderr, "usage: %s CHECKPOINT [IMAGES]\n", argv[0]);
        return 2;
    }
    try {
        vg::analyze::ModelSource source;
        source.checkpoint = argv[1];
        vg::analyze::LoadedModel loaded = vg::analyze::load_model(source);
        vg::analyze::ImageSource image_source;
        if (argc == 3) image_source.input = argv[2];
        vg::analyze::Images batch = vg::analyze::load_images(image_source, loaded, 256);
        std::printf("%s on %s\n", loaded.label.c_str(), batch.description.c_str());

        // 1. The measurements of every layer in one call (non-locality, gates, centres).
        vg::probe::Study study = vg::probe::study(*loaded.model, batch.images);
        for (size_t l = 0; l < study.layers.size(); ++l) {
            const vg::probe::LayerStudy& layer = study.layers[l];
            std::printf("layer %zu %s:", l + 1, layer.kind.c_str());
            for (double d : layer.nonlocality) std::printf(" %.3f", d);
            std::printf("   mean %.3f\n", layer.mean_nonlocality());
        }

        // 2. The same numbers from the raw internals of one forward: every block's attention
        //    maps [B, H, T, T], detached; the class token (if the block sees it) comes first.
        vg::NoGradGuard no_grad;
        vg::models::ModelInternals internals;
        loaded.model->forward(batch.images, &internals);
        const vg::Tensor& last = internals.blocks.back().attn;
        const bool has_cls = last.size(-1) == loaded.model->config().num_patches() + 1;
        std::vector<double> d = vg::nn::nonlocality(last, has_cls);
        std::printf("last layer from the raw maps:");
        for (double v : d) std::printf(" %.3f", v);
        std::printf("\n");
    } catch (const vg::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
