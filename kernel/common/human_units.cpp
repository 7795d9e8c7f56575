#include "common/human_units.hpp"

#include <cstdio>
#include <iterator>

namespace keel {

std::string human_bytes(double bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  size_t u = 0;
  while (bytes >= 1024 && u + 1 < std::size(units)) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

std::string human_duration(int64_t ns) {
  const int64_t s = ns / 1'000'000'000;
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ns) / 1e9);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  }
  return buf;
}

}  // namespace keel
