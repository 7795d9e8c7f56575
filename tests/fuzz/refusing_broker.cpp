#include "refusing_broker.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace keel::fuzz {
namespace {

constexpr const char* kTopic = "fuzz";
constexpr int32_t kPartitions = 2;

// Errors the refusals cause (a failed offset commit) are expected; a handler
// that threw anything but a protocol error is not.
void log(void*, keel_log_level level, const char* message) {
  if (level < KEEL_LOG_ERROR || std::strstr(message, " handler failed for ") == nullptr) return;
  std::fprintf(stderr, "transport logged an error: %s\n", message);
  std::abort();
}
int64_t now_ms(void*) { return 1700000000000; }
int64_t monotonic_ns(void*) { return 0; }
keel_status no_int(void*, const keel_config*, const char*, int64_t*) { return KEEL_ERR_NOT_FOUND; }
keel_status no_double(void*, const keel_config*, const char*, double*) { return KEEL_ERR_NOT_FOUND; }
keel_status no_bool(void*, const keel_config*, const char*, int32_t*) { return KEEL_ERR_NOT_FOUND; }
keel_status no_string(void*, const keel_config*, const char*, const char**) { return KEEL_ERR_NOT_FOUND; }

bool known(const char* topic, int32_t partition) {
  return topic != nullptr && std::strcmp(topic, kTopic) == 0 && partition >= 0 && partition < kPartitions;
}
void refuse(keel_error* err, const char* why) {
  if (err != nullptr) std::snprintf(err->message, sizeof err->message, "%s", why);
}

keel_status list_topics(void*, keel_topic_callback cb, void* user) {
  keel_topic_info info{};
  info.struct_size = sizeof info;
  info.partition_count = kPartitions;
  info.name = kTopic;
  cb(user, &info);
  return KEEL_OK;
}
keel_status describe_topic(void* ctx, const char* topic, keel_topic_callback cb, void* user) {
  if (!known(topic, 0)) return KEEL_ERR_NOT_FOUND;
  return list_topics(ctx, cb, user);
}
keel_status create_topic(void*, const keel_create_topic_args*, keel_error* err) {
  refuse(err, "the fuzzing broker creates no topics");
  return KEEL_ERR_UNAVAILABLE;
}
keel_status delete_topic(void*, const char*, keel_error* err) {
  refuse(err, "the fuzzing broker deletes no topics");
  return KEEL_ERR_UNAVAILABLE;
}
int32_t auto_create_topics(void*) { return 1; }
keel_status choose_partition(void*, const char* topic, const uint8_t*, size_t, int32_t* partition,
                             keel_error*) {
  *partition = 0;
  return known(topic, 0) ? KEEL_OK : KEEL_ERR_NOT_FOUND;
}
void produce(void*, const char*, int32_t, const uint8_t*, size_t, int32_t, keel_produce_callback cb,
             void* user) {
  keel_produce_result r{};
  r.struct_size = sizeof r;
  r.status = KEEL_ERR_UNAVAILABLE;
  r.base_offset = r.log_append_time = r.log_start_offset = -1;
  r.message = "the fuzzing broker stores nothing";
  cb(user, &r);
}
keel_status fetch(void*, const char* topic, int32_t partition, int64_t, int64_t, keel_fetch_result* out,
                  keel_error* err) {
  if (!known(topic, partition)) {
    refuse(err, "unknown topic or partition");
    return KEEL_ERR_NOT_FOUND;
  }
  keel_fetch_result r{};
  r.struct_size = sizeof r;
  r.fd = -1;
  keel_copy_out(out, &r, sizeof r);  // rule 2, as the real broker
  return KEEL_OK;
}
void release_fetch(void*, keel_fetch_result*) {}
keel_status watermarks(void*, const char* topic, int32_t partition, keel_watermarks* out) {
  if (!known(topic, partition)) return KEEL_ERR_NOT_FOUND;
  keel_watermarks w{};
  w.struct_size = sizeof w;
  keel_copy_out(out, &w, sizeof w);
  return KEEL_OK;
}
keel_status offset_for_time(void*, const char* topic, int32_t partition, int64_t, int64_t* offset,
                            int64_t* found) {
  if (!known(topic, partition)) return KEEL_ERR_NOT_FOUND;
  *offset = -1;
  *found = -1;
  return KEEL_OK;
}
keel_status watch(void*, const char*, int32_t, int64_t, keel_watch_callback, void*, keel_watch** out) {
  *out = nullptr;
  return KEEL_ERR_UNAVAILABLE;
}
void unwatch(void*, keel_watch*) {}
keel_status fetch_offset(void*, const char*, const char*, int32_t, int64_t* offset, keel_string_callback,
                         void*) {
  *offset = -1;
  return KEEL_OK;
}
keel_status list_groups(void*, keel_string_callback, void*) { return KEEL_OK; }
void counter_add(void*, const char*, const keel_label*, size_t, double) {}
void gauge_set(void*, const char*, const keel_label*, size_t, double) {}
void histogram_observe(void*, const char*, const keel_label*, size_t, double) {}
void render_metrics(void*, keel_data_callback, void*) {}
int32_t ready(void*) { return 1; }
keel_status topic_details(void*, const char*, keel_topic_details_callback, void*) {
  return KEEL_ERR_NOT_FOUND;
}
keel_status partition_health(void*, const char*, int32_t, keel_partition_health*) {
  return KEEL_ERR_NOT_FOUND;
}
keel_status group_offsets(void*, const char*, keel_group_offset_callback, void*) {
  return KEEL_ERR_NOT_FOUND;
}
void commit_offsets(void*, const keel_group_commit*, keel_status_callback cb, void* user) {
  cb(user, KEEL_ERR_UNAVAILABLE, "the fuzzing broker stores no offsets");
}
keel_status set_group_members(void*, const keel_group_members*, keel_error*) { return KEEL_OK; }
int32_t reserve_request_bytes(void*, int64_t) { return 1; }
void release_request_bytes(void*, int64_t) {}
keel_status init_producer_id(void*, const keel_init_producer_args*, keel_producer_identity*,
                             keel_error* err) {
  refuse(err, "the fuzzing broker hands out no producer ids");
  return KEEL_ERR_UNAVAILABLE;
}
keel_status store_group_metadata(void*, const char*, const char*, keel_error* err) {
  refuse(err, "the fuzzing broker stores no groups");
  return KEEL_ERR_UNAVAILABLE;
}
keel_status group_metadata(void*, const char*, keel_string_callback, void*) { return KEEL_ERR_NOT_FOUND; }

}  // namespace

