// Loads plugin libraries with Boost.DLL and indexes their strategies by kind
// and name. A strategy reference keeps its library loaded: a library is
// unloaded only after the last instance created from it is gone.
#pragma once

#include <keel/plugin.h>

#include <boost/dll/shared_library.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "plugins/host_services.hpp"

namespace keel {

struct LoadedLibrary {
  std::string path;
  boost::dll::shared_library library;
  const keel_plugin_descriptor* descriptor = nullptr;
  std::unique_ptr<HostServices> host;  // logs tagged with the plugin's name
};

struct StrategyRef {
  std::shared_ptr<LoadedLibrary> library;
  int32_t kind = KEEL_KIND_INDEX;  // KEEL_KIND_*
  std::string name;
  const void* vtable = nullptr;

  const keel_host* host() const { return library->host->table(); }
  template <class VT>
  const VT* vt() const {
    return static_cast<const VT*>(vtable);
  }
};

const char* kind_name(int32_t kind);

// Where plugins are searched: the configured broker.plugin_path, then the
// built-in plugin directory.
std::vector<std::string> plugin_search_path(std::vector<std::string> configured);

class PluginRegistry {
 public:
  PluginRegistry(std::vector<std::string> search_path, const Clock* clock);

  // Loads one library and registers its strategies. Throws keel::Error naming
  // the file and the reason: no entry symbol, unknown ABI major, a strategy
  // name already registered, a vtable smaller than this ABI requires.
  void load_library(const std::string& path);

  // The strategy of that kind and name; when not yet registered, loads
  // keel-<kind>-<name>.so from the search path. Throws when not found.
  StrategyRef require(int32_t kind, const std::string& name);

  // Names of the strategies of `kind` registered or loadable from the
  // search path (a keel-<kind>-<name>.so there), sorted, each once. Nothing
  // is loaded to list them.
  std::vector<std::string> available(int32_t kind) const;

  const std::vector<std::string>& search_path() const { return search_path_; }
  std::vector<std::string> loaded_paths() const;

  // Every registered strategy with its library, ordered by kind, then name
  // (operators' views: the HTTP /plugins endpoint, the console).
  struct LoadedStrategyInfo {
    int32_t kind = 0;
    std::string name;
    std::string plugin;
    std::string version;
    std::string path;
    uint16_t abi_major = 0;
    uint16_t abi_minor = 0;
  };
  std::vector<LoadedStrategyInfo> loaded_strategies() const;

 private:
  void register_library(const std::shared_ptr<LoadedLibrary>& lib);

  std::vector<std::string> search_path_;
  const Clock* clock_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<LoadedLibrary>> libraries_;
  std::map<std::pair<int, std::string>, StrategyRef> strategies_;
};

}  // namespace keel
