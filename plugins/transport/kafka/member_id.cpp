#include "member_id.hpp"

#include <cstdint>
#include <cstdio>
#include <random>

namespace keel::kafka {

std::string new_member_id(const std::string& client_id) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const uint64_t hi = rng();
  const uint64_t lo = rng();
  char uuid[37];
  std::snprintf(uuid, sizeof uuid, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0x0fff),
                static_cast<unsigned>(0x8000 | ((lo >> 48) & 0x3fff)),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  const size_t keep = kMaxMemberIdBytes - 1 - (sizeof uuid - 1);
  return client_id.substr(0, keep) + "-" + uuid;
}

}  // namespace keel::kafka
