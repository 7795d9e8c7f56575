#include "consumer_assignment.hpp"

#include "protocol/reader.hpp"

namespace keel::kafka {

std::vector<std::pair<std::string, int32_t>> assigned_partitions(std::string_view assignment) {
  std::vector<std::pair<std::string, int32_t>> out;
  try {
    Reader r(reinterpret_cast<const uint8_t*>(assignment.data()), assignment.size());
    if (r.int16() < 0) return {};  // version
    const int32_t topics = r.int32();
    if (topics < 0) return {};
    for (int32_t t = 0; t < topics; ++t) {
      const std::string topic = r.string();
      const int32_t partitions = r.int32();
      if (partitions < 0) return {};
      for (int32_t p = 0; p < partitions; ++p) out.emplace_back(topic, r.int32());
    }
    return out;
  } catch (const ProtocolError&) {
    return {};
  }
}

}  // namespace keel::kafka
