// Parsing and checking of setting values (see knob_values.h).
#include "train/run/knob_values.h"

#include <algorithm>
#include <charconv>

#include "core/device.h"

namespace vg {

std::string trim_text(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string unquote(const std::string& s) {
    return s.size() >= 2 && s.front() == '"' && s.back() == '"' ? s.substr(1, s.size() - 2) : s;
}

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
            diag = up;
        }
    }
    return row[b.size()];
}

}  // namespace

std::vector<std::string> close_names(const std::string& name,
                                     const std::vector<std::string>& candidates) {
    std::vector<std::pair<size_t, std::string>> scored;
    for (const std::string& c : candidates) {
        size_t d = edit_distance(name, c);
        if (d * 3 <= std::max(name.size(), c.size())) scored.emplace_back(d, c);
    }
    std::stable_sort(scored.begin(), scored.end(),
                     [](const auto& x, const auto& y) { return x.first < y.first; });
    std::vector<std::string> out;
    for (auto& [d, c] : scored)
        if (out.size() < 3) out.push_back(c);
    return out;
}

std::string did_you_mean(const std::string& name, const std::vector<std::string>& candidates) {
    std::vector<std::string> near = close_names(name, candidates);
    if (near.empty()) return "";
    std::string s;
    for (const std::string& n : near) s += (s.empty() ? "" : ", ") + n;
    return " (did you mean " + s + "?)";
}

template <typename T>
std::string Range<T>::parse(const std::string& text, T& out) const {
    std::string s = unquote(trim_text(text));
    const char* what = std::is_floating_point_v<T> ? "not a number" : "not an integer";
    if (s.empty()) return what;
    // from_chars reads no sign for unsigned types, so "-1" is refused instead of wrapping.
    const char* first = s.data() + (s[0] == '+' ? 1 : 0);
    const char* last = s.data() + s.size();
    auto [end, ec] = std::from_chars(first, last, out);
    if (ec == std::errc::result_out_of_range) return "out of range";
    if (ec != std::errc() || end != last) return what;
    return "";
}

template struct Range<int>;
template struct Range<int64_t>;
template struct Range<uint64_t>;
template struct Range<double>;

std::string TextRange::parse(const std::string& text, std::string& out) const {
    out = unquote(trim_text(text));
    return "";
}

TextRange any_text(std::string what) { return {std::move(what), nullptr}; }

TextRange nonempty_text(std::string what) {
    return {what, [](const std::string& v) { return v.empty() ? std::string("empty") : ""; }};
}

TextRange one_of(std::function<std::vector<std::string>()> list, std::string allowed) {
    if (allowed.empty())
        for (const std::string& n : list()) allowed += (allowed.empty() ? "" : " | ") + n;
    return {allowed, [list = std::move(list)](const std::string& v) {
                std::vector<std::string> names = list();
                if (std::find(names.begin(), names.end(), v) != names.end()) return std::string();
                return "not known" + did_you_mean(v, names);
            }};
}

TextRange one_of(std::vector<std::string> names) {
    return one_of([names] { return names; });
}

TextRange device_names() {
    return {"cpu | cuda | cuda:N", [](const std::string& v) {
                try {
                    Device::parse(v);
                    return std::string();
                } catch (const Error&) {
                    return std::string("not a device");
                }
            }};
}

std::string Flag::parse(const std::string& text, bool& out) const {
    std::string s = unquote(trim_text(text));
    if (s == "true" || s == "1" || s == "yes" || s == "on") {
        out = true;
        return "";
    }
    if (s == "false" || s == "0" || s == "no" || s == "off") {
        out = false;
        return "";
    }
    return "not a boolean";
}

void fail_value(const char* op, const std::string& where, const std::string& key,
                const std::string& text, const std::string& problem, const std::string& allowed) {
    std::string k = key.rfind("--", 0) == 0 ? key + " " : key + " = ";
    fail(op, "{}{}'{}' is {} (allowed: {})", where, k, text, problem, allowed);
}

}  // namespace vg
