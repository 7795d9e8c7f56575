#include "broker_client.hpp"

#include <memory>

namespace keel::kafka {
namespace {

// Names cross the C ABI as C strings: one holding a NUL would be cut short
// there and name another topic or group ("victim\0junk" -> "victim"). No
// such topic can exist (Kafka's rule) and no such group is stored, so
// lookups find nothing and writes are refused.
bool cut_short(const std::string& name) { return name.find('\0') != std::string::npos; }

}  // namespace

std::vector<TopicInfo> BrokerClient::list_topics() const {
  std::vector<TopicInfo> out;
  api_->list_topics(
      api_->ctx,
      [](void* user, const keel_topic_info* t) {
        static_cast<std::vector<TopicInfo>*>(user)->push_back(
            {t->name, t->partition_count, t->internal != 0});
      },
      &out);
  return out;
}

std::optional<TopicInfo> BrokerClient::describe_topic(const std::string& name) const {
  if (cut_short(name)) return std::nullopt;
  std::optional<TopicInfo> out;
  keel_status s = api_->describe_topic(
      api_->ctx, name.c_str(),
      [](void* user, const keel_topic_info* t) {
        *static_cast<std::optional<TopicInfo>*>(user) =
            TopicInfo{t->name, t->partition_count, t->internal != 0};
      },
      &out);
  return s == KEEL_OK ? out : std::nullopt;
}

keel_status BrokerClient::create_topic(const std::string& name, int32_t partitions,
                                       std::string* message) const {
  if (cut_short(name)) {
    if (message) *message = "invalid topic name: it holds a NUL byte";
    return KEEL_ERR_INVALID_ARGUMENT;
  }
  keel_create_topic_args args{sizeof args, name.c_str(), partitions, nullptr};
  keel_error err{};
  keel_status s = api_->create_topic(api_->ctx, &args, &err);
  if (s != KEEL_OK && message) *message = err.message;
  return s;
}

keel_status BrokerClient::delete_topic(const std::string& name, std::string* message) const {
  if (cut_short(name)) return KEEL_ERR_NOT_FOUND;
  keel_error err{};
  keel_status s = api_->delete_topic(api_->ctx, name.c_str(), &err);
  if (s != KEEL_OK && message) *message = err.message;
  return s;
}

keel_status BrokerClient::watermarks(const std::string& topic, int32_t partition,
                                     keel_watermarks* out) const {
  if (cut_short(topic)) return KEEL_ERR_NOT_FOUND;
  return api_->watermarks(api_->ctx, topic.c_str(), partition, out);
}

keel_status BrokerClient::offset_for_time(const std::string& topic, int32_t partition, int64_t ts,
                                          int64_t* offset, int64_t* found_ts) const {
  if (cut_short(topic)) return KEEL_ERR_NOT_FOUND;
  return api_->offset_for_time(api_->ctx, topic.c_str(), partition, ts, offset, found_ts);
}

void BrokerClient::produce(const std::string& topic, int32_t partition, const uint8_t* data, size_t len,
                           int32_t acks, ProduceDone done) const {
  if (cut_short(topic)) {
    keel_produce_result r{};
    r.struct_size = sizeof r;
    r.status = KEEL_ERR_NOT_FOUND;
    r.base_offset = r.log_append_time = r.log_start_offset = -1;
    r.message = "unknown topic: its name holds a NUL byte";
    return done(r);
  }
  auto* boxed = new ProduceDone(std::move(done));
  api_->produce(
      api_->ctx, topic.c_str(), partition, data, len, acks,
      [](void* user, const keel_produce_result* r) {
        std::unique_ptr<ProduceDone> cb(static_cast<ProduceDone*>(user));
        (*cb)(*r);
      },
      boxed);
}

keel_status BrokerClient::commit_offset(const std::string& group, const std::string& topic, int32_t partition,
                                        int64_t offset, const std::string& metadata,
                                        std::string* message) const {
  keel_error err{};
  if (cut_short(group) || cut_short(topic)) {
    if (message) *message = "a group id or topic name holds a NUL byte";
    return KEEL_ERR_INVALID_ARGUMENT;
  }
  keel_status s =
      api_->commit_offset(api_->ctx, group.c_str(), topic.c_str(), partition, offset, metadata.c_str(), &err);
  if (s != KEEL_OK && message) *message = err.message;
  return s;
}

keel_status BrokerClient::commit_offsets(const std::string& group,
                                         const std::vector<keel_offset_commit>& offsets,
                                         std::string* message) const {
  if (cut_short(group)) {
    if (message) *message = "the group id holds a NUL byte";
    return KEEL_ERR_INVALID_ARGUMENT;
  }
  if (!KEEL_HAS_FIELD(api_, keel_broker_api, commit_offsets) || api_->commit_offsets == nullptr) {
    for (const auto& o : offsets) {
      keel_status s =
          commit_offset(group, o.topic, o.partition, o.offset, o.metadata ? o.metadata : "", message);
      if (s != KEEL_OK) return s;
    }
    return KEEL_OK;
  }
  keel_error err{};
  keel_status s = api_->commit_offsets(api_->ctx, group.c_str(), offsets.data(), offsets.size(), &err);
  if (s != KEEL_OK && message) *message = err.message;
  return s;
}

keel_status BrokerClient::store_group_metadata(const std::string& group, const std::string& metadata,
                                               std::string* message) const {
  if (cut_short(group)) {
    if (message) *message = "the group id holds a NUL byte";
    return KEEL_ERR_INVALID_ARGUMENT;
  }
  if (!KEEL_HAS_FIELD(api_, keel_broker_api, store_group_metadata) || api_->store_group_metadata == nullptr) {
    return KEEL_ERR_UNSUPPORTED;
  }
  keel_error err{};
  keel_status s = api_->store_group_metadata(api_->ctx, group.c_str(), metadata.c_str(), &err);
  if (s != KEEL_OK && message) *message = err.message;
  return s;
}

std::optional<std::string> BrokerClient::group_metadata(const std::string& group) const {
  if (cut_short(group)) return std::nullopt;
  if (!KEEL_HAS_FIELD(api_, keel_broker_api, group_metadata) || api_->group_metadata == nullptr)
    return std::nullopt;
  std::optional<std::string> out;
  api_->group_metadata(
      api_->ctx, group.c_str(),
      [](void* user, const char* m) { *static_cast<std::optional<std::string>*>(user) = m; }, &out);
  return out;
}

keel_status BrokerClient::fetch_offset(const std::string& group, const std::string& topic, int32_t partition,
                                       int64_t* offset, std::string* metadata) const {
  if (cut_short(group) || cut_short(topic)) {
    *offset = -1;  // nothing is ever committed under such a name
    return KEEL_OK;
  }
  return api_->fetch_offset(
      api_->ctx, group.c_str(), topic.c_str(), partition, offset,
      [](void* user, const char* m) {
        if (user) *static_cast<std::string*>(user) = m;
      },
      metadata);
}

std::vector<std::string> BrokerClient::list_committed_groups() const {
  std::vector<std::string> out;
  api_->list_groups(
      api_->ctx,
      [](void* user, const char* g) { static_cast<std::vector<std::string>*>(user)->push_back(g); }, &out);
  return out;
}

}  // namespace keel::kafka
