// The kernel's error model: exceptions carrying a keel_status, the same type
// plugins throw (keel::sdk::Error). They are caught at the C boundary (the
// broker API handed to transports) and at the top of main().
#pragma once

#include <keel/plugin.hpp>
#include <string>

namespace keel {

using Error = sdk::Error;

[[noreturn]] inline void fail(keel_status code, const std::string& message) { throw Error(code, message); }

// "errno text" for a failed system call, e.g. "No space left on device".
std::string errno_text(int err);

// Maps an errno from a write/sync to a status (ENOSPC -> KEEL_ERR_NO_SPACE).
keel_status status_from_errno(int err);

const char* status_name(keel_status s);

}  // namespace keel
