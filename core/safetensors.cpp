// safetensors reader/writer. nlohmann-json parses the header; this file checks what makes it a
// safetensors header (dtypes, shapes, offsets that tile the data region, sizes bounded before any
// allocation), so a truncated or corrupt file becomes a vg::Error instead of a crash or a giant
// allocation.
#include "core/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <vector>

namespace vg {

static_assert(std::endian::native == std::endian::little,
              "safetensors I/O assumes a little-endian host");

namespace {

using Json = nlohmann::ordered_json;

constexpr uint64_t kMaxHeader = 100'000'000;  // the reference implementation's limit
constexpr int kMaxDepth = 32;                 // a header is 3 levels deep; fuzzed input is not
constexpr uint64_t kMaxIndex = 1'000'000'000'000'000'000ull;

const char* st_dtype_name(DType t, const std::string& file, const std::string& name) {
    switch (t) {
        case DType::F32:
            return "F32";
        case DType::F64:
            return "F64";
        case DType::I64:
            return "I64";
        default:
            fail("save_safetensors", "{}: tensor '{}' has unsupported dtype {}", file, name, t);
    }
}

// The header as JSON; a syntax error names the file and the byte. Duplicate keys (which the
// library would silently resolve to the last) and deep nesting are refused while parsing.
Json parse_header(const std::string& header, const std::string& file) {
    std::vector<std::set<std::string>> keys;  // the keys seen in each open object
    auto check = [&](int depth, Json::parse_event_t event, Json& parsed) {
        if (depth > kMaxDepth)
            fail("safetensors", "{}: malformed JSON header: nesting too deep (over {} levels)",
                 file, kMaxDepth);
        if (event == Json::parse_event_t::object_start) keys.emplace_back();
        if (event == Json::parse_event_t::object_end) keys.pop_back();
        if (event == Json::parse_event_t::key &&
            !keys.back().insert(parsed.get<std::string>()).second)
            fail("safetensors", "{}: malformed JSON header: duplicate key '{}'", file,
                 parsed.get<std::string>());
        return true;
    };
    try {
        return Json::parse(header, check);
    } catch (const Json::parse_error& e) {
        // e.byte counts from 1; e.what() is "[json.exception.parse_error.101] parse error at
        // line 1, column 9: syntax error while parsing value - ...".
        std::string what = e.what();
        size_t tag = what.find("] ");
        fail("safetensors", "{}: malformed JSON header at byte {}: {}", file,
             e.byte > 0 ? e.byte - 1 : 0, tag == std::string::npos ? what : what.substr(tag + 2));
    } catch (const Json::exception& e) {
        fail("safetensors", "{}: malformed JSON header: {}", file, e.what());
    }
}

// A non-negative integer below 1e18 (so sums of two stay in int64), or an error naming `what`.
int64_t as_index(const Json& v, const std::string& file, const std::string& what) {
    if (!v.is_number_unsigned() || v.get<uint64_t>() >= kMaxIndex)
        fail("safetensors", "{}: {} must be a non-negative integer below 1e18", file, what);
    return int64_t(v.get<uint64_t>());
}

struct Entry {
    std::string name;
    DType dtype;
    Shape shape;
    int64_t begin, end;
};

DType parse_dtype(const Json& dt, const std::string& file, const std::string& name) {
    if (!dt.is_string()) fail("safetensors", "{}: entry '{}': dtype must be a string", file, name);
    const std::string& s = dt.get_ref<const std::string&>();
    if (s == "F32") return DType::F32;
    if (s == "F64") return DType::F64;
    if (s == "I64") return DType::I64;
    fail("safetensors", "{}: entry '{}': unsupported dtype '{}' (F32, F64 and I64 are supported)",
         file, name, s);
}

// One tensor entry, with its byte range checked against the data region of `data_size` bytes.
Entry parse_entry(const std::string& name, const Json& v, int64_t data_size,
                  const std::string& file) {
    const char* op = "safetensors";
    if (!v.is_object()) fail(op, "{}: entry '{}' must be an object", file, name);
    for (const auto& [key, _] : v.items())
        if (key != "dtype" && key != "shape" && key != "data_offsets")
            fail(op, "{}: entry '{}' has unknown field '{}'", file, name, key);
    if (!v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
        fail(op, "{}: entry '{}' needs dtype, shape and data_offsets", file, name);
    const Json& sh = v["shape"];
    const Json& off = v["data_offsets"];
    Entry e{name, parse_dtype(v["dtype"], file, name), {}, 0, 0};
    if (!sh.is_array()) fail(op, "{}: entry '{}': shape must be an array", file, name);
    if (sh.size() > size_t(kMaxDims))
        fail(op, "{}: entry '{}': {} dims, more than the {} supported", file, name, sh.size(),
             kMaxDims);
    // Bytes are bounded by the data region, so the element count can be checked without
    // overflow.
    int64_t numel = 1;
    bool zero = false, too_big = false;
    for (const Json& d : sh) {
        int64_t x = as_index(d, file, fmt::format("a shape extent of '{}'", name));
        e.shape.push_back(x);
        if (x == 0)
            zero = true;
        else if (!too_big && numel > data_size / x)
            too_big = true;
        else if (!too_big)
            numel *= x;
    }
    if (zero) {
        numel = 0;
        too_big = false;
    }
    if (!off.is_array() || off.size() != 2)
        fail(op, "{}: entry '{}': data_offsets must be [begin, end]", file, name);
    e.begin = as_index(off[0], file, fmt::format("data_offsets of '{}'", name));
    e.end = as_index(off[1], file, fmt::format("data_offsets of '{}'", name));
    if (e.begin > e.end || e.end > data_size)
        fail(op, "{}: entry '{}': data_offsets [{}, {}] outside the {}-byte data region", file,
             name, e.begin, e.end, data_size);
    int64_t want = numel * int64_t(dtype_size(e.dtype));
    if (too_big || e.end - e.begin != want)
        fail(op, "{}: entry '{}': {} {} needs {} bytes but data_offsets [{}, {}] span {}", file,
             name, st_dtype_name(e.dtype, file, name), e.shape,
             too_big ? std::string("more than the data region") : std::to_string(want), e.begin,
             e.end, e.end - e.begin);
    return e;
}

// The tensors must tile the data region exactly: no overlaps, no holes, nothing after.
void check_tiling(const std::vector<Entry>& entries, int64_t data_size, const std::string& file) {
    std::vector<const Entry*> order;
    for (const Entry& e : entries) order.push_back(&e);
    std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
        return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    int64_t pos = 0;
    for (const Entry* e : order) {
        if (e->begin < pos)
            fail("safetensors", "{}: entry '{}' overlaps the previous tensor", file, e->name);
        if (e->begin > pos)
            fail("safetensors", "{}: {} unused bytes before entry '{}'", file, e->begin - pos,
                 e->name);
        pos = e->end;
    }
    if (pos != data_size)
        fail("safetensors", "{}: the tensors cover {} bytes but the data region holds {}", file,
             pos, data_size);
}

}  // namespace

SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& file) {
    const char* op = "safetensors";
    if (bytes.size() < 8)
        fail(op, "{}: file is {} bytes, too short for the 8-byte header length", file,
             bytes.size());
    uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    uint64_t avail = bytes.size() - 8;
    if (n > kMaxHeader)
        fail(op, "{}: header length {} exceeds the {} byte limit", file, n, kMaxHeader);
    if (n > avail)
        fail(op, "{}: header length {} exceeds the {} bytes after the length field (truncated?)",
             file, n, avail);
    Json root = parse_header(bytes.substr(8, n), file);
    if (!root.is_object()) fail(op, "{}: the header is not a JSON object", file);

    const int64_t data_size = int64_t(avail - n);
    SafetensorsFile out;
    std::vector<Entry> entries;
    for (const auto& [name, v] : root.items()) {
        if (name != "__metadata__") {
            entries.push_back(parse_entry(name, v, data_size, file));
            continue;
        }
        if (!v.is_object()) fail(op, "{}: __metadata__ must be an object", file);
        for (const auto& [key, value] : v.items()) {
            if (!value.is_string())
                fail(op, "{}: __metadata__ value '{}' must be a string", file, key);
            out.metadata[key] = value.get<std::string>();
        }
    }
    check_tiling(entries, data_size, file);

    const char* data = bytes.data() + 8 + n;
    for (const Entry& e : entries) {
        Tensor t = Tensor::empty(e.shape, e.dtype);
        if (e.end > e.begin) std::memcpy(t.raw_data(), data + e.begin, size_t(e.end - e.begin));
        out.tensors[e.name] = t;
    }
    return out;
}

SafetensorsFile load_safetensors(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("safetensors", "{}: cannot open for reading ({})", path, std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) fail("safetensors", "{}: read error", path);
    return parse_safetensors(ss.str(), path);
}

void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
    std::vector<Tensor> host;
    Json root = Json::object();
    if (!metadata.empty()) root["__metadata__"] = metadata;
    int64_t offset = 0;
    for (auto& [name, t] : tensors) {
        check_defined("save_safetensors", t, name.c_str());
        if (name == "__metadata__")
            fail("save_safetensors", "{}: '__metadata__' is reserved", path);
        const char* dt = st_dtype_name(t.dtype(), path, name);
        Tensor h = t.detach().cpu().contiguous();
        host.push_back(h);
        int64_t bytes = h.numel() * int64_t(dtype_size(h.dtype()));
        root[name] = {
            {"dtype", dt}, {"shape", h.shape().vec()}, {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
    }
    std::string header;
    try {
        header = root.dump();
    } catch (const Json::exception& e) {  // a name or metadata string that is not UTF-8
        fail("save_safetensors", "{}: {}", path, e.what());
    }
    while (header.size() % 8) header += ' ';  // keeps the data region 8-byte aligned

    std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        fail("save_safetensors", "{}: cannot create {} ({})", path, tmp, std::strerror(errno));
    auto write_all = [&](const void* p, size_t n) {
        const char* c = static_cast<const char*>(p);
        while (n > 0) {
            ssize_t w = ::write(fd, c, n);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                int err = errno;
                ::close(fd);
                ::unlink(tmp.c_str());
                fail("save_safetensors", "{}: write failed ({})", path, std::strerror(err));
            }
            c += w;
            n -= size_t(w);
        }
    };
    uint64_t n = header.size();
    write_all(&n, 8);
    write_all(header.data(), header.size());
    for (const Tensor& h : host)
        if (h.numel() > 0) write_all(h.raw_data(), size_t(h.numel()) * dtype_size(h.dtype()));
    int rc_sync = ::fsync(fd);
    int err_sync = errno;
    int rc_close = ::close(fd);
    if (rc_sync != 0 || rc_close != 0) {
        int err = rc_sync != 0 ? err_sync : errno;
        ::unlink(tmp.c_str());
        fail("save_safetensors", "{}: fsync/close failed ({})", path, std::strerror(err));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        fail("save_safetensors", "{}: rename from {} failed ({})", path, tmp, std::strerror(err));
    }
}

}  // namespace vg
