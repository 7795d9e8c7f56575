#include "plugins/plugin_registry.hpp"

#include <dlfcn.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "common/error.hpp"
#include "common/suggestion.hpp"
#include "plugins/vtable_check.hpp"

namespace keel {
namespace {

// What ABI 2.0 defines of the descriptor and of one strategy entry: every 2.x
// plugin has at least these. Later minors only append.
constexpr size_t kMinDescriptorSize = offsetof(keel_plugin_descriptor, strategies) + sizeof(void*);
constexpr size_t kMinStrategySize = offsetof(keel_strategy, vtable) + sizeof(void*);

std::string abi_text(unsigned major, unsigned minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

}  // namespace

const char* kind_name(int32_t kind) {
  switch (kind) {
    case KEEL_KIND_INDEX:
      return "index";
    case KEEL_KIND_RETENTION:
      return "retention";
    case KEEL_KIND_PARTITIONER:
      return "partitioner";
    case KEEL_KIND_TRANSPORT:
      return "transport";
    case KEEL_KIND_COORDINATOR:
      return "coordinator";
    case KEEL_KIND_AUTHORIZER:
      return "authorizer";
  }
  return "unknown";
}

std::vector<std::string> plugin_search_path(std::vector<std::string> configured) {
  configured.push_back(KEEL_DEFAULT_PLUGIN_DIR);
  return configured;
}

PluginRegistry::PluginRegistry(std::vector<std::string> search_path, const Clock* clock)
    : search_path_(std::move(search_path)), clock_(clock) {}

void PluginRegistry::load_library(const std::string& path) {
  namespace dll = boost::dll;
  auto lib = std::make_shared<LoadedLibrary>();
  lib->path = path;
  boost::system::error_code ec;
  // rtld_now: fail here, with the file named, on a missing symbol, rather
  // than crash on first use.
  lib->library.load(path, ec, dll::load_mode::rtld_now | dll::load_mode::rtld_local);
  if (ec) {
    const char* detail = dlerror();
    fail(KEEL_ERR_INVALID_ARGUMENT, "cannot load plugin '" + path + "': " + (detail ? detail : ec.message()) +
                                        "; is it a Keel plugin built for this platform?");
  }
  if (!lib->library.has(KEEL_PLUGIN_ENTRY_SYMBOL)) {
    fail(KEEL_ERR_INVALID_ARGUMENT, "plugin '" + path +
                                        "' has no entry symbol '" KEEL_PLUGIN_ENTRY_SYMBOL
                                        "'; export one with the KEEL_PLUGIN macro from <keel/plugin.hpp>");
  }
  auto entry = lib->library.get<const keel_plugin_descriptor*()>(KEEL_PLUGIN_ENTRY_SYMBOL);
  const keel_plugin_descriptor* d = entry();
  // struct_size, abi_major and abi_minor sit at the same place in every ABI
  // version: read them before trusting anything else.
  if (d == nullptr || !KEEL_HAS_FIELD(d, keel_plugin_descriptor, abi_minor)) {
    fail(KEEL_ERR_INVALID_ARGUMENT, "plugin '" + path + "' returned no or a truncated descriptor");
  }
  const std::string theirs = abi_text(d->abi_major, d->abi_minor);
  const std::string ours = abi_text(KEEL_ABI_MAJOR, KEEL_ABI_MINOR);
  if (d->abi_major == 1) {
    fail(KEEL_ERR_UNSUPPORTED,
         "plugin '" + path + "' was built for Keel plugin ABI " + theirs + "; this broker speaks ABI " +
             ours + " and cannot load 1.x plugins: rebuild it against the Keel SDK " +
             std::to_string(KEEL_ABI_MAJOR) + ".x (see docs/plugins.md, \"Migrating from 1.x\")");
  }
  if (d->abi_major != KEEL_ABI_MAJOR) {
    fail(KEEL_ERR_UNSUPPORTED, "plugin '" + path + "' was built for Keel plugin ABI " + theirs +
                                   ", but this broker speaks ABI " + ours +
                                   "; rebuild the plugin against this broker's SDK");
  }
  if (d->abi_minor > KEEL_ABI_MINOR) {
    // Rule 1: a plugin may rely on everything its minor added, which this
    // broker does not have.
    fail(KEEL_ERR_UNSUPPORTED,
         "plugin '" + path + "' was built for Keel plugin ABI " + theirs + ", newer than this broker's " +
             ours + "; upgrade the broker, or rebuild the plugin with -DKEEL_TARGET_ABI_MINOR=" +
             std::to_string(KEEL_ABI_MINOR));
  }
  if (d->struct_size < kMinDescriptorSize || d->strategy_size < kMinStrategySize ||
      (d->strategy_count > 0 && d->strategies == nullptr)) {
    fail(KEEL_ERR_INVALID_ARGUMENT,
         "plugin '" + path + "' returned a truncated descriptor (" + std::to_string(d->struct_size) +
             " bytes, strategies of " + std::to_string(d->strategy_size) +
             " bytes); rebuild it against the Keel SDK " + std::to_string(KEEL_ABI_MAJOR) + ".x");
  }
  lib->descriptor = d;
  lib->host = std::make_unique<HostServices>(d->name ? d->name : "plugin", clock_);
  register_library(lib);
  spdlog::info("loaded plugin '{}' {} (ABI {}.{}) from {}", d->name ? d->name : "?",
               d->version ? d->version : "?", d->abi_major, d->abi_minor, path);
}

void PluginRegistry::register_library(const std::shared_ptr<LoadedLibrary>& lib) {
  const keel_plugin_descriptor* d = lib->descriptor;
  std::vector<StrategyRef> found;
  const std::string plugin = d->name != nullptr ? d->name : "?";
  for (uint32_t i = 0; i < d->strategy_count; ++i) {
    // Stepped by the plugin's element size (rule 2), not by our sizeof.
    const keel_strategy& s = *KEEL_ELEMENT(keel_strategy, d->strategies, d->strategy_size, i);
    const int32_t kind = s.kind;
    if (s.name == nullptr || *s.name == '\0') {
      fail(KEEL_ERR_INVALID_ARGUMENT,
           "strategy #" + std::to_string(i) + " of plugin '" + plugin + "' (" + lib->path + ") has no name");
    }
    const std::string where =
        std::string(kind_name(kind)) + " '" + s.name + "' of plugin '" + plugin + "' (" + lib->path + ")";
    if (kind == KEEL_KIND_COORDINATOR && d->abi_minor < 3) {
      fail(KEEL_ERR_INVALID_ARGUMENT, where + " is built for ABI " + abi_text(d->abi_major, d->abi_minor) +
                                          ", but coordinators came with 2.3; rebuild it against the Keel "
                                          "SDK 2.3 or later");
    }
    if (kind == KEEL_KIND_AUTHORIZER && d->abi_minor < 5) {
      fail(KEEL_ERR_INVALID_ARGUMENT, where + " is built for ABI " + abi_text(d->abi_major, d->abi_minor) +
                                          ", but authorizers came with 2.5; rebuild it against the Keel "
                                          "SDK 2.5 or later");
    }
    check_vtable(kind, s.vtable, where);
    for (const auto& earlier : found) {
      if (earlier.kind == kind && earlier.name == s.name) {
        fail(KEEL_ERR_ALREADY_EXISTS, "plugin '" + plugin + "' (" + lib->path + ") declares the " +
                                          kind_name(kind) + " strategy '" + s.name +
                                          "' twice; give each strategy a unique name");
      }
    }
    found.push_back(StrategyRef{lib, kind, s.name, s.vtable});
  }
  std::lock_guard lock(mu_);
  for (const auto& ref : found) {
    auto key = std::make_pair(static_cast<int>(ref.kind), ref.name);
    if (auto it = strategies_.find(key); it != strategies_.end()) {
      fail(KEEL_ERR_ALREADY_EXISTS, std::string(kind_name(ref.kind)) + " strategy '" + ref.name +
                                        "' of plugin '" + lib->path + "' is already provided by '" +
                                        it->second.library->path +
                                        "'; remove one of the two from the plugin path");
    }
  }
  for (const auto& ref : found) strategies_[{static_cast<int>(ref.kind), ref.name}] = ref;
  libraries_.push_back(lib);
}

StrategyRef PluginRegistry::require(int32_t kind, const std::string& name) {
  // The name becomes part of a file name: one that could not be one (too
  // long, a '/', a NUL) is the caller's mistake, not a file system error.
  const bool usable =
      !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
               c == '_' || c == '-';
      });
  if (!usable) {
    fail(KEEL_ERR_INVALID_ARGUMENT,
         std::string("invalid ") + kind_name(kind) + " strategy name '" + name.substr(0, 64) +
             (name.size() > 64 ? "...' (" + std::to_string(name.size()) + " characters)" : "'") +
             ": a strategy name is 1 to 128 characters of a-z, A-Z, 0-9, '.', '_' and '-'");
  }
  auto key = std::make_pair(static_cast<int>(kind), name);
  {
    std::lock_guard lock(mu_);
    if (auto it = strategies_.find(key); it != strategies_.end()) return it->second;
  }
  std::string file = std::string("keel-") + kind_name(kind) + "-" + name + ".so";
  std::string searched;
  for (const auto& dir : search_path_) {
    std::filesystem::path candidate = std::filesystem::path(dir) / file;
    if (std::filesystem::exists(candidate)) {
      load_library(candidate.string());
      std::lock_guard lock(mu_);
      if (auto it = strategies_.find(key); it != strategies_.end()) return it->second;
      fail(KEEL_ERR_NOT_FOUND, "plugin '" + candidate.string() + "' does not provide the " + kind_name(kind) +
                                   " strategy '" + name + "' its file name promises");
    }
    searched += (searched.empty() ? "" : ", ") + dir;
  }
  const std::vector<std::string> names = available(kind);
  const std::string kinds = std::string(kind_name(kind)) + " strategies";
  auto near = closest(name, names);
  fail(KEEL_ERR_NOT_FOUND,
       std::string("unknown ") + kind_name(kind) + " strategy '" + name + "'" +
           (near ? "; did you mean '" + *near + "'?" : std::string()) + " (" +
           (names.empty() ? "no " + kinds + " are available" : "available " + kinds + ": " + join(names)) +
           "; no " + file + " in the plugin path [" + searched +
           "]: add the plugin's directory to broker.plugin_path if it is elsewhere)");
}

