// keel-tool's commands, one file each, and what they share.
#pragma once

#include <boost/program_options.hpp>
#include <string>

#include "config/config.hpp"
#include "tools/progress.hpp"

namespace keel::tool {

// The broker config from a file (or the defaults), with --data-dir applied
// and no transports: the tool is the only client.
BrokerConfig load(const std::string& config_path, const std::string& data_dir);

// --progress / --no-progress of the commands that read or write whole files.
struct ProgressFlags {
  bool on = false;
  bool off = false;
};
void add_progress_options(boost::program_options::options_description& opts, ProgressFlags& flags);
// Where the command's progress goes (nowhere unless wanted, see
// progress_wanted).
Progress::Options progress_options(const ProgressFlags& flags);

int verify(int argc, char** argv);
int salvage(int argc, char** argv);
int user(int argc, char** argv);

}  // namespace keel::tool
