#include "consumer_subscription.hpp"

#include "protocol/reader.hpp"

namespace keel::kafka {

std::optional<std::set<std::string>> subscribed_topics(std::string_view metadata) {
  try {
    Reader r(reinterpret_cast<const uint8_t*>(metadata.data()), metadata.size());
    if (r.int16() < 0) return std::nullopt;  // version
    const int32_t n = r.int32();
    if (n < 0) return std::nullopt;
    std::set<std::string> topics;
    for (int32_t i = 0; i < n; ++i) topics.insert(r.string());
    return topics;
  } catch (const ProtocolError&) {
    return std::nullopt;
  }
}

}  // namespace keel::kafka
