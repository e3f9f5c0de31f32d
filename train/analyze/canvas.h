// An RGB raster with filled rectangles and text (two embedded bitmap fonts), written and read
// as PNG through libpng: what the attention-map figures are drawn on.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace vg::analyze {

struct Rgb {
    uint8_t r = 0, g = 0, b = 0;
    bool operator==(const Rgb&) const = default;
};

enum class Font { Regular, Bold };  // DejaVu Sans Mono 13 px / bold 15 px
enum class Align { Left, Centre, Right };

class Canvas {
  public:
    Canvas(int width, int height, Rgb background = {255, 255, 255});
    int width() const { return w_; }
    int height() const { return h_; }
    Rgb at(int x, int y) const;  // a vg::Error outside the canvas
    // Drawing clips to the canvas.
    void set(int x, int y, Rgb c);
    void fill_rect(int x, int y, int w, int h, Rgb c);
    void frame_rect(int x, int y, int w, int h, Rgb c, int thickness = 1);
    // UTF-8 text whose cell tops are at y; x is its left end, centre or right end by `align`.
    // Characters the fonts lack are drawn as '?'. Returns the width in pixels.
    int text(int x, int y, const std::string& utf8, Rgb color, Font font = Font::Regular,
             Align align = Align::Left);
    static int text_width(const std::string& utf8, Font font = Font::Regular);
    static int line_height(Font font = Font::Regular);
    const std::vector<uint8_t>& rgb() const { return px_; }  // row-major, 3 bytes per pixel

  private:
    void blend(int x, int y, Rgb c, int coverage15);
    int w_, h_;
    std::vector<uint8_t> px_;
};

// 8-bit RGB PNG; errors name the path.
void save_png(const Canvas& canvas, const std::string& path);
// Reads an 8-bit RGB or RGBA PNG (alpha dropped) back; errors name the path.
Canvas load_png(const std::string& path);

}  // namespace vg::analyze
