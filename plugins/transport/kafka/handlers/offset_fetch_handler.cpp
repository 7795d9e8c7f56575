// OffsetFetch (key 9), v0-1: the offsets a group committed, -1 where none.
// These versions always name the partitions; "all partitions" (a null
// topic list) arrived in v2, which Keel does not serve.
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"

namespace keel::kafka {

void handle_offset_fetch(Services& services, Request& req, const Responder& respond) {
  const int16_t v = req.api_version;
  const bool flex = req.flexible;
  Reader& r = req.body;
  const std::string group_id = r.any_string(flex);
  struct Topic {
    std::string name;
    std::vector<int32_t> partitions;
  };
  std::vector<Topic> topics;
  const int32_t nt = r.array_length(flex);  // -1 (null) only from v2
  for (int32_t i = 0; i < nt; ++i) {
    Topic& t = topics.emplace_back();
    t.name = r.any_string(flex);
    const int32_t np = r.array_length(flex);
    for (int32_t j = 0; j < np; ++j) t.partitions.push_back(r.int32());
    if (flex) r.tagged_fields();
  }
  if (flex) r.tagged_fields();

  Writer w;
  if (v >= 3) w.int32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(topics.size()), flex);
  for (const auto& t : topics) {
    w.string(t.name, flex);
    w.array_length(static_cast<int32_t>(t.partitions.size()), flex);
    for (int32_t p : t.partitions) {
      int64_t offset = -1;
      std::string metadata;
      const keel_status s = services.broker.fetch_offset(group_id, t.name, p, &offset, &metadata);
      w.int32(p);
      w.int64(s == KEEL_OK ? offset : -1);
      w.nullable_string(metadata, flex);
      w.int16(code(s == KEEL_OK ? ErrorCode::kNone : ErrorCode::kUnknownServerError));
      w.tagged_fields(flex);
    }
    w.tagged_fields(flex);
  }
  if (v >= 2) w.int16(code(ErrorCode::kNone));
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