const keel_host* refusing_host() {
  static const keel_host host = [] {
    keel_host h{};
    h.struct_size = sizeof h;
    h.log = log;
    h.now_ms = now_ms;
    h.monotonic_ns = monotonic_ns;
    h.config_get_int = no_int;
    h.config_get_double = no_double;
    h.config_get_bool = no_bool;
    h.config_get_string = no_string;
    return h;
  }();
  return &host;
}

const keel_broker_api* refusing_broker() {
  static const keel_broker_api api = [] {
    keel_broker_api a{};
    a.struct_size = sizeof a;
    a.list_topics = list_topics;
    a.describe_topic = describe_topic;
    a.create_topic = create_topic;
    a.delete_topic = delete_topic;
    a.auto_create_topics = auto_create_topics;
    a.choose_partition = choose_partition;
    a.topic_details = topic_details;
    a.produce = produce;
    a.fetch = fetch;
    a.release_fetch = release_fetch;
    a.watermarks = watermarks;
    a.offset_for_time = offset_for_time;
    a.watch = watch;
    a.unwatch = unwatch;
    a.partition_health = partition_health;
    a.commit_offsets = commit_offsets;
    a.fetch_offset = fetch_offset;
    a.group_offsets = group_offsets;
    a.list_groups = list_groups;
    a.set_group_members = set_group_members;
    a.store_group_metadata = store_group_metadata;
    a.group_metadata = group_metadata;
    a.counter_add = counter_add;
    a.gauge_set = gauge_set;
    a.histogram_observe = histogram_observe;
    a.render_metrics = render_metrics;
    a.ready = ready;
    a.reserve_request_bytes = reserve_request_bytes;
    a.release_request_bytes = release_request_bytes;
    a.init_producer_id = init_producer_id;
    return a;
  }();
  return &api;
}

}  // namespace keel::fuzz
