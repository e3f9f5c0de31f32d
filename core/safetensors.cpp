// safetensors reader/writer with a small JSON parser that validates every field, so a truncated
// or corrupt file becomes a vg::Error instead of a crash or a giant allocation.
#include "core/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <vector>

#include "core/safetensors_json.h"

namespace vg {

static_assert(std::endian::native == std::endian::little,
              "safetensors I/O assumes a little-endian host");

namespace {

using st_json::Json;

constexpr uint64_t kMaxHeader = 100'000'000;  // the reference implementation's limit

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

// A non-negative integer that fits int64, or an error naming `what`.
int64_t as_index(const Json& v, const std::string& file, const std::string& what) {
    if (v.kind != Json::Number || v.text.empty() || v.text[0] == '-' ||
        v.text.find_first_not_of("0123456789") != std::string::npos || v.text.size() > 18)
        fail("safetensors", "{}: {} must be a non-negative integer below 1e18", file, what);
    return std::stoll(v.text);
}

const Json* field(const Json& obj, const char* key) {
    for (size_t k = 0; k < obj.keys.size(); ++k)
        if (obj.keys[k] == key) return &obj.items[k];
    return nullptr;
}

struct Entry {
    std::string name;
    DType dtype;
    Shape shape;
    int64_t begin, end;
};

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
    std::string header = bytes.substr(8, n);
    Json root = st_json::parse(header, file);
    if (root.kind != Json::Object) fail(op, "{}: the header is not a JSON object", file);

    const int64_t data_size = int64_t(avail - n);
    SafetensorsFile out;
    std::vector<Entry> entries;
    for (size_t k = 0; k < root.keys.size(); ++k) {
        const std::string& name = root.keys[k];
        const Json& v = root.items[k];
        if (name == "__metadata__") {
            if (v.kind != Json::Object) fail(op, "{}: __metadata__ must be an object", file);
            for (size_t m = 0; m < v.keys.size(); ++m) {
                if (v.items[m].kind != Json::String)
                    fail(op, "{}: __metadata__ value '{}' must be a string", file, v.keys[m]);
                out.metadata[v.keys[m]] = v.items[m].text;
            }
            continue;
        }
        if (v.kind != Json::Object) fail(op, "{}: entry '{}' must be an object", file, name);
        for (const std::string& key : v.keys)
            if (key != "dtype" && key != "shape" && key != "data_offsets")
                fail(op, "{}: entry '{}' has unknown field '{}'", file, name, key);
        const Json* dt = field(v, "dtype");
        const Json* sh = field(v, "shape");
        const Json* off = field(v, "data_offsets");
        if (!dt || !sh || !off)
            fail(op, "{}: entry '{}' needs dtype, shape and data_offsets", file, name);
        Entry e{name, DType::F32, {}, 0, 0};
        if (dt->kind != Json::String)
            fail(op, "{}: entry '{}': dtype must be a string", file, name);
        if (dt->text == "F32")
            e.dtype = DType::F32;
        else if (dt->text == "F64")
            e.dtype = DType::F64;
        else if (dt->text == "I64")
            e.dtype = DType::I64;
        else
            fail(op, "{}: entry '{}': unsupported dtype '{}' (F32, F64 and I64 are supported)",
                 file, name, dt->text);
        if (sh->kind != Json::Array) fail(op, "{}: entry '{}': shape must be an array", file, name);
        if (int(sh->items.size()) > kMaxDims)
            fail(op, "{}: entry '{}': {} dims, more than the {} supported", file, name,
                 sh->items.size(), kMaxDims);
        // Bytes are bounded by the data region, so the element count can be checked without
        // overflow.
        int64_t numel = 1;
        bool zero = false, too_big = false;
        for (const Json& d : sh->items) {
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
        if (off->kind != Json::Array || off->items.size() != 2)
            fail(op, "{}: entry '{}': data_offsets must be [begin, end]", file, name);
        e.begin = as_index(off->items[0], file, fmt::format("data_offsets of '{}'", name));
        e.end = as_index(off->items[1], file, fmt::format("data_offsets of '{}'", name));
        if (e.begin > e.end || e.end > data_size)
            fail(op, "{}: entry '{}': data_offsets [{}, {}] outside the {}-byte data region", file,
                 name, e.begin, e.end, data_size);
        int64_t want = numel * int64_t(dtype_size(e.dtype));
        if (too_big || e.end - e.begin != want)
            fail(op, "{}: entry '{}': {} {} needs {} bytes but data_offsets [{}, {}] span {}", file,
                 name, dt->text, e.shape,
                 too_big ? std::string("more than the data region") : std::to_string(want), e.begin,
                 e.end, e.end - e.begin);
        entries.push_back(e);
    }
    // The tensors must tile the data region exactly: no overlaps, no holes, nothing after.
    std::vector<const Entry*> order;
    for (const Entry& e : entries) order.push_back(&e);
    std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
        return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    int64_t pos = 0;
    for (const Entry* e : order) {
        if (e->begin < pos) fail(op, "{}: entry '{}' overlaps the previous tensor", file, e->name);
        if (e->begin > pos)
            fail(op, "{}: {} unused bytes before entry '{}'", file, e->begin - pos, e->name);
        pos = e->end;
    }
    if (pos != data_size)
        fail(op, "{}: the tensors cover {} bytes but the data region holds {}", file, pos,
             data_size);

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
    std::string header = "{";
    if (!metadata.empty()) {
        header += "\"__metadata__\":{";
        bool first = true;
        for (auto& [k, v] : metadata) {
            if (!first) header += ',';
            header += st_json::escape(k);
            header += ':';
            header += st_json::escape(v);
            first = false;
        }
        header += "}";
    }
    int64_t offset = 0;
    for (auto& [name, t] : tensors) {
        check_defined("save_safetensors", t, name.c_str());
        if (name == "__metadata__")
            fail("save_safetensors", "{}: '__metadata__' is reserved", path);
        const char* dt = st_dtype_name(t.dtype(), path, name);
        Tensor h = t.detach().cpu().contiguous();
        host.push_back(h);
        int64_t bytes = h.numel() * int64_t(dtype_size(h.dtype()));
        header += fmt::format("{}{}:{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}",
                              header.size() > 1 ? "," : "", st_json::escape(name), dt,
                              fmt::join(h.shape().vec(), ","), offset, offset + bytes);
        offset += bytes;
    }
    header += "}";
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
