// EpochRecord <-> JSON and the end-of-run plots.
#include "train/run/records.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "train/run/plot.h"

namespace vg {

namespace {

using Json = nlohmann::ordered_json;

// NaN (an absent class) is stored as null: JSON has no NaN.
Json number(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }
double read_number(const Json& j) { return j.is_null() ? NAN : j.get<double>(); }

Json to_json(const EpochRecord& r) {
    Json per_class = Json::array();
    for (double v : r.test.per_class) per_class.push_back(number(v));
    Json j = {{"epoch", r.epoch},
              {"lr", r.lr},
              {"train_loss", number(r.train_loss)},
              {"test_loss", number(r.test.loss)},
              {"top1", r.test.top1},
              {"top5", r.test.top5},
              {"test_count", r.test.count},
              {"per_class_acc", per_class},
              {"epoch_seconds", r.seconds},
              {"images_per_s", r.images_per_s}};
    if (r.ema_top1 >= 0) j["ema_top1"] = r.ema_top1;
    if (!r.gates.empty()) j["gates"] = r.gates;
    if (r.internals) j["internals"] = probe::to_json(*r.internals);
    if (r.internals_init) j["internals_init"] = probe::to_json(*r.internals_init);
    return j;
}

EpochRecord from_json(const Json& j) {
    EpochRecord r;
    r.epoch = j.at("epoch").get<int64_t>();
    r.lr = j.at("lr").get<double>();
    r.train_loss = read_number(j.at("train_loss"));
    r.test.loss = read_number(j.at("test_loss"));
    r.test.top1 = j.at("top1").get<double>();
    r.test.top5 = j.at("top5").get<double>();
    r.test.count = j.at("test_count").get<int64_t>();
    for (const Json& v : j.at("per_class_acc")) r.test.per_class.push_back(read_number(v));
    r.seconds = j.at("epoch_seconds").get<double>();
    r.images_per_s = j.at("images_per_s").get<double>();
    if (j.contains("ema_top1")) r.ema_top1 = j.at("ema_top1").get<double>();
    if (j.contains("gates")) r.gates = j.at("gates").get<std::vector<std::vector<double>>>();
    if (j.contains("internals")) r.internals = probe::study_from_json(j.at("internals"));
    if (j.contains("internals_init"))
        r.internals_init = probe::study_from_json(j.at("internals_init"));
    return r;
}

}  // namespace

Series head_mean(const std::vector<Series>& heads) {
    Series m("mean");
    m.color = "#000000";
    m.width = 2.6;
    if (heads.empty()) return m;
    m.x = heads.front().x;
    m.y.assign(m.x.size(), 0.0);
    for (const Series& s : heads) {
        if (s.x != m.x) {  // no common x
            m.x.clear();
            m.y.clear();
            return m;
        }
        for (size_t i = 0; i < s.y.size(); ++i) m.y[i] += s.y[i] / double(heads.size());
    }
    return m;
}

std::string record_to_json(const EpochRecord& r) { return to_json(r).dump(); }

std::string history_to_json(const std::vector<EpochRecord>& h) {
    Json a = Json::array();
    for (const EpochRecord& r : h) a.push_back(to_json(r));
    return a.dump();
}

std::vector<EpochRecord> history_from_json(const std::string& text) {
    std::vector<EpochRecord> h;
    try {
        for (const Json& j : Json::parse(text)) h.push_back(from_json(j));
    } catch (const nlohmann::json::exception& e) {
        fail("history_from_json", "malformed metrics history ({})", e.what());
    }
    return h;
}

std::vector<EpochRecord> read_metrics_log(const std::string& path) {
    std::ifstream f(path);
    if (!f) fail("read_metrics_log", "cannot read {}", path);
    std::vector<EpochRecord> h;
    std::string line;
    for (int n = 1; std::getline(f, line); ++n) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        try {
            h.push_back(from_json(Json::parse(line)));
        } catch (const nlohmann::json::exception& e) {
            fail("read_metrics_log", "{}:{}: malformed record ({})", path, n, e.what());
        } catch (const Error& e) {
            fail("read_metrics_log", "{}:{}: {}", path, n, e.what());
        }
    }
    return h;
}

std::vector<std::string> write_plots(const std::string& dir, const std::vector<EpochRecord>& h) {
    if (h.empty()) return {};
    namespace fs = std::filesystem;
    std::vector<std::string> written;
    auto write = [&](const char* name, const std::string& svg) {
        std::string path = (fs::path(dir) / name).string();
        write_text_file(path, svg);
        written.push_back(path);
    };
    Series train{"train", {}, {}}, test{"test", {}, {}}, top1{"top-1", {}, {}},
        top5{"top-5", {}, {}}, ema{"EMA top-1", {}, {}};
    for (const EpochRecord& r : h) {
        double e = double(r.epoch + 1);
        train.x.push_back(e), train.y.push_back(r.train_loss);
        test.x.push_back(e), test.y.push_back(r.test.loss);
        top1.x.push_back(e), top1.y.push_back(r.test.top1);
        top5.x.push_back(e), top5.y.push_back(r.test.top5);
        if (r.ema_top1 >= 0) ema.x.push_back(e), ema.y.push_back(r.ema_top1);
    }
    write("loss.svg", render_svg({{"loss", "epoch", "cross-entropy", {train, test}}}, 1));
    std::vector<Series> acc = {top1, top5};
    if (!ema.x.empty()) acc.push_back(ema);
    write("accuracy.svg", render_svg({{"test accuracy", "epoch", "%", acc}}, 1));

    size_t layers = h.back().gates.size();
    if (layers == 0) return written;
    std::vector<Panel> panels;
    for (size_t l = 0; l < layers; ++l) {
        Panel p{fmt::format("GPSA layer {}: gate sigmoid(lambda)", l + 1), "epoch", "gate", {}};
        size_t heads = h.back().gates[l].size();
        for (size_t k = 0; k < heads; ++k) {
            Series s(fmt::format("head {}", k + 1));
            for (const EpochRecord& r : h)
                if (l < r.gates.size() && k < r.gates[l].size())
                    s.x.push_back(double(r.epoch + 1)), s.y.push_back(r.gates[l][k]);
            p.series.push_back(std::move(s));
        }
        p.series.push_back(head_mean(p.series));  // in black, as ConViT's Fig. 6
        panels.push_back(std::move(p));
    }
    write("gates.svg", render_svg(panels, 2));
    return written;
}

}  // namespace vg
