#include "plugins/plugin_registry.hpp"

#include <dlfcn.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "common/error.hpp"
#include "common/suggestion.hpp"

namespace keel {
namespace {

// Size of each vtable as ABI 1.0 defined it: a plugin built against 1.0 or
// later has at least these functions. Later minors append fields, so these
// constants must never grow.
size_t min_vtable_size(keel_strategy_kind kind) {
  switch (kind) {
    case KEEL_KIND_INDEX:
      return offsetof(keel_index_vtable, close) + sizeof(void*);
    case KEEL_KIND_RETENTION:
      return offsetof(keel_retention_vtable, destroy) + sizeof(void*);
    case KEEL_KIND_PARTITIONER:
      return offsetof(keel_partitioner_vtable, destroy) + sizeof(void*);
    case KEEL_KIND_TRANSPORT:
      return offsetof(keel_transport_vtable, destroy) + sizeof(void*);
  }
  return SIZE_MAX;
}

}  // namespace

const char* kind_name(keel_strategy_kind kind) {
  switch (kind) {
    case KEEL_KIND_INDEX:
      return "index";
    case KEEL_KIND_RETENTION:
      return "retention";
    case KEEL_KIND_PARTITIONER:
      return "partitioner";
    case KEEL_KIND_TRANSPORT:
      return "transport";
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
  if (d == nullptr || !KEEL_HAS_FIELD(d, keel_plugin_descriptor, strategies)) {
    fail(KEEL_ERR_INVALID_ARGUMENT, "plugin '" + path + "' returned no or a truncated descriptor");
  }
  if (d->abi_major != KEEL_ABI_MAJOR) {
    fail(KEEL_ERR_UNSUPPORTED,
         "plugin '" + path + "' was built for Keel plugin ABI " + std::to_string(d->abi_major) + "." +
             std::to_string(d->abi_minor) + ", but this broker speaks ABI " + std::to_string(KEEL_ABI_MAJOR) +
             "." + std::to_string(KEEL_ABI_MINOR) + "; rebuild the plugin against this broker's SDK");
  }
  if (d->abi_minor > KEEL_ABI_MINOR) {
    // A newer minor only appends; the broker uses what it knows.
    spdlog::warn("plugin '{}' targets ABI 1.{}, newer than this broker's 1.{}; newer functions are ignored",
                 path, d->abi_minor, KEEL_ABI_MINOR);
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
  for (uint32_t i = 0; i < d->strategy_count; ++i) {
    const keel_strategy& s = d->strategies[i];
    auto kind = static_cast<keel_strategy_kind>(s.kind);
    std::string where = "plugin '" + lib->path + "', strategy #" + std::to_string(i);
    if (s.name == nullptr || *s.name == '\0') fail(KEEL_ERR_INVALID_ARGUMENT, where + " has no name");
    where += " '" + std::string(s.name) + "'";
    size_t min_size = min_vtable_size(kind);
    if (min_size == SIZE_MAX) {
      fail(KEEL_ERR_UNSUPPORTED, where + " has unknown kind " + std::to_string(s.kind));
    }
    if (s.vtable == nullptr) fail(KEEL_ERR_INVALID_ARGUMENT, where + " has no vtable");
    uint32_t vt_size = *static_cast<const uint32_t*>(s.vtable);
    if (vt_size < min_size) {
      fail(KEEL_ERR_INVALID_ARGUMENT, where + ": its " + kind_name(kind) + " vtable is " +
                                          std::to_string(vt_size) + " bytes, ABI " +
                                          std::to_string(KEEL_ABI_MAJOR) + ".0 needs at least " +
                                          std::to_string(min_size) + "; rebuild it against the current SDK");
    }
    for (const auto& earlier : found) {
      if (earlier.kind == kind && earlier.name == s.name) {
        fail(KEEL_ERR_ALREADY_EXISTS, where + " declares the " + kind_name(kind) +
                                          " strategy twice; give each strategy a unique name");
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

StrategyRef PluginRegistry::require(keel_strategy_kind kind, const std::string& name) {
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

std::vector<std::string> PluginRegistry::available(keel_strategy_kind kind) const {
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

std::vector<std::string> PluginRegistry::loaded_paths() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& l : libraries_) out.push_back(l->path);
  return out;
}

}  // namespace keel
