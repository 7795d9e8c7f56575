// The exit codes of `keel` and `keel-tool`, one documented set
// (docs/operations.md, "Exit codes"; `keel --help` prints them).
#pragma once

#include <exception>

#include "common/error.hpp"

namespace keel::exit_code {

// Success: a clean stop after SIGINT/SIGTERM, --check-config found nothing
// wrong, --help, --version; keel-tool: the command did its work.
inline constexpr int kOk = 0;
// Start-up or the run failed for a reason outside the configuration: an I/O
// error, data that cannot be recovered, a port that cannot be bound;
// keel-tool: the command failed, or verify/dump found damage.
inline constexpr int kFailure = 1;
// Usage or configuration error: a bad command line; a config file that cannot
// be read or parsed; an unknown key or bad value; an unknown strategy; a
// plugin that cannot be loaded or refuses its settings. --check-config exits
// with it when it finds any problem.
inline constexpr int kConfig = 2;
// The data dir is in use by another broker (or keel-tool).
inline constexpr int kDataDirLocked = 3;

// The code for an error that ended start-up (or a keel-tool command).
inline int for_exception(const std::exception& e) {
  if (dynamic_cast<const ConfigError*>(&e) != nullptr) return kConfig;
  if (dynamic_cast<const DataDirLockedError*>(&e) != nullptr) return kDataDirLocked;
  return kFailure;
}

// The list printed by --help.
inline constexpr const char* kHelp =
    "Exit codes:\n"
    "  0  success (clean stop, configuration OK, help)\n"
    "  1  start-up or run failed (I/O error, unrecoverable data, port in use, ...)\n"
    "  2  usage or configuration error (also: --check-config found a problem)\n"
    "  3  the data dir is locked by another broker or keel-tool\n";

}  // namespace keel::exit_code
