// Topic settings read and changed at run time (broker API 2.2).
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "broker.hpp"
#include "common/error.hpp"
#include "common/file_util.hpp"

namespace keel {

std::vector<TopicSetting> Broker::topic_settings(const std::string* name) const {
  if (name == nullptr) return keel::topic_settings(config_.topic_from_defaults("<topic>"));
  auto t = find_topic(*name);
  if (!t) fail(KEEL_ERR_NOT_FOUND, "unknown topic '" + *name + "'");
  return keel::topic_settings(*t->config());
}

void Broker::alter_topic(const std::string& name, const std::string& settings_toml, bool validate_only) {
  if (!cluster_) {
    alter_topic_here(name, settings_toml, validate_only);
    return;
  }
  // In a cluster the settings go to the store first, so that every
  // replica takes the same ones (this broker too, from the store). The
  // local checks come first: nothing is written for a refused change.
  alter_topic_here(name, settings_toml, true);
  if (validate_only) return;
  cluster_->set_topic_settings(name, settings_toml, 10000);
}

std::string Broker::saved_topic_settings(const std::string& name) const {
  std::ifstream in(saved_settings_path(name));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void Broker::alter_topic_here(const std::string& name, const std::string& settings_toml, bool validate_only) {
  // Serialised with creation and deletion: the topic stays the one we
  // checked, and two alters cannot interleave their save and apply.
  std::lock_guard lock(create_mu_);
  auto t = find_topic(name);
  if (!t) fail(KEEL_ERR_NOT_FOUND, "unknown topic '" + name + "'");
  if (is_internal(name)) {
    fail(KEEL_ERR_UNSUPPORTED, "topic '" + name +
                                   "' is internal: its settings are the [broker] offsets_* keys of the "
                                   "broker's configuration (see docs/configuration.md)");
  }
  if (t->config()->declared) {
    // The file stays the one place its settings are written: a change made
    // here would be undone, or silently win, at the next start.
    fail(KEEL_ERR_UNSUPPORTED, "topic '" + name + "' is declared in " + config_.source + " ([topics." +
                                   toml_key(name) + "]): change its settings there and restart the broker");
  }
  const ConfigOrigin request{"the settings of the request altering topic '" + name + "'", false};
  TopicConfig next = settings_toml.empty() ? config_.topic_from_defaults(name)
                                           : config_.topic_from_toml(name, settings_toml, request);
  auto change = t->prepare_reconfigure(std::move(next), *registry_);
  if (validate_only) return;
  // Saved first: a change that is in effect has been saved, so a restart
  // never goes back on an answered alter.
  const std::string path = saved_settings_path(name);
  if (settings_toml.empty()) {
    std::error_code ec;
    if (std::filesystem::remove(path, ec)) {
      sync_dir_or_fail(config_.data_dir + "/.topics", "removing the saved settings of topic '" + name + "'");
    }
    if (ec) fail(KEEL_ERR_IO, "topic '" + name + "': cannot remove '" + path + "': " + ec.message());
  } else {
    create_directories_durably(config_.data_dir + "/.topics");
    write_file_atomically(path, settings_toml);
  }
  t->apply_reconfigure(change);
  spdlog::info("altered the settings of topic '{}'", name);
}

}  // namespace keel
