// Command-line options of the subcommands other than `train` (demo, eval, bench, inspect), parsed
// and range-checked through the same domains as the training knobs (train/run/knob_values.h):
// one error shape, and the allowed values in every --help line.
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "train/run/knob_values.h"

namespace vg {

// "<help> (allowed: <domain>; default: <value>)".
inline std::string help_with_range(const std::string& help, const std::string& allowed,
                                   const std::string& default_text) {
    return fmt::format("{} (allowed: {}; default: {})", help, allowed,
                       default_text.empty() ? "empty" : default_text);
}

// Adds `flag` to `app`, writing `target`; a rejected value throws vg::Error("<op>: <flag> '<v>' is
// <problem> (allowed: ...)") while the command line is parsed.
template <typename T, typename D>
CLI::Option* add_checked_option(CLI::App* app, const std::string& flag, T& target,
                                const std::string& help, D domain, const char* op) {
    std::string shown = help_with_range(help, domain.describe(), show_value(target));
    CLI::Option* o = app->add_option_function<std::string>(
        flag,
        [&target, domain, flag, op](const std::string& text) {
            parse_checked(op, "", flag, text, domain, target);
        },
        shown);
    o->type_name(type_label<T>())->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    return o;
}

// The same for a list option (`--batch 64 128`): every element is checked.
template <typename T, typename D>
CLI::Option* add_checked_list(CLI::App* app, const std::string& flag, std::vector<T>& target,
                              const std::string& help, D domain, const char* op) {
    std::string defaults;
    for (const T& v : target) defaults += (defaults.empty() ? "" : " ") + show_value(v);
    CLI::Option* o = app->add_option_function<std::vector<std::string>>(
        flag,
        [&target, domain, flag, op](const std::vector<std::string>& texts) {
            std::vector<T> values(texts.size());
            for (size_t i = 0; i < texts.size(); ++i)
                parse_checked(op, "", flag, texts[i], domain, values[i]);
            target = std::move(values);
        },
        help_with_range(help, domain.describe(), defaults));
    o->type_name(type_label<T>());
    return o;
}

}  // namespace vg
