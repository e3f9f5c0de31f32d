// safetensors: round trips, metadata, atomic writes, and a fuzzed reader (every truncation, random
// bit flips) that must either load or throw vg::Error.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/safetensors.h"
#include "tests/helpers.h"

using namespace vg;

namespace {

std::string tmp_path(const std::string& name) {
    return (std::filesystem::temp_directory_path() /
            ("vg_test_" + std::to_string(::getpid()) + "_" + name))
        .string();
}

std::string read_file(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

std::map<std::string, Tensor> sample_tensors() {
    return {
        {"a.weight", test::uniform({3, 4}, -1, 1, DType::F32, 1)},
        {"b", test::uniform({2, 1, 3}, -1, 1, DType::F64, 2)},
        {"labels", Tensor::from_vector_i64({1, -2, 3}, {3})},
        {"scalar", Tensor::full({}, 2.5, DType::F64)},
        {"empty", Tensor::zeros({0, 5})},
    };
}

// A hand-built file image: 8-byte length, header, data.
std::string image(const std::string& header, const std::string& data) {
    uint64_t n = header.size();
    std::string s(reinterpret_cast<const char*>(&n), 8);
    return s + header + data;
}

}  // namespace

TEST_CASE("safetensors: round trip keeps names, dtypes, shapes, values and metadata") {
    std::string p = tmp_path("rt.safetensors");
    auto ts = sample_tensors();
    // A non-contiguous view is written as its logical values.
    ts["t"] = test::uniform({4, 3}, -1, 1, DType::F64, 3).transpose(0, 1);
    save_safetensors(p, ts, {{"format", "pt"}, {"note", "quote \" and \\ and \n"}});
    CHECK_FALSE(std::filesystem::exists(p + ".tmp." + std::to_string(::getpid())));
    SafetensorsFile f = load_safetensors(p);
    REQUIRE(f.tensors.size() == ts.size());
    for (auto& [name, t] : ts) {
        const Tensor& g = f.tensors.at(name);
        CHECK(g.dtype() == t.dtype());
        CHECK(g.shape() == t.shape());
        if (t.dtype() == DType::I64)
            CHECK(g.to_vector_i64() == t.to_vector_i64());
        else
            CHECK(g.to_vector() == t.to_vector());
    }
    CHECK(f.metadata.at("format") == "pt");
    CHECK(f.metadata.at("note") == "quote \" and \\ and \n");
    // The data region starts 8-byte aligned, as the reference writer pads the header.
    uint64_t n = 0;
    std::string bytes = read_file(p);
    std::memcpy(&n, bytes.data(), 8);
    CHECK(n % 8 == 0);
    std::remove(p.c_str());
}

TEST_CASE("safetensors: reads hand-written headers (escapes, whitespace, field order)") {
    float v[2] = {1.5f, -2.0f};
    std::string data(reinterpret_cast<const char*>(v), 8);
    std::string h =
        " { \"__metadata__\" : {\"k\":\"\\u00e9\\ud83d\\ude00\"}, \"x\\/y\" : "
        "{\"data_offsets\":[0,8], \"shape\" : [2] , \"dtype\":\"F32\"} } ";
    SafetensorsFile f = parse_safetensors(image(h, data), "mem");
    CHECK(f.tensors.at("x/y").to_vector() == std::vector<double>{1.5, -2.0});
    CHECK(f.metadata.at("k") == "\xc3\xa9\xf0\x9f\x98\x80");
}

TEST_CASE("safetensors: every corruption is a vg::Error naming the file and the problem") {
    float v[2] = {1.5f, -2.0f};
    std::string d(reinterpret_cast<const char*>(v), 8);
    auto bad = [&](const std::string& bytes, const char* what) {
        CHECK_THROWS_WITH_AS(parse_safetensors(bytes, "bad.st"), doctest::Contains(what), Error);
        CHECK_THROWS_WITH_AS(parse_safetensors(bytes, "bad.st"), doctest::Contains("bad.st"),
                             Error);
    };
    bad("abc", "too short");
    bad(image("{}", "").substr(0, 7), "too short");
    std::string huge(8, '\0');
    huge[5] = 1;  // 2^40 byte header
    bad(huge, "limit");
    bad(image("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", d).substr(0, 20),
        "exceeds");
    bad(image("[1]", ""), "not a JSON object");
    bad(image("{\"x\":", ""), "malformed JSON header at byte 5");
    bad(image("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} x", d),
        "malformed JSON header at byte 55");
    bad(image("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} x", d),
        "expected end of input");
    bad(image("{\"x\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", d.substr(0, 4)),
        "unsupported dtype");
    bad(image("{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", d),
        "needs 12 bytes");
    bad(image("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", d), "outside");
    bad(image("{\"x\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", d),
        "non-negative integer");
    bad(image("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
              "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
              d),
        "overlaps");
    bad(image("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", d),
        "unused bytes");
    bad(image("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", d),
        "cover 4 bytes");
    bad(image(
            "{\"x\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}",
            d),
        "more than the data region");
    bad(image("{\"x\":{\"dtype\":\"F32\",\"shape\":[2]}}", d),
        "needs dtype, shape and data_offsets");
    bad(image("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"z\":1}}", d),
        "unknown field");
    bad(image("{\"x\":1,\"x\":2}", ""), "duplicate key");
    bad(image(std::string(200, '[') + std::string(200, ']'), ""), "too deep");
    bad(image("{\"__metadata__\":{\"a\":1}}", ""), "must be a string");
    CHECK_THROWS_WITH_AS(load_safetensors("/nonexistent/x.safetensors"),
                         doctest::Contains("cannot open"), Error);
    CHECK_THROWS_WITH_AS(save_safetensors("/nonexistent/dir/x.safetensors", sample_tensors()),
                         doctest::Contains("cannot create"), Error);
}

TEST_CASE("safetensors: fuzzed reader loads or throws vg::Error, never crashes") {
    std::string p = tmp_path("fuzz.safetensors");
    save_safetensors(p, sample_tensors(), {{"k", "v"}});
    const std::string good = read_file(p);
    std::remove(p.c_str());
    int loaded = 0, rejected = 0;
    auto attempt = [&](const std::string& bytes) {
        try {
            parse_safetensors(bytes, "fuzz");
            ++loaded;
        } catch (const Error&) {
            ++rejected;
        }
    };
    for (size_t n = 0; n < good.size(); ++n) attempt(good.substr(0, n));  // every truncation
    CHECK(loaded == 0);  // the tensors tile the data region, so any truncation is detected
    std::mt19937_64 rng(20240601);
    for (int trial = 0; trial < 4000; ++trial) {
        std::string b = good;
        int flips = 1 + int(rng() % 3);
        for (int k = 0; k < flips; ++k) {
            size_t pos = rng() % b.size();
            b[pos] = char(uint8_t(b[pos]) ^ uint8_t(1u << (rng() % 8)));
        }
        attempt(b);
    }
    MESSAGE("fuzz: ", loaded, " corrupted images still loaded (flips in data or padding), ",
            rejected, " rejected");
    CHECK(rejected > 0);
}
