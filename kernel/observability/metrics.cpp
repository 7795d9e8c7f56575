#include "observability/metrics.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <exception>
#include <set>

namespace keel {

namespace {

// The "log once" memory is bounded so that a transport inventing a new bad
// name per request cannot grow it without end; past the bound we stay quiet.
constexpr size_t kMaxRememberedWarnings = 1024;

bool name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

constexpr const char* kNamePattern = "[a-zA-Z_:][a-zA-Z0-9_:]*";

// A caller's text made safe for a one-line log message.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

bool valid_metric_name(std::string_view name) {
  if (name.empty() || !(name_start(name[0]) || name[0] == ':')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return name_char(c) || c == ':'; });
}

// Checks `a="x",b="y\"z"`: what goes between the braces of a sample line.
// Returns an explanation when the text would make the exposition unparsable.
std::optional<std::string> label_text_problem(std::string_view labels, bool histogram) {
  std::set<std::string_view> seen;
  size_t i = 0;
  while (i < labels.size()) {
    const size_t start = i;
    if (!name_start(labels[i])) return "a label name must start with a letter or '_'";
    while (i < labels.size() && name_char(labels[i])) ++i;
    const std::string_view label = labels.substr(start, i - start);
    if (histogram && label == "le") return "label 'le' is reserved for histogram buckets";
    if (!seen.insert(label).second) return "label '" + std::string(label) + "' appears twice";
    if (i + 1 >= labels.size() || labels[i] != '=' || labels[i + 1] != '"') {
      return "label '" + std::string(label) + "' must be followed by =\"value\"";
    }
    i += 2;
    for (;;) {
      if (i >= labels.size()) return "unterminated value of label '" + std::string(label) + "'";
      const char c = labels[i];
      if (c == '"') break;
      if (c == '\n') return "raw newline in a label value (write it as \\n)";
      if (c == '\\') {
        if (i + 1 >= labels.size() ||
            (labels[i + 1] != '\\' && labels[i + 1] != '"' && labels[i + 1] != 'n')) {
          return "a backslash in a label value must start \\\\, \\\" or \\n";
        }
        ++i;
      }
      ++i;
    }
    ++i;  // closing quote
    if (i < labels.size()) {
      if (labels[i] != ',' || i + 1 == labels.size()) return "labels must be separated by single commas";
      ++i;
    }
  }
  return std::nullopt;
}

const char* type_name(int type) {
  static constexpr const char* kNames[] = {"counter", "gauge", "histogram"};
  return kNames[type];
}

void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    // Shortest round-trip text; below 1 in the style of Go's 'g' (what
    // Prometheus' own clients print), so bucket bounds read le="0.0005"
    // rather than le="5e-04" and match what dashboards query for.
    char buf[32];
    auto res = std::fabs(v) < 1 ? std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::general)
                                : std::to_chars(buf, buf + sizeof(buf), v);
    out.append(buf, res.ptr);
  }
}

void append_number(std::string& out, uint64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, res.ptr);
}

void append_labels(std::string& out, std::string_view labels, std::string_view extra) {
  if (labels.empty() && extra.empty()) return;
  out += '{';
  out += labels;
  if (!labels.empty() && !extra.empty()) out += ',';
  out += extra;
  out += '}';
}

void append_help(std::string& out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

}  // namespace

struct Metrics::Warnings {
  std::mutex mu;
  std::set<std::string> keys;
};

struct Metrics::Snapshot {
  struct Sample {
    double value = 0;
    std::array<uint64_t, kHistogramBuckets.size() + 1> counts{};
    double sum = 0;
    uint64_t count = 0;
  };
  struct FamilyView {
    Type type;
    std::map<std::string, Sample> samples;
  };
  std::map<std::string, FamilyView> families;
  std::map<std::string, std::string> help;
};

Metrics::Metrics() : warnings_(std::make_shared<Warnings>()) {}
Metrics::Metrics(std::shared_ptr<Warnings> warnings) : warnings_(std::move(warnings)) {}
Metrics::~Metrics() = default;

void Metrics::warn_once(const std::string& key, const std::string& message) const {
  {
    std::lock_guard lock(warnings_->mu);
    if (warnings_->keys.size() >= kMaxRememberedWarnings || !warnings_->keys.insert(key).second) return;
  }
  spdlog::warn("metrics: {} (further occurrences are not logged)", message);
}

