// The safetensors checkpoint format: an 8-byte little-endian header length, a JSON header
// {name: {"dtype", "shape", "data_offsets"}, "__metadata__": {str: str}}, then raw tensor bytes.
#pragma once
#include <map>
#include <string>

#include "core/tensor.h"

namespace vg {

struct SafetensorsFile {
    std::map<std::string, Tensor> tensors;  // CPU, contiguous
    std::map<std::string, std::string> metadata;
};

// Writes atomically (path.tmp.<pid>, fsync, rename). Tensors may live on any device and have any
// strides; F32, F64 and I64 are supported.
void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Reads and validates everything (header size, JSON, dtypes, shapes, offsets, coverage of the data
// region); any problem is a vg::Error naming the file and what is wrong.
SafetensorsFile load_safetensors(const std::string& path);

// Parses a whole file image held in memory (`name` is used in error messages).
SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& name);

}  // namespace vg
