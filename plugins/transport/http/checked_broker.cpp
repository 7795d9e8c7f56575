#include "checked_broker.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "errors.hpp"

namespace keel::web {
namespace {

HttpError unknown_topic(const std::string& topic) {
  return HttpError(bhttp::status::not_found, "unknown_topic", "unknown topic '" + topic + "'");
}

void check(keel_status s, const std::string& message) {
  if (s != KEEL_OK) throw sdk::Error(s, message);
}

}  // namespace

std::string read_range(const FetchedRange& range) {
  std::string out(static_cast<size_t>(range.length()), '\0');
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(range.fd(), out.data() + done, out.size() - done, range.position() + done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw sdk::Error(KEEL_ERR_IO, "cannot read " + std::to_string(out.size()) +
                                        " fetched bytes at position " +
                                        std::to_string(range.position() + done) + ": " +
                                        (n < 0 ? std::strerror(errno) : "unexpected end of file"));
    }
    done += static_cast<size_t>(n);
  }
  return out;
}

TopicInfo CheckedBroker::require_topic(const std::string& name) const {
  auto t = find_topic(name);
  if (!t) throw unknown_topic(name);
  return *t;
}

TopicDetails CheckedBroker::topic_details(const std::string& name) const {
  TopicDetails out;
  const keel_status s = b_.topic_details(name, &out);
  if (s == KEEL_ERR_NOT_FOUND) throw unknown_topic(name);
  check(s, "cannot read the details of topic '" + name + "'");
  return out;
}

std::vector<sdk::TopicSetting> CheckedBroker::topic_settings(const std::string* name) const {
  std::vector<sdk::TopicSetting> out;
  const keel_status s = b_.topic_settings(name, &out);
  if (s == KEEL_ERR_NOT_FOUND && name != nullptr) throw unknown_topic(*name);
  if (s != KEEL_OK) throw sdk::Error(s, "could not read topic settings");
  return out;
}

void CheckedBroker::create_topic(const std::string& name, int32_t partitions,
                                 const std::string& settings_toml) const {
  std::string message;
  const keel_status s = b_.create_topic(name, partitions, settings_toml, &message);
  if (s == KEEL_ERR_ALREADY_EXISTS) throw HttpError(bhttp::status::conflict, "topic_exists", message);
  // Not found here is a strategy the settings name: the request is at fault.
  if (s == KEEL_ERR_NOT_FOUND) throw bad_request(message);
  check(s, message);
}

void CheckedBroker::create_partitions(const std::string& name, int32_t count, bool validate_only) const {
  std::string message;
  const keel_status s = b_.create_partitions(name, count, validate_only, &message);
  if (s == KEEL_ERR_NOT_FOUND) throw unknown_topic(name);
  check(s, message);
}

int64_t CheckedBroker::delete_records(const std::string& topic, int32_t partition,
                                      int64_t before_offset) const {
  std::string message;
  int64_t start = -1;
  const keel_status s = b_.delete_records(topic, partition, before_offset, &start, &message);
  if (s != KEEL_OK) fail_partition(s, topic, partition, message);
  return start;
}

void CheckedBroker::delete_topic(const std::string& name) const {
  std::string message;
  const keel_status s = b_.delete_topic(name, &message);
  if (s == KEEL_ERR_NOT_FOUND) throw unknown_topic(name);
  check(s, message);
}

void CheckedBroker::delete_group(const std::string& group) const {
  std::string message;
  const keel_status s = b_.delete_group(group, &message);
  if (s == KEEL_ERR_NOT_FOUND) throw HttpError(bhttp::status::not_found, "unknown_group", message);
  if (s == KEEL_ERR_FENCED) throw HttpError(bhttp::status::conflict, "group_has_members", message);
  check(s, message);
}

int32_t CheckedBroker::choose_partition(const std::string& topic,
                                        const std::optional<std::string>& key) const {
  int32_t p = 0;
  std::string message;
  const keel_status s =
      b_.choose_partition(topic, key ? std::optional<std::string_view>(*key) : std::nullopt, &p, &message);
  if (s == KEEL_ERR_NOT_FOUND) {
    throw HttpError(bhttp::status::not_found, "unknown_topic",
                    "unknown topic '" + topic +
                        "'; create it first (POST /topics) or set "
                        "broker.auto_create_topics = true");
  }
  check(s, "cannot choose a partition of topic '" + topic + "': " + message);
  return p;
}

