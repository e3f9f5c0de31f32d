// Attention-map figures (ConViT, d'Ascoli et al. 2021, Figs. 7 and 15-17): one query patch, each
// head's map over the patch grid, layers as rows and heads as columns, a logarithmic colour map,
// the gate sigmoid(lambda) under every GPSA head. The maps come from the architecture's map
// provider, so any model with one can be drawn.
#pragma once
#include <string>
#include <vector>

#include "train/analyze/canvas.h"
#include "train/probe/map_provider.h"

namespace vg::analyze {

struct FigureLayer {
    int64_t block = 0;  // block index (0-based; figures print it 1-based as "layer")
    std::string kind;
    // Refiner: this row holds the block's refined maps (signed, not distributions; the figure
    // draws their magnitude), and follows the row of the same block's attention maps.
    bool refined = false;
    std::vector<std::vector<double>> maps;  // per head: the query's row over the N patch keys
    std::vector<double> other_mass;         // per head: weight on non-patch tokens; may be empty
    std::vector<double> gate;               // per head, gated layers only
    // The layer's own grid side when it differs from the figure's (FCViT's later stages), and
    // whether its maps are the same for every query (FCViT's global context: no query frame).
    int64_t side = 0;
    bool query_independent = false;
};

struct MapFigure {
    std::string title, subtitle;  // printed above the grid
    int64_t side = 0;             // S: the patch grid is S x S
    int64_t query = 0;            // query token, row-major over the grid
    int64_t images = 0;           // how many images the maps average
    std::vector<FigureLayer> layers;
};

// The query patch at the image centre: row S/2, column S/2 (for even S, the lower-right of the
// four central patches).
int64_t centre_query(int64_t side);

// The maps of the query's row in the chosen blocks (all blocks when `blocks` is empty), averaged
// over every image of `images` [B, C, H, W]; a block with refined maps (Refiner) gets a second
// row with them. `query` < 0 picks centre_query.
MapFigure query_maps(models::VisionModel& model, const Tensor& images,
                     const std::vector<int64_t>& blocks, int64_t query = -1,
                     probe::MapInput input = probe::MapInput::Activations);

// The figure, with a colour bar spanning `decades` decades below the largest value.
Canvas render_map_figure(const MapFigure& figure, int decades = 3);

// The figure's numbers as safetensors: "blocks.<i>.maps" [H, S, S] float32 (S: the layer's side)
// and, where present,
// "blocks.<i>.refined" [H, S, S] (signed), "blocks.<i>.gate" [H] and "blocks.<i>.other_mass" [H];
// metadata "query_row", "query_col", "images".
void save_map_tensors(const MapFigure& figure, const std::string& path);

}  // namespace vg::analyze
