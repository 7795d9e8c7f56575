// Sizes and durations as people read them, for log lines and keel-tool's
// progress line.
#pragma once

#include <cstdint>
#include <string>

namespace keel {

// "950 B", "1.5 KiB", "12.3 MiB", "3.0 GiB".
std::string human_bytes(double bytes);
// "4.2s" under a minute, then "1:05" or "2:03:04".
std::string human_duration(int64_t ns);

}  // namespace keel
