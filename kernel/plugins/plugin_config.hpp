// keel_config: the opaque settings handle the C ABI hands to plugins. It is a
// chain of TOML tables (topic's own, then defaults) and remembers which keys
// plugins read, so that keys nobody reads can be reported as unknown with
// their file and line once the plugin instances exist.
#pragma once

#include <keel/plugin.h>

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"

struct keel_config {
  keel::PluginSettings settings;
  std::string owner;  // e.g. "retention 'time' of topic 'orders'", for messages

  // Index instances of several partitions open concurrently (on roll).
  mutable std::mutex mu;
  mutable std::set<std::string> read_keys;
  mutable std::vector<std::string> type_errors;
};

namespace keel {

// Looks `key` up along the chain; nullptr when absent. Records it as read.
const toml::node* config_lookup(const keel_config& cfg, const char* key, std::string* where);

// Records a type error ("key 'x' at file:3:1 is a string, expected integer").
void config_type_error(const keel_config& cfg, const char* key, const std::string& where,
                       const char* expected, const toml::node& node);

// Problems found so far: type errors, then keys in the config's own tables
// that no plugin read. Empty when all is well.
std::vector<std::string> config_problems(const keel_config& cfg);

// The problems as lines to append to a message: "\n  a\n  b".
std::string problem_lines(const std::vector<std::string>& problems);

// "file:line:column" of a node, for messages; just the origin's name when
// its positions mean nothing to the reader.
std::string source_location(const ConfigOrigin& origin, const toml::node& node);

}  // namespace keel
