// The keel_broker_api table given to transports: each entry translates C
// arguments, calls the Broker, and turns exceptions into statuses, because
// nothing may unwind across the plugin boundary.
#include <keel/plugin.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <thread>

#include "broker.hpp"
#include "broker_api_support.hpp"
#include "common/error.hpp"
#include "plugins/plugin_config.hpp"

// A transport's watch. The callback may call unwatch() on its own watch
// (rule 6): the log has already unlisted the watch and holds its lock while
// the callback runs, so unwatch() from inside must neither wait for that
// lock nor free this object under the running callback. `firing` names the
// thread running the callback; an unwatch() from that thread only sets
// `unwatched_inside`, and the callback wrapper frees the object once the
// callback has returned.
struct keel_watch {
  std::shared_ptr<keel::PartitionLog> log;
  std::shared_ptr<keel::PartitionLog::Watch> watch;
  std::atomic<std::thread::id> firing{};
  bool unwatched_inside = false;  // written and read by the firing thread only
};

namespace keel {
namespace {

// Rule 2: at most what the caller's struct holds, its struct_size kept.
template <class T>
void copy_out(T* out, T value) {
  value.struct_size = sizeof value;
  keel_copy_out(out, &value, sizeof value);
}

keel_watermarks watermarks_of(const PartitionLog& log) {
  keel_watermarks w{};
  w.log_start_offset = log.log_start_offset();
  w.high_watermark = log.high_watermark();
  w.log_end_offset = log.log_end_offset();
  return w;
}

void describe(const Topic& t, keel_topic_callback cb, void* user) {
  keel_topic_info info{};
  info.struct_size = sizeof info;
  info.partition_count = t.partition_count();
  info.name = t.name().c_str();
  info.internal = Broker::is_internal(t.name()) ? 1 : 0;
  cb(user, &info);
}

// In-structs a transport allocated: a 2.x caller has every 2.0 field.
template <class T>
void require_size(const T* p, size_t min_size, const char* what) {
  if (p == nullptr) fail(KEEL_ERR_INVALID_ARGUMENT, std::string(what) + " is NULL");
  if (p->struct_size < min_size) {
    fail(KEEL_ERR_INVALID_ARGUMENT, std::string(what) + " is " + std::to_string(p->struct_size) +
                                        " bytes, ABI 2.0 defines " + std::to_string(min_size) +
                                        "; rebuild the transport against the Keel SDK 2.x");
  }
}

void refuse_internal(const char* topic, const char* what) {
  if (topic != nullptr && Broker::is_internal(topic)) {
    fail(KEEL_ERR_INVALID_NAME, std::string("topic '") + topic +
                                    "' is internal to the broker: clients cannot " + what +
                                    " it (it can be read, e.g. with kcat, for debugging)");
  }
}

// Keeps a fetched segment readable until the transport releases it.
struct FetchPin {
  std::shared_ptr<Segment> segment;
};

// produce and produce_flags (2.7).
void produce(void* ctx, const char* topic, int32_t partition, const uint8_t* data, size_t len, int32_t acks,
             uint32_t flags, keel_produce_callback cb, void* user) {
  auto answer = [cb, user](keel_status s, const std::string& message, const AppendResult& r) {
    keel_produce_result res{};
    res.struct_size = sizeof res;
    res.status = s;
    res.base_offset = s == KEEL_OK ? r.base_offset : -1;
    res.log_append_time = -1;
    res.log_start_offset = s == KEEL_OK ? r.log_start_offset : -1;
    res.message = s == KEEL_OK ? nullptr : message.c_str();
    res.duplicate = s == KEEL_OK && r.idempotence == ProducerState::Verdict::kDuplicate ? 1 : 0;
    cb(user, &res);
  };
  try {
    if (topic != nullptr && Broker::is_internal(topic)) {
      return answer(KEEL_ERR_INVALID_NAME,
                    std::string("topic '") + topic +
                        "' is internal to the broker: clients cannot produce to it (consumer offsets are "
                        "committed with OffsetCommit)",
                    AppendResult{});
    }
    B(ctx).produce(topic, partition, data, len, acks, answer, (flags & KEEL_PRODUCE_SYNC_HERE) != 0);
  } catch (const std::exception& e) {
    answer(KEEL_ERR_INTERNAL, e.what(), AppendResult{});
  }
}

}  // namespace

void make_broker_api(Broker* broker, keel_broker_api* api) {
  // Every slot is filled below and in the add_*_api() functions; struct_size
  // says the table is this SDK's (ABI 2.5, every slot up to the
  // authorization ones).
  std::memset(api, 0, sizeof *api);
  api->struct_size = sizeof *api;
  api->ctx = broker;

  api->list_topics = [](void* ctx, keel_topic_callback cb, void* user) {
    return guard(nullptr, [&] {
      for (auto& t : B(ctx).topics()) describe(*t, cb, user);
    });
  };
  api->describe_topic = [](void* ctx, const char* topic, keel_topic_callback cb, void* user) {
    return guard(nullptr, [&] {
      auto t = B(ctx).find_topic(topic);
      if (!t) fail(KEEL_ERR_NOT_FOUND, std::string("unknown topic '") + topic + "'");
      describe(*t, cb, user);
    });
  };
  api->create_topic = [](void* ctx, const keel_create_topic_args* args, keel_error* err) {
    return guard(err, [&] {
      require_size(args, offsetof(keel_create_topic_args, settings_toml) + sizeof(void*),
                   "keel_create_topic_args");
      refuse_internal(args->name, "create");
      B(ctx).create_topic(args->name ? args->name : "", args->partitions,
                          args->settings_toml ? args->settings_toml : "");
    });
  };
  api->delete_topic = [](void* ctx, const char* topic, keel_error* err) {
    return guard(err, [&] {
      refuse_internal(topic, "delete");
      B(ctx).delete_topic(topic);
    });
  };
  api->auto_create_topics = [](void* ctx) -> int32_t { return B(ctx).auto_create_topics() ? 1 : 0; };
  api->choose_partition = [](void* ctx, const char* topic, const uint8_t* key, size_t key_len, int32_t* out,
                             keel_error* err) {
    return guard(err, [&] {
      auto t = B(ctx).get_topic(topic, B(ctx).auto_create_topics());
      if (!t) fail(KEEL_ERR_NOT_FOUND, std::string("unknown topic '") + topic + "'");
      *out = t->choose_partition(key, key_len);
    });
  };

  api->produce = [](void* ctx, const char* topic, int32_t partition, const uint8_t* data, size_t len,
                    int32_t acks, keel_produce_callback cb,
                    void* user) { produce(ctx, topic, partition, data, len, acks, 0, cb, user); };
  api->produce_flags = [](void* ctx, const char* topic, int32_t partition, const uint8_t* data, size_t len,
                          int32_t acks, uint32_t flags, keel_produce_callback cb,
                          void* user) { produce(ctx, topic, partition, data, len, acks, flags, cb, user); };
  api->fetch = [](void* ctx, const char* topic, int32_t partition, int64_t offset, int64_t max_bytes,
                  keel_fetch_result* out, keel_error* err) {
    return guard(err, [&] {
      // The pin is the one field the transport must get back: without room
      // for it the result could never be released.
      require_size(out, offsetof(keel_fetch_result, pin) + sizeof(void*), "keel_fetch_result");
      auto log = B(ctx).partition(topic, partition);
      ReadResult r = B(ctx).fetch(topic, partition, offset, max_bytes);
      const keel_watermarks w = watermarks_of(*log);
      keel_fetch_result f{};
      f.fd = r.segment ? r.segment->fd() : -1;
      f.file_position = r.position;
      f.length = r.length;
      f.log_start_offset = w.log_start_offset;
      f.high_watermark = w.high_watermark;
      f.log_end_offset = w.log_end_offset;
      f.pin = r.segment ? new FetchPin{r.segment} : nullptr;
      copy_out(out, f);
    });
  };
  api->release_fetch = [](void*, keel_fetch_result* result) {
    if (result == nullptr) return;
    delete static_cast<FetchPin*>(result->pin);
    result->pin = nullptr;
  };
  api->watermarks = [](void* ctx, const char* topic, int32_t partition, keel_watermarks* out) {
    return guard(nullptr, [&] { copy_out(out, watermarks_of(*B(ctx).partition(topic, partition))); });
  };
  api->offset_for_time = [](void* ctx, const char* topic, int32_t partition, int64_t ts, int64_t* offset,
                            int64_t* found_ts) {
    return guard(nullptr, [&] {
      auto log = B(ctx).partition(topic, partition);
      auto [o, t] = log->find_time(ts);
      // Consumers see nothing at or past the high watermark (in a cluster,
      // records not yet on every in-sync replica): not found, as Kafka.
      if (o >= log->high_watermark()) o = t = -1;
      *offset = o;
      if (found_ts) *found_ts = t;
    });
  };
  api->watch = [](void* ctx, const char* topic, int32_t partition, int64_t offset, keel_watch_callback cb,
                  void* user, keel_watch** out) {
    return guard(nullptr, [&] {
      auto log = B(ctx).partition(topic, partition);
      auto* w = new keel_watch{log, nullptr};
      w->watch = log->watch(offset, [w, cb, user](WatchFired) {
        w->firing = std::this_thread::get_id();
        cb(user);
        if (w->unwatched_inside) {
          delete w;  // the transport let go of it inside the callback
          return;
        }
        w->firing = std::thread::id();
      });
      *out = w;
    });
  };
  api->unwatch = [](void*, keel_watch* w) {
    if (w == nullptr) return;
    if (w->firing.load() == std::this_thread::get_id()) {
      // From inside the callback: the log already unlisted the watch; the
      // callback wrapper frees it once the callback returns.
      w->unwatched_inside = true;
      return;
    }
    w->log->unwatch(w->watch);  // waits for a callback running elsewhere
    delete w;
  };

  add_group_api(api);
  add_metrics_api(api);
  add_admin_api(api);
  add_cluster_api(api);
  add_security_api(api);
  add_authorization_api(api);
  add_views_api(api);

  api->render_metrics = [](void* ctx, keel_data_callback cb, void* user) {
    std::string text = B(ctx).metrics().render();
    cb(user, text.data(), text.size());
  };
  api->ready = [](void* ctx) -> int32_t { return B(ctx).ready() ? 1 : 0; };
  api->reserve_request_bytes = [](void* ctx, int64_t bytes) -> int32_t {
    return B(ctx).request_budget().reserve(bytes) ? 1 : 0;
  };
  api->release_request_bytes = [](void* ctx, int64_t bytes) { B(ctx).request_budget().release(bytes); };

  api->topic_details = [](void* ctx, const char* topic, keel_topic_details_callback cb, void* user) {
    return guard(nullptr, [&] {
      auto t = B(ctx).find_topic(topic);
      if (!t) fail(KEEL_ERR_NOT_FOUND, std::string("unknown topic '") + topic + "'");
      const auto cfg = t->config();
      const TopicConfig& c = *cfg;
      std::vector<const char*> index, retention;
      for (const auto& n : c.index) index.push_back(n.c_str());
      for (const auto& n : c.retention) retention.push_back(n.c_str());
      keel_topic_details d{};
      d.struct_size = sizeof d;
      d.name = t->name().c_str();
      d.partition_count = t->partition_count();
      d.partitioner = c.partitioner.c_str();
      d.index = index.data();
      d.index_count = static_cast<uint32_t>(index.size());
      d.retention = retention.data();
      d.retention_count = static_cast<uint32_t>(retention.size());
      d.segment_bytes = c.segment_bytes;
      d.segment_ms = c.segment_ms;
      d.max_batch_bytes = c.max_batch_bytes;
      d.flush_mode = to_string(c.flush_mode);
      d.declared = c.declared ? 1 : 0;
      cb(user, &d);
    });
  };
  api->partition_health = [](void* ctx, const char* topic, int32_t partition, keel_partition_health* out) {
    return guard(nullptr, [&] {
      auto log = B(ctx).partition(topic, partition);
      auto infos = log->segment_infos();
      keel_partition_health h{};
      h.segment_count = static_cast<int64_t>(infos.size());
      h.newest_timestamp = -1;
      for (const auto& i : infos) {
        h.size_bytes += i.size_bytes;
        h.newest_timestamp = std::max(h.newest_timestamp, i.max_timestamp);
      }
      h.oldest_timestamp = infos.empty() ? -1 : infos.front().max_timestamp;
      h.index_entries = log->index_entries();
      h.flushed_offset = log->flushed_offset();
      copy_out(out, h);
    });
  };
  api->init_producer_id = [](void* ctx, const keel_init_producer_args* args, keel_producer_identity* out,
                             keel_error* err) {
    return guard(err, [&] {
      if (args != nullptr && KEEL_HAS_FIELD(args, keel_init_producer_args, transactional_id) &&
          args->transactional_id != nullptr) {
        fail(KEEL_ERR_UNSUPPORTED, std::string("transactional id '") + args->transactional_id +
                                       "': Keel supports idempotent producers but not transactions yet; "
                                       "unset transactional.id");
      }
      require_size(out, offsetof(keel_producer_identity, producer_id) + sizeof(int64_t),
                   "keel_producer_identity");
      keel_producer_identity id{};
      id.producer_id = B(ctx).init_producer_id();
      id.epoch = 0;
      copy_out(out, id);
    });
  };
  // ---- 2.2: topic settings at run time
  api->topic_settings = [](void* ctx, const char* topic, keel_topic_setting_callback cb, void* user) {
    return guard(nullptr, [&] {
      const std::string name = topic != nullptr ? topic : "";
      for (const auto& s : B(ctx).topic_settings(topic != nullptr ? &name : nullptr)) {
        cb(user, s.key.c_str(), s.value.c_str(), s.own ? 1 : 0);
      }
    });
  };
  api->alter_topic = [](void* ctx, const keel_alter_topic_args* args, keel_error* err) {
    return guard(err, [&] {
      if (args == nullptr || args->name == nullptr)
        fail(KEEL_ERR_INVALID_ARGUMENT, "alter_topic needs a topic name");
      B(ctx).alter_topic(args->name, args->settings_toml != nullptr ? args->settings_toml : "",
                         args->validate_only != 0);
    });
  };
}

}  // namespace keel
