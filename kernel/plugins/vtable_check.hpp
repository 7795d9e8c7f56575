// Checks a strategy's vtable before the broker keeps it (rules 2 and 7 of
// keel/plugin.h): large enough for ABI 2.0, and no NULL in a mandatory slot.
// A plugin that fails here is refused at load, naming the slot, instead of
// crashing the broker on first use.
#pragma once

#include <keel/plugin.h>

#include <string>

namespace keel {

// Throws keel::Error naming `where` (e.g. "index 'foo' of plugin 'bar'
// (libbar.so)") and the first problem found: unknown kind, a vtable smaller
// than ABI 2.0 defines, or a mandatory slot that is NULL.
void check_vtable(int32_t kind, const void* vtable, const std::string& where);

}  // namespace keel