Metrics::Cell* Metrics::find_cell(std::string_view name, std::string_view labels, Type type,
                                  bool& type_clash) const {
  auto fit = families_.find(name);
  if (fit == families_.end()) return nullptr;
  if (fit->second.type != type) {
    type_clash = true;
    return nullptr;
  }
  auto cit = fit->second.cells.find(labels);
  return cit == fit->second.cells.end() ? nullptr : cit->second.get();
}

Metrics::Cell* Metrics::cell(std::string_view name, std::string_view labels, Type type) {
  bool clash = false;
  {
    std::shared_lock lock(mu_);
    if (Cell* c = find_cell(name, labels, type, clash)) return c;
  }
  // Only the first use of a sample gets here, so validation costs nothing on
  // the hot path: a stored name and label text were checked when inserted.
  if (!clash) {
    if (!valid_metric_name(name)) {
      warn_once("name:" + std::string(name), "ignoring metric with invalid name " + quoted(name) +
                                                 " (names must match " + kNamePattern + ")");
      return nullptr;
    }
    if (auto problem = label_text_problem(labels, type == Type::kHistogram)) {
      warn_once(
          "labels:" + std::string(name) + "{" + std::string(labels) + "}",
          "ignoring sample of " + quoted(name) + " with invalid labels " + quoted(labels) + ": " + *problem);
      return nullptr;
    }
  }
  std::unique_lock lock(mu_);
  auto fit = families_.try_emplace(std::string(name), Family{type, {}}).first;
  if (fit->second.type != type) {
    const char* have = type_name(static_cast<int>(fit->second.type));
    const char* want = type_name(static_cast<int>(type));
    warn_once("type:" + std::string(name) + ":" + want,
              "metric \"" + std::string(name) + "\" is a " + have + "; ignoring its use as a " + want);
    return nullptr;
  }
  auto& cells = fit->second.cells;
  auto cit = cells.find(labels);
  if (cit == cells.end()) {
    auto c = std::make_unique<Cell>();
    if (type == Type::kHistogram) c->histogram = std::make_unique<HistogramCell>();
    cit = cells.emplace(std::string(labels), std::move(c)).first;
  }
  return cit->second.get();
}

void Metrics::counter_add(std::string_view name, std::string_view labels, double delta) {
  if (!(delta >= 0) || std::isinf(delta)) {
    warn_once("delta:" + std::string(name), "ignoring counter_add of " + std::to_string(delta) + " to " +
                                                quoted(name) + ": counters only grow by finite amounts");
    return;
  }
  if (Cell* c = cell(name, labels, Type::kCounter)) c->value.fetch_add(delta, std::memory_order_relaxed);
}

void Metrics::gauge_set(std::string_view name, std::string_view labels, double value) {
  if (Cell* c = cell(name, labels, Type::kGauge)) c->value.store(value, std::memory_order_relaxed);
}

void Metrics::histogram_observe(std::string_view name, std::string_view labels, double value) {
  // A NaN or infinite observation would poison _sum for the life of the broker.
  if (!std::isfinite(value)) {
    warn_once("observe:" + std::string(name),
              "ignoring non-finite observation for histogram " + quoted(name));
    return;
  }
  Cell* c = cell(name, labels, Type::kHistogram);
  if (c == nullptr) return;
  const size_t bucket =
      std::lower_bound(kHistogramBuckets.begin(), kHistogramBuckets.end(), value) - kHistogramBuckets.begin();
  HistogramCell& h = *c->histogram;
  std::lock_guard lock(h.mu);
  ++h.counts[bucket];
  h.sum += value;
  ++h.count;
}

void Metrics::describe(std::string_view name, std::string_view help) {
  if (!valid_metric_name(name)) {
    warn_once("name:" + std::string(name), "ignoring HELP for metric with invalid name " + quoted(name) +
                                               " (names must match " + kNamePattern + ")");
    return;
  }
  std::unique_lock lock(mu_);
  help_.insert_or_assign(std::string(name), std::string(help));
}

