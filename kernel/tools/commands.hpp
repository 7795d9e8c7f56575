// keel-tool's commands, one file each, and what they share.
#pragma once

#include <string>

#include "config/config.hpp"

namespace keel::tool {

// The broker config from a file (or the defaults), with --data-dir applied
// and no transports: the tool is the only client.
BrokerConfig load(const std::string& config_path, const std::string& data_dir);

int verify(int argc, char** argv);
int salvage(int argc, char** argv);
int user(int argc, char** argv);

}  // namespace keel::tool
