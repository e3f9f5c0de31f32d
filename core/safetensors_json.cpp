// JSON parsing for safetensors headers: recursive descent with a depth limit, so fuzzed input
// cannot exhaust the stack.
#include "core/safetensors_json.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/error.h"

namespace vg::st_json {

namespace {

constexpr int kMaxDepth = 32;

// Recursive-descent parser over one header string; depth-limited.
class JsonParser {
  public:
    JsonParser(const std::string& s, const std::string& file) : s_(s), file_(file) {}

    Json parse_document() {
        Json v = value(0);
        skip_ws();
        if (i_ != s_.size()) error("unexpected trailing characters");
        return v;
    }

  private:
    [[noreturn]] void error(const std::string& what) const {
        fail("safetensors", "{}: malformed JSON header at byte {}: {}", file_, i_, what);
    }
    void skip_ws() {
        while (i_ < s_.size() &&
               (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
            ++i_;
    }
    char peek() {
        skip_ws();
        if (i_ >= s_.size()) error("unexpected end of header");
        return s_[i_];
    }
    void expect(char c) {
        if (peek() != c) error(fmt::format("expected '{}'", c));
        ++i_;
    }
    void literal(const char* word) {
        size_t n = std::strlen(word);
        if (s_.compare(i_, n, word) != 0) error("invalid literal");
        i_ += n;
    }

    Json value(int depth) {
        if (depth > kMaxDepth) error("nesting too deep");
        Json v;
        char c = peek();
        if (c == '{') {
            v.kind = Json::Object;
            ++i_;
            if (peek() == '}') {
                ++i_;
                return v;
            }
            for (;;) {
                if (peek() != '"') error("expected a string key");
                std::string key = string();
                if (std::find(v.keys.begin(), v.keys.end(), key) != v.keys.end())
                    error(fmt::format("duplicate key '{}'", key));
                expect(':');
                v.keys.push_back(std::move(key));
                v.items.push_back(value(depth + 1));
                char d = peek();
                ++i_;
                if (d == '}') break;
                if (d != ',') error("expected ',' or '}'");
            }
        } else if (c == '[') {
            v.kind = Json::Array;
            ++i_;
            if (peek() == ']') {
                ++i_;
                return v;
            }
            for (;;) {
                v.items.push_back(value(depth + 1));
                char d = peek();
                ++i_;
                if (d == ']') break;
                if (d != ',') error("expected ',' or ']'");
            }
        } else if (c == '"') {
            v.kind = Json::String;
            v.text = string();
        } else if (c == 't' || c == 'f') {
            v.kind = Json::Bool;
            literal(c == 't' ? "true" : "false");
            v.text = c == 't' ? "true" : "false";
        } else if (c == 'n') {
            literal("null");
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            v.kind = Json::Number;
            v.text = number();
        } else {
            error(fmt::format("unexpected character 0x{:02x}", uint8_t(c)));
        }
        return v;
    }

    std::string number() {
        size_t start = i_;
        auto digits = [&] {
            size_t b = i_;
            while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
            if (i_ == b) error("expected a digit");
        };
        if (s_[i_] == '-') ++i_;
        digits();
        if (i_ < s_.size() && s_[i_] == '.') {
            ++i_;
            digits();
        }
        if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
            ++i_;
            if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
            digits();
        }
        return s_.substr(start, i_ - start);
    }

    unsigned hex4() {
        if (i_ + 4 > s_.size()) error("truncated \\u escape");
        unsigned v = 0;
        for (int k = 0; k < 4; ++k) {
            char h = s_[i_++];
            v <<= 4;
            if (h >= '0' && h <= '9')
                v |= unsigned(h - '0');
            else if (h >= 'a' && h <= 'f')
                v |= unsigned(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F')
                v |= unsigned(h - 'A' + 10);
            else
                error("bad hex digit in \\u escape");
        }
        return v;
    }

    static void utf8(std::string& out, unsigned cp) {
        if (cp < 0x80) {
            out += char(cp);
        } else if (cp < 0x800) {
            out += char(0xC0 | (cp >> 6));
            out += char(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += char(0xE0 | (cp >> 12));
            out += char(0x80 | ((cp >> 6) & 0x3F));
            out += char(0x80 | (cp & 0x3F));
        } else {
            out += char(0xF0 | (cp >> 18));
            out += char(0x80 | ((cp >> 12) & 0x3F));
            out += char(0x80 | ((cp >> 6) & 0x3F));
            out += char(0x80 | (cp & 0x3F));
        }
    }

    std::string string() {
        ++i_;  // opening quote
        std::string out;
        for (;;) {
            if (i_ >= s_.size()) error("unterminated string");
            char c = s_[i_++];
            if (c == '"') return out;
            if (uint8_t(c) < 0x20) error("control character in string");
            if (c != '\\') {
                out += c;
                continue;
            }
            if (i_ >= s_.size()) error("unterminated escape");
            char e = s_[i_++];
            switch (e) {
                case '"':
                    out += '"';
                    break;
                case '\\':
                    out += '\\';
                    break;
                case '/':
                    out += '/';
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'u': {
                    unsigned cp = hex4();
                    if (cp >= 0xD800 && cp < 0xDC00) {  // surrogate pair
                        if (i_ + 2 > s_.size() || s_[i_] != '\\' || s_[i_ + 1] != 'u')
                            error("unpaired surrogate");
                        i_ += 2;
                        unsigned lo = hex4();
                        if (lo < 0xDC00 || lo >= 0xE000) error("invalid low surrogate");
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    } else if (cp >= 0xDC00 && cp < 0xE000) {
                        error("unpaired surrogate");
                    }
                    utf8(out, cp);
                    break;
                }
                default:
                    error("invalid escape");
            }
        }
    }

    const std::string& s_;
    const std::string& file_;
    size_t i_ = 0;
};

}  // namespace

Json parse(const std::string& text, const std::string& file) {
    return JsonParser(text, file).parse_document();
}

std::string escape(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"')
            out += "\\\"";
        else if (c == '\\')
            out += "\\\\";
        else if (uint8_t(c) < 0x20)
            out += fmt::format("\\u{:04x}", unsigned(uint8_t(c)));
        else
            out += c;
    }
    return out + "\"";
}

}  // namespace vg::st_json
