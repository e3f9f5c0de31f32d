// Canvas drawing, the bitmap fonts and PNG through libpng.
#include "train/analyze/canvas.h"

#include <png.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "core/error.h"

namespace vg::analyze {

namespace {

struct GlyphCell {
    int w, h, ascent;
};
#include "train/analyze/font_glyphs.inc"

constexpr size_t kGlyphCount = std::size(kGlyphCodepoints);
static_assert(std::size(kRegularGlyphs) == kGlyphCount && std::size(kBoldGlyphs) == kGlyphCount);

const GlyphCell& cell(Font f) { return f == Font::Bold ? kBoldCell : kRegularCell; }

// The glyph string of a code point ('?' for the ones the fonts lack).
const char* glyph(char32_t cp, Font f) {
    size_t i = 0;
    while (i < kGlyphCount && kGlyphCodepoints[i] != cp) ++i;
    if (i == kGlyphCount) i = size_t('?' - ' ');
    return f == Font::Bold ? kBoldGlyphs[i] : kRegularGlyphs[i];
}

// Decodes UTF-8; a malformed byte becomes U+FFFD (drawn as '?').
std::vector<char32_t> decode_utf8(const std::string& s) {
    std::vector<char32_t> out;
    for (size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        int extra = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
        if (extra < 0 || (extra > 0 && i + size_t(extra) >= s.size())) {
            out.push_back(0xFFFD);
            ++i;
            continue;
        }
        char32_t cp = extra == 0 ? c : char32_t(c & (0x3F >> extra));
        bool ok = true;
        for (int k = 1; k <= extra; ++k) {
            unsigned char d = static_cast<unsigned char>(s[i + size_t(k)]);
            ok = ok && (d >> 6) == 2;
            cp = (cp << 6) | (d & 0x3F);
        }
        out.push_back(ok ? cp : 0xFFFD);
        i += size_t(ok ? extra + 1 : 1);
    }
    return out;
}

int hex_value(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

}  // namespace

Canvas::Canvas(int width, int height, Rgb bg) : w_(width), h_(height) {
    if (width <= 0 || height <= 0 || width > 1 << 14 || height > 1 << 14)
        fail("Canvas", "size {} x {} outside [1, 16384]", width, height);
    px_.resize(size_t(w_) * size_t(h_) * 3);
    for (size_t i = 0; i < px_.size(); i += 3) {
        px_[i] = bg.r;
        px_[i + 1] = bg.g;
        px_[i + 2] = bg.b;
    }
}

Rgb Canvas::at(int x, int y) const {
    if (x < 0 || y < 0 || x >= w_ || y >= h_)
        fail("Canvas::at", "pixel ({}, {}) outside the {} x {} canvas", x, y, w_, h_);
    const uint8_t* p = &px_[(size_t(y) * size_t(w_) + size_t(x)) * 3];
    return {p[0], p[1], p[2]};
}

void Canvas::set(int x, int y, Rgb c) {
    if (x < 0 || y < 0 || x >= w_ || y >= h_) return;
    uint8_t* p = &px_[(size_t(y) * size_t(w_) + size_t(x)) * 3];
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
}

void Canvas::blend(int x, int y, Rgb c, int cov) {
    if (x < 0 || y < 0 || x >= w_ || y >= h_ || cov <= 0) return;
    uint8_t* p = &px_[(size_t(y) * size_t(w_) + size_t(x)) * 3];
    auto mix = [cov](uint8_t under, uint8_t over) {
        return uint8_t((int(over) * cov + int(under) * (15 - cov) + 7) / 15);
    };
    p[0] = mix(p[0], c.r);
    p[1] = mix(p[1], c.g);
    p[2] = mix(p[2], c.b);
}

void Canvas::fill_rect(int x, int y, int w, int h, Rgb c) {
    for (int yy = std::max(y, 0); yy < std::min(y + h, h_); ++yy)
        for (int xx = std::max(x, 0); xx < std::min(x + w, w_); ++xx) set(xx, yy, c);
}

void Canvas::frame_rect(int x, int y, int w, int h, Rgb c, int t) {
    fill_rect(x, y, w, t, c);
    fill_rect(x, y + h - t, w, t, c);
    fill_rect(x, y, t, h, c);
    fill_rect(x + w - t, y, t, h, c);
}

int Canvas::text_width(const std::string& s, Font f) {
    return int(decode_utf8(s).size()) * cell(f).w;
}

int Canvas::line_height(Font f) { return cell(f).h; }

int Canvas::text(int x, int y, const std::string& s, Rgb color, Font f, Align align) {
    const GlyphCell& c = cell(f);
    std::vector<char32_t> cps = decode_utf8(s);
    const int width = int(cps.size()) * c.w;
    int left = align == Align::Left ? x : align == Align::Centre ? x - width / 2 : x - width;
    for (char32_t cp : cps) {
        const char* g = glyph(cp, f);
        for (int yy = 0; yy < c.h; ++yy)
            for (int xx = 0; xx < c.w; ++xx)
                blend(left + xx, y + yy, color, hex_value(g[yy * c.w + xx]));
        left += c.w;
    }
    return width;
}

void save_png(const Canvas& canvas, const std::string& path) {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "wb"), std::fclose);
    if (!f) fail("save_png", "cannot open {} for writing", path);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    if (!info) {
        png_destroy_write_struct(&png, nullptr);
        fail("save_png", "libpng could not start writing {}", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fail("save_png", "libpng failed writing {}", path);
    }
    png_init_io(png, f.get());
    png_set_IHDR(png, info, png_uint_32(canvas.width()), png_uint_32(canvas.height()), 8,
                 PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    const uint8_t* data = canvas.rgb().data();
    for (int y = 0; y < canvas.height(); ++y)
        png_write_row(png, const_cast<png_bytep>(data + size_t(y) * size_t(canvas.width()) * 3));
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    if (std::fflush(f.get()) != 0) fail("save_png", "writing {} failed", path);
}

Canvas load_png(const std::string& path) {
    png_image img{};
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path.c_str()))
        fail("load_png", "cannot read {} as PNG ({})", path, img.message);
    img.format = PNG_FORMAT_RGB;
    Canvas c(int(img.width), int(img.height));
    std::vector<uint8_t> buf(PNG_IMAGE_SIZE(img));
    if (!png_image_finish_read(&img, nullptr, buf.data(), 0, nullptr)) {
        png_image_free(&img);
        fail("load_png", "cannot decode {} ({})", path, img.message);
    }
    for (int y = 0; y < c.height(); ++y)
        for (int x = 0; x < c.width(); ++x) {
            const uint8_t* p = &buf[(size_t(y) * img.width + size_t(x)) * 3];
            c.set(x, y, {p[0], p[1], p[2]});
        }
    return c;
}

}  // namespace vg::analyze
