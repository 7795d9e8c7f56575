// The kernel's error model: exceptions carrying a keel_status, the same type
// plugins throw (keel::sdk::Error). They are caught at the C boundary (the
// broker API handed to transports) and at the top of main().
#pragma once

#include <keel/plugin.hpp>
#include <string>

namespace keel {

using Error = sdk::Error;

[[noreturn]] inline void fail(keel_status code, const std::string& message) { throw Error(code, message); }

// The configuration cannot work: a strategy it names is unknown or refuses
// its settings, a plugin it names cannot be loaded, a key no one reads.
// Executables exit with exit_code::kConfig on it (common/exit_codes.hpp).
class ConfigError : public Error {
 public:
  using Error::Error;
};

// The data dir is locked by another broker or keel-tool.
class DataDirLockedError : public Error {
 public:
  using Error::Error;
};

// "errno text" for a failed system call, e.g. "No space left on device".
std::string errno_text(int err);

// Maps an errno from a write/sync to a status (ENOSPC -> KEEL_ERR_NO_SPACE).
keel_status status_from_errno(int err);

const char* status_name(keel_status s);

}  // namespace keel
