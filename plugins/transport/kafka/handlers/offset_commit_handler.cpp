// OffsetCommit (key 8), v0-8. The group checks the member and generation;
// the kernel stores the request's offsets as one batch of the internal topic
// __consumer_offsets, durable before the answer unless the broker runs with
// offsets_flush = "interval". Commits with generation -1 come from consumers
// using assign().
//  - v2-4 retention_time_ms is read and ignored: offsets are kept until
//    deleted (Kafka too ignores it since 2.1, KIP-211).
//  - v6 committed_leader_epoch is ignored (Keel has no leader epochs).
//  - v7 group_instance_id: Keel has no static members (JoinGroup stops
//    before v5), so no instance id is known; Kafka then checks the member id
//    and generation alone, and so does Keel.
#include "../authorization.hpp"
#include "../group_coordinator.hpp"
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"

namespace keel::kafka {

namespace {

struct PartitionCommit {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string metadata;
  ErrorCode error = ErrorCode::kNone;
};

struct TopicCommit {
  std::string name;
  std::vector<PartitionCommit> partitions;
};

// Kafka's offset.metadata.max.bytes default.
constexpr size_t kMaxMetadataBytes = 4096;

ErrorCode offset_commit_error(keel_status s) {
  switch (s) {
    case KEEL_OK:
      return ErrorCode::kNone;
    case KEEL_ERR_INVALID_ARGUMENT:
      return ErrorCode::kOffsetMetadataTooLarge;
    case KEEL_ERR_INVALID_NAME:
      return ErrorCode::kInvalidGroupId;
    case KEEL_ERR_NOT_FOUND:
      return ErrorCode::kUnknownTopicOrPartition;
    // The kernel's fence: the group's checks above agree in all but a race
    // with a rebalance.
    case KEEL_ERR_FENCED:
      return ErrorCode::kIllegalGeneration;
    case KEEL_ERR_UNKNOWN_MEMBER:
      return ErrorCode::kUnknownMemberId;
    // The store could not make the commit durable (a failed sync, a full
    // disk, a shutdown): retriable, as Kafka answers when its offsets
    // partition cannot take the append. Clients look the coordinator up
    // again and retry; the previous offset stays committed meanwhile.
    case KEEL_ERR_IO:
    case KEEL_ERR_NO_SPACE:
    case KEEL_ERR_UNAVAILABLE:
      return ErrorCode::kCoordinatorNotAvailable;
    case KEEL_ERR_NOT_LEADER:
      return ErrorCode::kNotCoordinator;
    case KEEL_ERR_TOO_LARGE:
      return ErrorCode::kInvalidCommitOffsetSize;
    default:
      return ErrorCode::kUnknownServerError;
  }
}

void write_answer(const std::vector<TopicCommit>& topics, int16_t v, bool flex, const Responder& respond) {
  Writer w;
  if (v >= 3) w.int32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(topics.size()), flex);
  for (const auto& t : topics) {
    w.string(t.name, flex);
    w.array_length(static_cast<int32_t>(t.partitions.size()), flex);
    for (const auto& p : t.partitions) {
      w.int32(p.partition);
      w.int16(code(p.error));
      w.tagged_fields(flex);
    }
    w.tagged_fields(flex);
  }
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

// What the answer needs once the kernel's commit completes (possibly on a
// broker thread).
struct CommitCall {
  std::vector<TopicCommit> topics;
  std::vector<PartitionCommit*> valid;  // into topics
  int16_t version = 0;
  bool flexible = false;
};

}  // namespace

void handle_offset_commit(Services& services, Request& req, const Responder& respond) {
  const int16_t v = req.api_version;
  const bool flex = req.flexible;
  Reader& r = req.body;
  const std::string group_id = r.any_string(flex);
  int32_t generation = -1;
  std::string member_id;
  if (v >= 1) {
    generation = r.int32();
    member_id = r.any_string(flex);
  }
  if (v >= 7) r.any_nullable_string(flex);  // group_instance_id: none is known, see above
  if (v >= 2 && v <= 4) r.int64();          // retention_time_ms: offsets are kept until deleted
  std::vector<TopicCommit> topics;
  const int32_t nt = r.array_length(flex);
  for (int32_t i = 0; i < nt; ++i) {
    TopicCommit& t = topics.emplace_back();
    t.name = r.any_string(flex);
    const int32_t np = r.array_length(flex);
    for (int32_t j = 0; j < np; ++j) {
      PartitionCommit& p = t.partitions.emplace_back();
      p.partition = r.int32();
      p.offset = r.int64();
      if (v >= 6) r.int32();  // committed_leader_epoch
      if (v == 1) r.int64();  // commit_timestamp: the broker's clock is used
      p.metadata = r.any_nullable_string(flex).value_or("");
      if (flex) r.tagged_fields();
    }
    if (flex) r.tagged_fields();
  }
  if (flex) r.tagged_fields();

  // Kafka's order: READ on the group first (every partition fails with
  // GROUP_AUTHORIZATION_FAILED), then READ on each topic.
  const ErrorCode group_error = group_id.empty() || group_id.find('\0') != std::string::npos
                                    ? ErrorCode::kInvalidGroupId
                                : !group_allowed(services, req, KEEL_ACL_OP_READ, group_id)
                                    ? ErrorCode::kGroupAuthorizationFailed
                                    : services.groups().check_commit(group_id, generation, member_id);
  auto call = std::make_shared<CommitCall>();
  call->topics = std::move(topics);
  call->version = v;
  call->flexible = flex;
  // Every valid partition of the request in one commit: one durable write
  // for the whole request. The kernel fences it again (member and
  // generation) whatever the group's checks above said.
  sdk::Broker::Commit commit;
  commit.group = group_id;
  commit.member_id = member_id;
  commit.generation = generation;
  for (auto& t : call->topics) {
    std::optional<sdk::TopicInfo> info;
    const bool may_read =
        group_error != ErrorCode::kNone || topic_allowed(services, req, KEEL_ACL_OP_READ, t.name);
    if (group_error == ErrorCode::kNone && may_read) info = services.broker.describe_topic(t.name);
    for (auto& p : t.partitions) {
      if (group_error != ErrorCode::kNone) {
        p.error = group_error;
      } else if (!may_read) {
        p.error = ErrorCode::kTopicAuthorizationFailed;
      } else if (!info || p.partition < 0 || p.partition >= info->partitions) {
        p.error = ErrorCode::kUnknownTopicOrPartition;
      } else if (p.metadata.size() > kMaxMetadataBytes) {
        p.error = ErrorCode::kOffsetMetadataTooLarge;
      } else {
        call->valid.push_back(&p);
        commit.offsets.push_back(sdk::GroupOffset{t.name, p.partition, p.offset, p.metadata});
      }
    }
  }
  if (call->valid.empty()) return write_answer(call->topics, v, flex, respond);
  const size_t count = commit.offsets.size();
  services.broker.commit_offsets(
      commit, [call, respond, &services, group_id, count](keel_status s, const std::string& message) {
        if (s != KEEL_OK && s != KEEL_ERR_FENCED && s != KEEL_ERR_UNKNOWN_MEMBER) {
          services.host.error("offset commit of group '" + group_id + "' (" + std::to_string(count) +
                              " partition(s)) failed: " + message);
        }
        for (auto* p : call->valid) p->error = offset_commit_error(s);
        write_answer(call->topics, call->version, call->flexible, respond);
      });
}

}  // namespace keel::kafka
