#include "plugins/plugin_config.hpp"

namespace keel {

std::string source_location(const ConfigOrigin& origin, const toml::node& node) {
  const auto& src = node.source();
  // Nodes created by command-line overrides carry no position.
  if (src.begin.line == 0) return origin.name + " (set by a command-line --set)";
  if (!origin.positions) return origin.name;
  return origin.name + ":" + std::to_string(src.begin.line) + ":" + std::to_string(src.begin.column);
}

namespace {

// Settings assembled by hand (tests, benchmarks) may name no origin.
ConfigOrigin origin_of(const PluginSettings& settings, size_t table) {
  return table < settings.origins.size() ? settings.origins[table] : ConfigOrigin{"<settings>", false};
}

}  // namespace

const toml::node* config_lookup(const keel_config& cfg, const char* key, std::string* where) {
  std::lock_guard lock(cfg.mu);
  cfg.read_keys.insert(key);
  for (size_t i = 0; i < cfg.settings.tables.size(); ++i) {
    const toml::table* t = cfg.settings.tables[i];
    if (t == nullptr) continue;
    if (const toml::node* n = t->get(key)) {
      if (where)
        *where = cfg.settings.table_names[i] + " (" + source_location(origin_of(cfg.settings, i), *n) + ")";
      return n;
    }
  }
  return nullptr;
}

void config_type_error(const keel_config& cfg, const char* key, const std::string& where,
                       const char* expected, const toml::node& node) {
  std::lock_guard lock(cfg.mu);
  cfg.type_errors.push_back("key '" + std::string(key) + "' in " + where + " is " + toml_type_name(node) +
                            ", but " + cfg.owner + " expects " + expected);
}

std::string problem_lines(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) out += "\n  " + p;
  return out;
}

std::vector<std::string> config_problems(const keel_config& cfg) {
  std::lock_guard lock(cfg.mu);
  std::vector<std::string> out = cfg.type_errors;
  // Only the first table is the plugin's own: defaults are shared by many
  // topics, and a default meant for one strategy is not an error elsewhere.
  if (!cfg.settings.tables.empty() && cfg.settings.tables[0] != nullptr) {
    for (const auto& [k, v] : *cfg.settings.tables[0]) {
      std::string key(k.str());
      if (cfg.read_keys.count(key) == 0) {
        out.push_back("unknown key '" + key + "' in " + cfg.settings.table_names[0] + " (" +
                      source_location(origin_of(cfg.settings, 0), v) + "): " + cfg.owner +
                      " does not use it; check the spelling in docs/configuration.md");
      }
    }
  }
  return out;
}

}  // namespace keel
