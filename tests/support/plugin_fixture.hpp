// Test helpers for plugins: load a built plugin library straight through its
// C entry point, and give it a real host table and settings parsed from TOML.
#pragma once

#include <keel/plugin.h>

#include <boost/dll/shared_library.hpp>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include "common/clock.hpp"
#include "plugins/host_services.hpp"
#include "plugins/plugin_config.hpp"

namespace keel::test {

// Path of a built-in plugin, e.g. plugin_path("index", "sparse-mmap").
inline std::string plugin_path(const std::string& kind, const std::string& name) {
  return std::string(KEEL_TEST_PLUGIN_DIR) + "/keel-" + kind + "-" + name + ".so";
}

class LoadedPlugin {
 public:
  LoadedPlugin(const std::string& kind, const std::string& name)
      : lib_(plugin_path(kind, name), boost::dll::load_mode::rtld_now) {
    auto entry = lib_.get<const keel_plugin_descriptor*()>(KEEL_PLUGIN_ENTRY_SYMBOL);
    descriptor_ = entry();
    for (uint32_t i = 0; i < descriptor_->strategy_count; ++i) {
      const keel_strategy& s =
          *KEEL_ELEMENT(keel_strategy, descriptor_->strategies, descriptor_->strategy_size, i);
      if (std::strcmp(s.name, name.c_str()) == 0) {
        vtable_ = s.vtable;
      }
    }
    if (vtable_ == nullptr) throw std::runtime_error("strategy " + name + " not in its library");
  }
  template <class VT>
  const VT* vtable() const {
    return static_cast<const VT*>(vtable_);
  }
  const keel_plugin_descriptor* descriptor() const { return descriptor_; }

 private:
  boost::dll::shared_library lib_;
  const keel_plugin_descriptor* descriptor_ = nullptr;
  const void* vtable_ = nullptr;
};

// Settings for a plugin from a TOML snippet (the body of its table).
class TestConfig {
 public:
  explicit TestConfig(const std::string& toml_text = "", const std::string& owner = "test plugin")
      : doc_(std::make_shared<toml::table>(toml::parse(toml_text, std::string_view("test.toml")))) {
    cfg_.settings.tables.push_back(doc_.get());
    cfg_.settings.table_names.push_back("[test]");
    cfg_.owner = owner;
    cfg_.settings.origins.push_back(ConfigOrigin{"test.toml"});
  }
  const keel_config* get() const { return &cfg_; }
  std::vector<std::string> problems() const { return config_problems(cfg_); }

 private:
  std::shared_ptr<toml::table> doc_;
  keel_config cfg_;
};

// A host with a manual clock, logging into spdlog's default logger.
struct TestHost {
  ManualClock clock{1'700'000'000'000};
  HostServices services{"test", &clock};
  const keel_host* get() const { return services.table(); }
};

}  // namespace keel::test