void CheckedBroker::produce(const std::string& topic, int32_t partition, const std::string& batch,
                            int32_t acks, ProduceDone done) const {
  b_.produce(topic, partition, reinterpret_cast<const uint8_t*>(batch.data()), batch.size(), acks,
             std::move(done));
}

std::pair<int64_t, int32_t> CheckedBroker::init_producer_id() const {
  int64_t id = -1;
  int32_t epoch = -1;
  std::string message;
  const keel_status s = b_.init_producer_id(0, nullptr, &id, &epoch, &message);
  if (s != KEEL_OK) throw sdk::Error(s, "cannot create a producer id: " + message);
  return {id, epoch};
}

void CheckedBroker::fail_partition(keel_status s, const std::string& topic, int32_t partition,
                                   const std::string& what) const {
  if (s == KEEL_ERR_NOT_LEADER) throw not_leader(topic, partition);
  if (s == KEEL_ERR_NOT_FOUND) {
    auto t = find_topic(topic);
    if (!t) throw unknown_topic(topic);
    throw HttpError(bhttp::status::not_found, "unknown_partition",
                    "topic '" + topic + "' has no partition " + std::to_string(partition) + " (it has " +
                        std::to_string(t->partitions) + ")");
  }
  throw sdk::Error(s, what);
}

std::unique_ptr<FetchedRange> CheckedBroker::fetch(const std::string& topic, int32_t partition,
                                                   int64_t offset, int64_t max_bytes) const {
  std::unique_ptr<FetchedRange> out;
  std::string message;
  const keel_status s = b_.fetch(topic, partition, offset, max_bytes, &out, &message);
  if (s != KEEL_OK) fail_partition(s, topic, partition, message);
  return out;
}

keel_watermarks CheckedBroker::watermarks(const std::string& topic, int32_t partition) const {
  keel_watermarks w{};
  const keel_status s = b_.watermarks(topic, partition, &w);
  if (s != KEEL_OK) {
    fail_partition(s, topic, partition,
                   "cannot read the watermarks of " + topic + "-" + std::to_string(partition));
  }
  return w;
}

std::optional<int64_t> CheckedBroker::offset_for_time(const std::string& topic, int32_t partition,
                                                      int64_t ts) const {
  int64_t offset = -1;
  int64_t found = -1;
  const keel_status s = b_.offset_for_time(topic, partition, ts, &offset, &found);
  if (s != KEEL_OK) {
    fail_partition(s, topic, partition,
                   "cannot look up a timestamp in " + topic + "-" + std::to_string(partition));
  }
  if (offset < 0) return std::nullopt;
  return offset;
}

keel_watch* CheckedBroker::watch(const std::string& topic, int32_t partition, int64_t offset,
                                 keel_watch_callback cb, void* user) const {
  keel_watch* w = nullptr;
  const keel_status s = b_.watch(topic, partition, offset, cb, user, &w);
  if (s != KEEL_OK)
    fail_partition(s, topic, partition, "cannot watch " + topic + "-" + std::to_string(partition));
  return w;
}

keel_partition_health CheckedBroker::partition_health(const std::string& topic, int32_t partition) const {
  keel_partition_health h{};
  const keel_status s = b_.partition_health(topic, partition, &h);
  if (s != KEEL_OK) {
    fail_partition(s, topic, partition,
                   "cannot read the health of " + topic + "-" + std::to_string(partition));
  }
  return h;
}

void CheckedBroker::commit_offsets(const std::string& group, const std::vector<GroupOffset>& offsets,
                                   sdk::Broker::CommitDone done) const {
  sdk::Broker::Commit c;
  c.group = group;
  c.generation = KEEL_GENERATION_NONE;
  c.offsets = offsets;
  b_.commit_offsets(c, std::move(done));
}

GroupOffset CheckedBroker::fetch_offset(const std::string& group, const std::string& topic,
                                        int32_t partition) const {
  GroupOffset out{topic, partition, -1, ""};
  const keel_status s = b_.fetch_offset(group, topic, partition, &out.offset, &out.metadata);
  check(s, "cannot read the offset of group '" + group + "' for " + topic + "-" + std::to_string(partition));
  return out;
}

std::vector<GroupOffset> CheckedBroker::group_offsets(const std::string& group) const {
  keel_status s = KEEL_OK;
  auto out = b_.group_offsets(group, &s);
  check(s, "cannot list the offsets of group '" + group + "'");
  return out;
}

}  // namespace keel::web
