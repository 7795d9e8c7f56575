// Names the calling thread, so that `top -H`, `ps -L`, perf and gdb show
// what each of a broker's threads is for ("flusher", "kafka-loop-1", ...)
// instead of the process's name on every one. Linux keeps the first 15
// characters. The kernel names its threads; a plugin that starts threads
// should name them too. Header-only: no ABI involved.
#pragma once

#include <pthread.h>

#include <string>

namespace keel {

inline void name_this_thread(const std::string& name) {
  const std::string shown = name.substr(0, 15);
  ::pthread_setname_np(::pthread_self(), shown.c_str());
}

}  // namespace keel
