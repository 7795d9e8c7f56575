#include "unsupported_api.hpp"

#include "api_table.hpp"
#include "protocol/errors.hpp"

namespace keel::kafka {

void write_api_ranges(Writer& w, bool flexible) {
  const auto& table = api_table();
  w.array_length(static_cast<int32_t>(table.size()), flexible);
  for (const auto& api : table) {
    w.int16(api.key);
    w.int16(api.min_version);
    w.int16(api.max_version);
    w.tagged_fields(flexible);
  }
}

Writer unsupported_api_answer() {
  Writer w;
  w.int16(code(ErrorCode::kUnsupportedVersion));
  write_api_ranges(w, false);
  return w;
}

}  // namespace keel::kafka