std::vector<std::string> PluginRegistry::available(int32_t kind) const {
  std::set<std::string> names;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, ref] : strategies_) {
      if (key.first == static_cast<int>(kind)) names.insert(key.second);
    }
  }
  const std::string prefix = std::string("keel-") + kind_name(kind) + "-";
  for (const auto& dir : search_path_) {
    try {  // a missing or unreadable directory just offers nothing
      for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const std::string f = e.path().filename().string();
        if (f.size() > prefix.size() + 3 && f.starts_with(prefix) && f.ends_with(".so")) {
          names.insert(f.substr(prefix.size(), f.size() - prefix.size() - 3));
        }
      }
    } catch (const std::filesystem::filesystem_error&) {
    }
  }
  return {names.begin(), names.end()};
}

std::vector<PluginRegistry::LoadedStrategyInfo> PluginRegistry::loaded_strategies() const {
  std::lock_guard lock(mu_);
  std::vector<LoadedStrategyInfo> out;
  // strategies_ is a map keyed by (kind, name): already in the promised order.
  for (const auto& [key, ref] : strategies_) {
    const keel_plugin_descriptor* d = ref.library->descriptor;
    out.push_back(LoadedStrategyInfo{ref.kind, ref.name, d->name != nullptr ? d->name : "",
                                     d->version != nullptr ? d->version : "", ref.library->path, d->abi_major,
                                     d->abi_minor});
  }
  return out;
}

std::vector<std::string> PluginRegistry::loaded_paths() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& l : libraries_) out.push_back(l->path);
  return out;
}

}  // namespace keel
