// DescribeLogDirs (key 35), v0-4 (v2+ flexible): Keel's one log directory
// (the data dir) with each partition's size on disk. There are no replicas
// to catch up, so every offset lag is 0 and no log is a "future" one.
// v3+ carry a top-level error code, v4+ the file system's total and usable
// bytes (statvfs).
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "../authorization.hpp"
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"

namespace keel::kafka {

void handle_describe_log_dirs(Services& services, Request& req, const Responder& respond) {
  const int16_t v = req.api_version;
  const bool flex = req.flexible;
  Reader& r = req.body;
  // Topic -> partitions asked for; nullopt = every partition of every topic.
  std::optional<std::map<std::string, std::set<int32_t>>> wanted;
  const int32_t n = r.array_length(flex);
  if (n >= 0) {
    wanted.emplace();
    for (int32_t i = 0; i < n; ++i) {
      auto& parts = (*wanted)[r.any_string(flex)];
      const int32_t np = r.array_length(flex);
      for (int32_t k = 0; k < np; ++k) parts.insert(r.int32());
      if (flex) r.tagged_fields();
    }
  }
  if (flex) r.tagged_fields();

  // Kafka answers a principal without DESCRIBE on the cluster with no log
  // dirs (and, from v3, CLUSTER_AUTHORIZATION_FAILED).
  if (!cluster_allowed(services, req, KEEL_ACL_OP_DESCRIBE)) {
    Writer w;
    w.int32(0);  // throttle_time_ms
    if (v >= 3) w.int16(code(ErrorCode::kClusterAuthorizationFailed));
    w.array_length(0, flex);
    w.tagged_fields(flex);
    return respond.send(std::move(w));
  }
  sdk::Broker::LogDir dir;
  std::string message;
  const bool ok = services.broker.log_dir(&dir, &message) == KEEL_OK;
  if (!ok) services.host.warn("DescribeLogDirs: " + message);

  // Topics and partitions that exist, in name order; unknown ones are left
  // out, as Kafka does.
  struct PartitionSize {
    int32_t index;
    int64_t bytes;
  };
  std::vector<std::pair<std::string, std::vector<PartitionSize>>> topics;
  if (ok) {
    for (const auto& t : services.broker.list_topics()) {
      const std::set<int32_t>* only = nullptr;
      if (wanted) {
        auto it = wanted->find(t.name);
        if (it == wanted->end()) continue;
        only = &it->second;
      }
      std::vector<PartitionSize> parts;
      for (int32_t p = 0; p < t.partitions; ++p) {
        if (only != nullptr && !only->count(p)) continue;
        keel_partition_health h{};
        if (services.broker.partition_health(t.name, p, &h) != KEEL_OK) continue;
        parts.push_back(PartitionSize{p, h.size_bytes});
      }
      if (!parts.empty()) topics.emplace_back(t.name, std::move(parts));
    }
  }

  Writer w;
  w.int32(0);  // throttle_time_ms
  if (v >= 3) w.int16(code(ErrorCode::kNone));
  w.array_length(1, flex);
  w.int16(code(ok ? ErrorCode::kNone : ErrorCode::kKafkaStorageError));
  w.string(dir.path, flex);
  w.array_length(static_cast<int32_t>(topics.size()), flex);
  for (const auto& [name, parts] : topics) {
    w.string(name, flex);
    w.array_length(static_cast<int32_t>(parts.size()), flex);
    for (const auto& p : parts) {
      w.int32(p.index);
      w.int64(p.bytes);
      w.int64(0);        // offset_lag: no replica to catch up
      w.boolean(false);  // is_future_key
      w.tagged_fields(flex);
    }
    w.tagged_fields(flex);
  }
  if (v >= 4) {
    w.int64(dir.total_bytes);
    w.int64(dir.usable_bytes);
  }
  w.tagged_fields(flex);
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
