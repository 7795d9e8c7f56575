// keel-admin's command groups, one file each; main.cpp dispatches to them.
#pragma once

#include <string>
#include <vector>

#include "options.hpp"

namespace keel::admin {

struct CommandGroup {
  std::string name;     // "topic"
  std::string summary;  // one line
  std::vector<Command> commands;
};

CommandGroup topic_commands();    // topic_commands.cpp (+ produce/consume)
CommandGroup group_commands();    // group_commands.cpp
CommandGroup cluster_commands();  // cluster_commands.cpp

// topic produce / topic consume (produce_consume.cpp).
Command produce_command();
Command consume_command();

// All groups, in the order --help lists them.
std::vector<CommandGroup> all_groups();

}  // namespace keel::admin
