// The values a setting accepts, stated once: parsing, the range check, the error text and the
// `--help` text all come from one domain object. The training knobs (train/run/config.cpp) and
// the options of the other subcommands (train/run/cli_options.h) share this path.
//
// A domain is one of
//   Range<T>   numbers (int, int64_t, uint64_t, double): lo <= v <= hi, either end may be strict;
//              NaN and the infinities are never inside a finite range;
//   TextRange  text: a fixed list of choices, a custom check (device names), or anything;
//   Names<E>   an enum spelled by name;
//   Flag       a boolean (true/false, 1/0, yes/no, on/off).
// Each domain type provides `parse(text, out)` and `problem(value)`, which return "" when the text
// or value is accepted and otherwise what is wrong, and `describe()`, the allowed values.
#pragma once
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/error.h"

namespace vg {

std::string trim_text(const std::string& s);
// Removes one pair of surrounding double quotes (config files may quote text values).
std::string unquote(const std::string& s);
// The candidates closest to `name` by edit distance over the whole names (at most a third of the
// longer name's letters differ), best first; empty when none is close.
std::vector<std::string> close_names(const std::string& name,
                                     const std::vector<std::string>& candidates);
// " (did you mean a, b?)" or "" when nothing is close.
std::string did_you_mean(const std::string& name, const std::vector<std::string>& candidates);

template <typename T>
struct Range {
    static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>);
    T lo, hi;
    bool lo_open = false, hi_open = false;  // strict inequality at that end

    bool contains(T v) const {  // comparisons with NaN are false, so NaN is never inside
        return (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
    }
    std::string describe() const {
        return fmt::format("{}{}, {}{}", lo_open ? '(' : '[', lo, hi, hi_open ? ')' : ']');
    }
    std::string problem(T v) const { return contains(v) ? "" : "out of range"; }
    std::string parse(const std::string& text, T& out) const;
};

// Closed [lo, hi]; [lo, hi) and (lo, hi] for the half-open ones.
template <typename T>
Range<T> closed(T lo, T hi) {
    return {lo, hi};
}
inline Range<double> open_hi(double lo, double hi) { return {lo, hi, false, true}; }
inline Range<double> open_lo(double lo, double hi) { return {lo, hi, true, false}; }

struct TextRange {
    std::string allowed;  // describe(): "adamw | sgd", "a path", ...
    std::function<std::string(const std::string&)> check;  // "" when accepted; null: anything

    std::string describe() const { return allowed; }
    std::string problem(const std::string& v) const { return check ? check(v) : ""; }
    std::string parse(const std::string& text, std::string& out) const;
};
// Any text, described as `what` ("a directory", ...).
TextRange any_text(std::string what);
// Any non-empty text.
TextRange nonempty_text(std::string what);
// One of a fixed list; `list` is asked each time (the model registry grows).
TextRange one_of(std::function<std::vector<std::string>()> list, std::string allowed = "");
TextRange one_of(std::vector<std::string> names);
// cpu | cuda | cuda:N, as Device::parse reads it.
TextRange device_names();

template <typename E>
struct Names {
    std::vector<std::pair<std::string, E>> names;

    std::string describe() const {
        std::string s;
        for (auto& [text, e] : names) s += (s.empty() ? "" : " | ") + text;
        return s;
    }
    std::string problem(E) const { return ""; }
    std::string parse(const std::string& text, E& out) const {
        std::string s = unquote(trim_text(text));
        for (auto& [t, e] : names)
            if (t == s) {
                out = e;
                return "";
            }
        return "not one of " + describe();
    }
    std::string show(E v) const {
        for (auto& [t, e] : names)
            if (e == v) return t;
        return "?";
    }
};

struct Flag {
    std::string describe() const { return "true | false"; }
    std::string problem(bool) const { return ""; }
    std::string parse(const std::string& text, bool& out) const;
};

// The text form of a value (what `get` returns and config.json stores).
template <typename T>
std::string show_value(const T& v) {
    if constexpr (std::is_same_v<T, bool>)
        return v ? "true" : "false";
    else if constexpr (std::is_same_v<T, std::string>)
        return v;
    else
        return fmt::format("{}", v);
}

// "INT", "FLOAT", "BOOL", "TEXT" (the value placeholder in --help).
template <typename T>
const char* type_label() {
    if constexpr (std::is_same_v<T, bool>) return "BOOL";
    if constexpr (std::is_floating_point_v<T>) return "FLOAT";
    if constexpr (std::is_integral_v<T>) return "INT";
    return "TEXT";
}

// The one error shape for a rejected value: "<op>: <where><key> <text> is <problem> (allowed:
// <domain>)", where key is "--flag" on the command line and "name =" elsewhere.
[[noreturn]] void fail_value(const char* op, const std::string& where, const std::string& key,
                             const std::string& text, const std::string& problem,
                             const std::string& allowed);

// Parses `text` through `domain` and checks the value; sets `out` and returns "" when both pass,
// otherwise returns what is wrong and leaves `out` alone.
template <typename T, typename D>
std::string parse_in(const D& domain, const std::string& text, T& out) {
    T v{};
    std::string bad = domain.parse(text, v);
    if (bad.empty()) bad = domain.problem(v);
    if (bad.empty()) out = std::move(v);
    return bad;
}

// parse_in, throwing via fail_value when the text or the value is rejected.
template <typename T, typename D>
void parse_checked(const char* op, const std::string& where, const std::string& key,
                   const std::string& text, const D& domain, T& out) {
    std::string bad = parse_in(domain, text, out);
    if (!bad.empty()) fail_value(op, where, key, trim_text(text), bad, domain.describe());
}

}  // namespace vg
