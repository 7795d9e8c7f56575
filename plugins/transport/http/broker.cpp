#include "broker.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "errors.hpp"

namespace keel::web {
namespace {

HttpError unknown_topic(const std::string& topic) {
  return HttpError(bhttp::status::not_found, "unknown_topic", "unknown topic '" + topic + "'");
}

}  // namespace

std::string FetchedRange::read() const {
  std::string out(static_cast<size_t>(r_.length), '\0');
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(r_.fd, out.data() + done, out.size() - done, r_.file_position + done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw sdk::Error(KEEL_ERR_IO, "cannot read " + std::to_string(out.size()) +
                                        " fetched bytes at position " +
                                        std::to_string(r_.file_position + done) + ": " +
                                        (n < 0 ? std::strerror(errno) : "unexpected end of file"));
    }
    done += static_cast<size_t>(n);
  }
  return out;
}

Broker::Broker(const keel_broker_api* api) : api_(api) {}

void Broker::require_1_1(const char* what) const {
  if (!KEEL_HAS_FIELD(api_, keel_broker_api, group_offsets)) {
    throw sdk::Error(KEEL_ERR_UNSUPPORTED, std::string(what) + " needs a broker with ABI 1.1 or later");
  }
}

std::vector<TopicInfo> Broker::list_topics() const {
  std::vector<TopicInfo> out;
  auto cb = [](void* user, const keel_topic_info* t) {
    static_cast<std::vector<TopicInfo>*>(user)->push_back({t->name, t->partition_count, t->internal != 0});
  };
  const keel_status s = api_->list_topics(api_->ctx, cb, &out);
  if (s != KEEL_OK) throw sdk::Error(s, "cannot list topics");
  return out;
}

std::optional<TopicInfo> Broker::find_topic(const std::string& name) const {
  std::optional<TopicInfo> out;
  auto cb = [](void* user, const keel_topic_info* t) {
    *static_cast<std::optional<TopicInfo>*>(user) = TopicInfo{t->name, t->partition_count, t->internal != 0};
  };
  const keel_status s = api_->describe_topic(api_->ctx, name.c_str(), cb, &out);
  if (s == KEEL_ERR_NOT_FOUND) return std::nullopt;
  if (s != KEEL_OK) throw sdk::Error(s, "cannot describe topic '" + name + "'");
  return out;
}

TopicInfo Broker::require_topic(const std::string& name) const {
  auto t = find_topic(name);
  if (!t) throw unknown_topic(name);
  return *t;
}

TopicDetails Broker::topic_details(const std::string& name) const {
  require_1_1("topic details");
  TopicDetails out;
  auto cb = [](void* user, const keel_topic_details* d) {
    auto& o = *static_cast<TopicDetails*>(user);
    o.partitioner = d->partitioner ? d->partitioner : "";
    for (uint32_t i = 0; i < d->index_count; ++i) o.index.emplace_back(d->index[i]);
    for (uint32_t i = 0; i < d->retention_count; ++i) o.retention.emplace_back(d->retention[i]);
    o.segment_bytes = d->segment_bytes;
    o.segment_ms = d->segment_ms;
    o.max_batch_bytes = d->max_batch_bytes;
    o.flush_mode = d->flush_mode ? d->flush_mode : "";
    o.declared = d->declared != 0;
  };
  const keel_status s = api_->topic_details(api_->ctx, name.c_str(), cb, &out);
  if (s == KEEL_ERR_NOT_FOUND) throw unknown_topic(name);
  if (s != KEEL_OK) throw sdk::Error(s, "cannot read the details of topic '" + name + "'");
  return out;
}

void Broker::create_topic(const std::string& name, int32_t partitions,
                          const std::string& settings_toml) const {
  keel_create_topic_args args{};
  args.struct_size = sizeof args;
  args.name = name.c_str();
  args.partitions = partitions;
  args.settings_toml = settings_toml.c_str();
  keel_error err{};
  const keel_status s = api_->create_topic(api_->ctx, &args, &err);
  if (s == KEEL_ERR_ALREADY_EXISTS) throw HttpError(bhttp::status::conflict, "topic_exists", err.message);
  // Not found here is a strategy the settings name: the request is at fault.
  if (s == KEEL_ERR_NOT_FOUND) throw bad_request(err.message);
  if (s != KEEL_OK) throw sdk::Error(s, err.message);
}

