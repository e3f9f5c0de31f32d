// The minimal JSON (RFC 8259) reader and string escaper behind the safetensors header; it
// validates strictly and reports the byte offset of the first problem.
#pragma once
#include <string>
#include <vector>

namespace vg::st_json {

struct Json {
    enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
    std::string text;               // String: the decoded value; Number: the literal
    std::vector<Json> items;        // Array values, Object values
    std::vector<std::string> keys;  // Object keys, parallel to items
};

// Parses one complete document; a problem is a vg::Error naming `file` and the byte offset.
Json parse(const std::string& text, const std::string& file);
// A quoted JSON string literal for `s`.
std::string escape(const std::string& s);

}  // namespace vg::st_json