void Metrics::add_collector(Collector c) {
  std::lock_guard lock(collectors_mu_);
  collectors_.push_back(std::make_shared<const Collector>(std::move(c)));
}

std::optional<double> Metrics::value(std::string_view name, std::string_view labels) const {
  std::shared_lock lock(mu_);
  auto fit = families_.find(name);
  if (fit == families_.end() || fit->second.type == Type::kHistogram) return std::nullopt;
  auto cit = fit->second.cells.find(labels);
  if (cit == fit->second.cells.end()) return std::nullopt;
  return cit->second->value.load(std::memory_order_relaxed);
}

Metrics::Snapshot Metrics::snapshot() const {
  Snapshot snap;
  std::shared_lock lock(mu_);
  for (const auto& [name, family] : families_) {
    auto& view = snap.families.try_emplace(name, Snapshot::FamilyView{family.type, {}}).first->second;
    for (const auto& [labels, c] : family.cells) {
      Snapshot::Sample& s = view.samples[labels];
      if (c->histogram) {
        std::lock_guard hlock(c->histogram->mu);
        s.counts = c->histogram->counts;
        s.sum = c->histogram->sum;
        s.count = c->histogram->count;
      } else {
        s.value = c->value.load(std::memory_order_relaxed);
      }
    }
  }
  snap.help.insert(help_.begin(), help_.end());
  return snap;
}

std::string Metrics::render() const {
  std::vector<std::shared_ptr<const Collector>> collectors;
  {
    std::lock_guard lock(collectors_mu_);
    collectors = collectors_;
  }
  // Collectors first, so that whatever they add to this registry directly
  // shows up in this very rendering.
  std::optional<Snapshot> collected;
  if (!collectors.empty()) {
    Metrics scratch(warnings_);
    for (const auto& c : collectors) {
      try {
        (*c)(scratch);
      } catch (const std::exception& e) {
        warn_once(std::string("collector:") + e.what(),
                  std::string("a metrics collector failed; its samples may be missing: ") + e.what());
      }
    }
    collected = scratch.snapshot();
  }

  Snapshot snap = snapshot();
  if (collected) {
    for (auto& [name, view] : collected->families) {
      auto [it, inserted] = snap.families.try_emplace(name, std::move(view));
      if (inserted) continue;
      if (it->second.type != view.type) {
        const char* have = type_name(static_cast<int>(it->second.type));
        const char* want = type_name(static_cast<int>(view.type));
        warn_once("type:" + name + ":" + want, "metric \"" + name + "\" is a " + have +
                                                   "; ignoring a collector's " + want + " of that name");
        continue;
      }
      for (auto& [labels, sample] : view.samples) it->second.samples.insert_or_assign(labels, sample);
    }
    snap.help.merge(collected->help);  // stored HELP text wins
  }

  std::string out;
  for (const auto& [name, view] : snap.families) {
    if (auto h = snap.help.find(name); h != snap.help.end()) {
      out += "# HELP ";
      out += name;
      out += ' ';
      append_help(out, h->second);
      out += '\n';
    }
    out += "# TYPE ";
    out += name;
    out += ' ';
    out += type_name(static_cast<int>(view.type));
    out += '\n';
    for (const auto& [labels, s] : view.samples) {
      if (view.type != Type::kHistogram) {
        out += name;
        append_labels(out, labels, {});
        out += ' ';
        append_number(out, s.value);
        out += '\n';
        continue;
      }
      uint64_t cumulative = 0;
      for (size_t b = 0; b < s.counts.size(); ++b) {
        cumulative += s.counts[b];
        std::string le = "le=\"";
        if (b < kHistogramBuckets.size()) {
          append_number(le, kHistogramBuckets[b]);
        } else {
          le += "+Inf";
        }
        le += '"';
        out += name;
        out += "_bucket";
        append_labels(out, labels, le);
        out += ' ';
        append_number(out, cumulative);
        out += '\n';
      }
      out += name;
      out += "_sum";
      append_labels(out, labels, {});
      out += ' ';
      append_number(out, s.sum);
      out += '\n';
      out += name;
      out += "_count";
      append_labels(out, labels, {});
      out += ' ';
      append_number(out, s.count);
      out += '\n';
    }
  }
  return out;
}

}  // namespace keel