void Broker::delete_topic(const std::string& name) const {
  keel_error err{};
  const keel_status s = api_->delete_topic(api_->ctx, name.c_str(), &err);
  if (s == KEEL_ERR_NOT_FOUND) throw unknown_topic(name);
  if (s != KEEL_OK) throw sdk::Error(s, err.message);
}

int32_t Broker::choose_partition(const std::string& topic, const std::optional<std::string>& key) const {
  int32_t p = 0;
  const auto* data = key ? reinterpret_cast<const uint8_t*>(key->data()) : nullptr;
  const keel_status s = api_->choose_partition(api_->ctx, topic.c_str(), data, key ? key->size() : 0, &p);
  if (s == KEEL_ERR_NOT_FOUND) {
    throw HttpError(bhttp::status::not_found, "unknown_topic",
                    "unknown topic '" + topic +
                        "'; create it first (POST /topics) or set "
                        "broker.auto_create_topics = true");
  }
  if (s == KEEL_ERR_INVALID_ARGUMENT) {
    throw bad_request("invalid topic name '" + topic + "': use 1-249 characters of [a-zA-Z0-9._-]");
  }
  if (s != KEEL_OK) throw sdk::Error(s, "cannot choose a partition of topic '" + topic + "'");
  return p;
}

void Broker::produce(const std::string& topic, int32_t partition, const std::string& batch, int32_t acks,
                     ProduceDone done) const {
  auto* heap = new ProduceDone(std::move(done));
  auto cb = [](void* user, const keel_produce_result* r) {
    std::unique_ptr<ProduceDone> d(static_cast<ProduceDone*>(user));
    (*d)(r->status, r->base_offset, r->message ? r->message : "");
  };
  api_->produce(api_->ctx, topic.c_str(), partition, reinterpret_cast<const uint8_t*>(batch.data()),
                batch.size(), acks, cb, heap);
}

void Broker::fail_partition(keel_status s, const std::string& topic, int32_t partition,
                            const char* what) const {
  if (s == KEEL_ERR_NOT_FOUND) {
    auto t = find_topic(topic);
    if (!t) throw unknown_topic(topic);
    throw HttpError(bhttp::status::not_found, "unknown_partition",
                    "topic '" + topic + "' has no partition " + std::to_string(partition) + " (it has " +
                        std::to_string(t->partitions) + ")");
  }
  throw sdk::Error(s, std::string("cannot ") + what + " of " + topic + "-" + std::to_string(partition));
}

std::unique_ptr<FetchedRange> Broker::fetch(const std::string& topic, int32_t partition, int64_t offset,
                                            int64_t max_bytes) const {
  keel_fetch_result r{};
  r.struct_size = sizeof r;
  keel_error err{};
  const keel_status s = api_->fetch(api_->ctx, topic.c_str(), partition, offset, max_bytes, &r, &err);
  if (s == KEEL_ERR_NOT_FOUND) fail_partition(s, topic, partition, "fetch");
  if (s != KEEL_OK) throw sdk::Error(s, err.message);
  return std::make_unique<FetchedRange>(api_, r);
}

keel_watermarks Broker::watermarks(const std::string& topic, int32_t partition) const {
  keel_watermarks w{};
  w.struct_size = sizeof w;
  const keel_status s = api_->watermarks(api_->ctx, topic.c_str(), partition, &w);
  if (s != KEEL_OK) fail_partition(s, topic, partition, "read the watermarks");
  return w;
}

std::optional<int64_t> Broker::offset_for_time(const std::string& topic, int32_t partition,
                                               int64_t ts) const {
  int64_t offset = -1;
  int64_t found = -1;
  const keel_status s = api_->offset_for_time(api_->ctx, topic.c_str(), partition, ts, &offset, &found);
  if (s != KEEL_OK) fail_partition(s, topic, partition, "look up a timestamp");
  if (offset < 0) return std::nullopt;
  return offset;
}

