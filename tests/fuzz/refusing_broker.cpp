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
keel_status no_bool(void*, const keel_config*, const char*, int*) { return KEEL_ERR_NOT_FOUND; }
keel_status no_string(void*, const keel_config*, const char*, const char**) { return KEEL_ERR_NOT_FOUND; }

bool known(const char* topic, int32_t partition) {
  return topic != nullptr && std::strcmp(topic, kTopic) == 0 && partition >= 0 && partition < kPartitions;
}
void refuse(keel_error* err, const char* why) {
  if (err != nullptr) std::snprintf(err->message, sizeof err->message, "%s", why);
}

keel_status list_topics(void*, keel_topic_callback cb, void* user) {
  keel_topic_info info{sizeof(keel_topic_info), kTopic, kPartitions, 0};
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
keel_status choose_partition(void*, const char* topic, const uint8_t*, size_t, int32_t* partition) {
  *partition = 0;
  return known(topic, 0) ? KEEL_OK : KEEL_ERR_NOT_FOUND;
}
void produce(void*, const char*, int32_t, const uint8_t*, size_t, int32_t, keel_produce_callback cb,
             void* user) {
  keel_produce_result r{sizeof(keel_produce_result),        KEEL_ERR_UNAVAILABLE, -1, -1, -1,
                        "the fuzzing broker stores nothing"};
  cb(user, &r);
}
keel_status fetch(void*, const char* topic, int32_t partition, int64_t, int64_t, keel_fetch_result* out,
                  keel_error* err) {
  if (!known(topic, partition)) {
    refuse(err, "unknown topic or partition");
    return KEEL_ERR_NOT_FOUND;
  }
  *out = keel_fetch_result{};
  out->struct_size = sizeof(keel_fetch_result);
  out->fd = -1;
  out->watermarks.struct_size = sizeof(keel_watermarks);
  return KEEL_OK;
}
void release_fetch(void*, keel_fetch_result*) {}
keel_status watermarks(void*, const char* topic, int32_t partition, keel_watermarks* out) {
  if (!known(topic, partition)) return KEEL_ERR_NOT_FOUND;
  *out = keel_watermarks{sizeof(keel_watermarks), 0, 0, 0};
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
keel_status commit_offset(void*, const char*, const char*, int32_t, int64_t, const char*, keel_error* err) {
  refuse(err, "the fuzzing broker stores no offsets");
  return KEEL_ERR_UNAVAILABLE;
}
keel_status fetch_offset(void*, const char*, const char*, int32_t, int64_t* offset, keel_string_callback,
                         void*) {
  *offset = -1;
  return KEEL_OK;
}
keel_status list_groups(void*, keel_string_callback, void*) { return KEEL_OK; }
void counter_add(void*, const char*, const char*, double) {}
void gauge_set(void*, const char*, const char*, double) {}
void histogram_observe(void*, const char*, const char*, double) {}
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
keel_status commit_offsets(void*, const char*, const keel_offset_commit*, size_t, keel_error* err) {
  refuse(err, "the fuzzing broker stores no offsets");
  return KEEL_ERR_UNAVAILABLE;
}
keel_status store_group_metadata(void*, const char*, const char*, keel_error* err) {
  refuse(err, "the fuzzing broker stores no groups");
  return KEEL_ERR_UNAVAILABLE;
}
keel_status group_metadata(void*, const char*, keel_string_callback, void*) { return KEEL_ERR_NOT_FOUND; }

}  // namespace

const keel_host* refusing_host() {
  static const keel_host host{sizeof(keel_host), nullptr, log,      now_ms, monotonic_ns, no_int,
                              no_double,         no_bool, no_string};
  return &host;
}

const keel_broker_api* refusing_broker() {
  static const keel_broker_api api{sizeof(keel_broker_api),
                                   nullptr,
                                   list_topics,
                                   describe_topic,
                                   create_topic,
                                   delete_topic,
                                   auto_create_topics,
                                   choose_partition,
                                   produce,
                                   fetch,
                                   release_fetch,
                                   watermarks,
                                   offset_for_time,
                                   watch,
                                   unwatch,
                                   commit_offset,
                                   fetch_offset,
                                   list_groups,
                                   counter_add,
                                   gauge_set,
                                   histogram_observe,
                                   render_metrics,
                                   ready,
                                   topic_details,
                                   partition_health,
                                   group_offsets,
                                   commit_offsets,
                                   store_group_metadata,
                                   group_metadata};
  return &api;
}

}  // namespace keel::fuzz
