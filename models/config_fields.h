// A ModelConfig as text: every field by name, in declaration order, for `vitgrad info --model`
// and the `vitgrad models` table. tests/models/test_config_fields.cpp counts ModelConfig's fields,
// so a field added there without a line in config_fields() fails the build's tests.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "models/model.h"

namespace vg::models {

std::string arch_name(Arch a);
std::vector<std::pair<std::string, std::string>> config_fields(const ModelConfig& c);

}  // namespace vg::models