keel_watch* Broker::watch(const std::string& topic, int32_t partition, int64_t offset, keel_watch_callback cb,
                          void* user) const {
  keel_watch* w = nullptr;
  const keel_status s = api_->watch(api_->ctx, topic.c_str(), partition, offset, cb, user, &w);
  if (s != KEEL_OK) fail_partition(s, topic, partition, "watch");
  return w;
}

keel_partition_health Broker::partition_health(const std::string& topic, int32_t partition) const {
  require_1_1("partition health");
  keel_partition_health h{};
  h.struct_size = sizeof h;
  const keel_status s = api_->partition_health(api_->ctx, topic.c_str(), partition, &h);
  if (s != KEEL_OK) fail_partition(s, topic, partition, "read the health");
  return h;
}

void Broker::commit_offset(const std::string& group, const std::string& topic, int32_t partition,
                           int64_t offset, const std::string& metadata) const {
  keel_error err{};
  const keel_status s =
      api_->commit_offset(api_->ctx, group.c_str(), topic.c_str(), partition, offset, metadata.c_str(), &err);
  if (s != KEEL_OK) throw sdk::Error(s, err.message);
}

void Broker::commit_offsets(const std::string& group, const std::vector<GroupOffset>& offsets) const {
  const bool batched =
      KEEL_HAS_FIELD(api_, keel_broker_api, commit_offsets) && api_->commit_offsets != nullptr;
  if (!batched) {
    for (const auto& o : offsets) commit_offset(group, o.topic, o.partition, o.offset, o.metadata);
    return;
  }
  std::vector<keel_offset_commit> commits;
  for (const auto& o : offsets) {
    keel_offset_commit c{};
    c.struct_size = sizeof c;
    c.topic = o.topic.c_str();
    c.partition = o.partition;
    c.offset = o.offset;
    c.metadata = o.metadata.c_str();
    commits.push_back(c);
  }
  keel_error err{};
  const keel_status s = api_->commit_offsets(api_->ctx, group.c_str(), commits.data(), commits.size(), &err);
  if (s != KEEL_OK) throw sdk::Error(s, err.message);
}

GroupOffset Broker::fetch_offset(const std::string& group, const std::string& topic,
                                 int32_t partition) const {
  GroupOffset out{topic, partition, -1, ""};
  auto cb = [](void* user, const char* metadata) {
    *static_cast<std::string*>(user) = metadata ? metadata : "";
  };
  const keel_status s =
      api_->fetch_offset(api_->ctx, group.c_str(), topic.c_str(), partition, &out.offset, cb, &out.metadata);
  if (s != KEEL_OK) {
    throw sdk::Error(
        s, "cannot read the offset of group '" + group + "' for " + topic + "-" + std::to_string(partition));
  }
  return out;
}

std::vector<GroupOffset> Broker::group_offsets(const std::string& group) const {
  require_1_1("listing a group's offsets");
  std::vector<GroupOffset> out;
  auto cb = [](void* user, const char* topic, int32_t partition, int64_t offset, const char* metadata) {
    static_cast<std::vector<GroupOffset>*>(user)->push_back(
        {topic, partition, offset, metadata ? metadata : ""});
  };
  const keel_status s = api_->group_offsets(api_->ctx, group.c_str(), cb, &out);
  if (s == KEEL_ERR_NOT_FOUND) return {};
  if (s != KEEL_OK) throw sdk::Error(s, "cannot list the offsets of group '" + group + "'");
  return out;
}

std::vector<std::string> Broker::list_groups() const {
  std::vector<std::string> out;
  auto cb = [](void* user, const char* g) { static_cast<std::vector<std::string>*>(user)->emplace_back(g); };
  const keel_status s = api_->list_groups(api_->ctx, cb, &out);
  if (s != KEEL_OK) throw sdk::Error(s, "cannot list groups");
  return out;
}

std::string Broker::render_metrics() const {
  std::string out;
  auto cb = [](void* user, const char* data, size_t len) {
    static_cast<std::string*>(user)->append(data, len);
  };
  api_->render_metrics(api_->ctx, cb, &out);
  return out;
}

}  // namespace keel::web
