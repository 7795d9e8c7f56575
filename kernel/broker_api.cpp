// The keel_broker_api table given to transports: each entry translates C
// arguments, calls the Broker, and turns exceptions into statuses, because
// nothing may unwind across the plugin boundary.
#include <keel/plugin.h>
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstring>

#include "broker.hpp"
#include "common/error.hpp"
#include "plugins/plugin_config.hpp"

struct keel_watch {
  std::shared_ptr<keel::PartitionLog> log;
  std::shared_ptr<keel::PartitionLog::Watch> watch;
};

namespace keel {
namespace {

Broker& B(void* ctx) { return *static_cast<Broker*>(ctx); }

template <class Fn>
keel_status guard(keel_error* err, Fn&& fn) noexcept {
  try {
    fn();
    return KEEL_OK;
  } catch (const Error& e) {
    sdk::detail::write_error(err, e.what());
    return e.code();
  } catch (const std::exception& e) {
    sdk::detail::write_error(err, e.what());
    return KEEL_ERR_INTERNAL;
  } catch (...) {
    sdk::detail::write_error(err, "unknown error");
    return KEEL_ERR_INTERNAL;
  }
}

void fill_watermarks(const PartitionLog& log, keel_watermarks* w) {
  w->struct_size = sizeof *w;
  w->log_start_offset = log.log_start_offset();
  w->high_watermark = log.high_watermark();
  w->log_end_offset = log.log_end_offset();
}

void describe(const Topic& t, keel_topic_callback cb, void* user) {
  keel_topic_info info{sizeof info, t.name().c_str(), t.partition_count(),
                       Broker::is_internal(t.name()) ? 1 : 0};
  cb(user, &info);
}

void refuse_internal(const char* topic, const char* what) {
  if (topic != nullptr && Broker::is_internal(topic)) {
    fail(KEEL_ERR_INVALID_ARGUMENT, std::string("topic '") + topic +
                                        "' is internal to the broker: clients cannot " + what +
                                        " it (it can be read, e.g. with kcat, for debugging)");
  }
}

// Keeps a fetched segment readable until the transport releases it.
struct FetchPin {
  std::shared_ptr<Segment> segment;
};

}  // namespace

void make_broker_api(Broker* broker, keel_broker_api* api) {
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
      refuse_internal(args->name, "create");
      // settings_toml came with ABI 1.1: older transports pass a shorter struct.
      const bool has_settings = KEEL_HAS_FIELD(args, keel_create_topic_args, settings_toml);
      B(ctx).create_topic(args->name, args->partitions,
                          has_settings && args->settings_toml ? args->settings_toml : "");
    });
  };
  api->delete_topic = [](void* ctx, const char* topic, keel_error* err) {
    return guard(err, [&] {
      refuse_internal(topic, "delete");
      B(ctx).delete_topic(topic);
    });
  };
  api->auto_create_topics = [](void* ctx) -> int32_t { return B(ctx).auto_create_topics() ? 1 : 0; };
  api->choose_partition = [](void* ctx, const char* topic, const uint8_t* key, size_t key_len, int32_t* out) {
    return guard(nullptr, [&] {
      auto t = B(ctx).get_topic(topic, B(ctx).auto_create_topics());
      if (!t) fail(KEEL_ERR_NOT_FOUND, std::string("unknown topic '") + topic + "'");
      *out = t->choose_partition(key, key_len);
    });
  };

  api->produce = [](void* ctx, const char* topic, int32_t partition, const uint8_t* data, size_t len,
                    int32_t acks, keel_produce_callback cb, void* user) {
    auto answer = [cb, user](keel_status s, const std::string& message, const AppendResult& r) {
      keel_produce_result res{};
      res.struct_size = sizeof res;
      res.status = s;
      res.base_offset = s == KEEL_OK ? r.base_offset : -1;
      res.log_append_time = -1;
      res.log_start_offset = s == KEEL_OK ? r.log_start_offset : -1;
      res.message = s == KEEL_OK ? nullptr : message.c_str();
      cb(user, &res);
    };
    try {
      if (topic != nullptr && Broker::is_internal(topic)) {
        return answer(KEEL_ERR_INVALID_ARGUMENT,
                      std::string("topic '") + topic +
                          "' is internal to the broker: clients cannot produce to it (consumer offsets are "
                          "committed with OffsetCommit)",
                      AppendResult{});
      }
      B(ctx).produce(topic, partition, data, len, acks, answer);
    } catch (const std::exception& e) {
      answer(KEEL_ERR_INTERNAL, e.what(), AppendResult{});
    }
  };
  api->fetch = [](void* ctx, const char* topic, int32_t partition, int64_t offset, int64_t max_bytes,
                  keel_fetch_result* out, keel_error* err) {
    return guard(err, [&] {
      auto log = B(ctx).partition(topic, partition);
      ReadResult r = B(ctx).fetch(topic, partition, offset, max_bytes);
      out->struct_size = sizeof *out;
      out->fd = r.segment ? r.segment->fd() : -1;
      out->file_position = r.position;
      out->length = r.length;
      fill_watermarks(*log, &out->watermarks);
      out->pin = r.segment ? new FetchPin{r.segment} : nullptr;
    });
  };
  api->release_fetch = [](void*, keel_fetch_result* result) {
    if (result == nullptr) return;
    delete static_cast<FetchPin*>(result->pin);
    result->pin = nullptr;
  };
  api->watermarks = [](void* ctx, const char* topic, int32_t partition, keel_watermarks* out) {
    return guard(nullptr, [&] { fill_watermarks(*B(ctx).partition(topic, partition), out); });
  };
  api->offset_for_time = [](void* ctx, const char* topic, int32_t partition, int64_t ts, int64_t* offset,
                            int64_t* found_ts) {
    return guard(nullptr, [&] {
      auto [o, t] = B(ctx).partition(topic, partition)->find_time(ts);
      *offset = o;
      if (found_ts) *found_ts = t;
    });
  };
  api->watch = [](void* ctx, const char* topic, int32_t partition, int64_t offset, keel_watch_callback cb,
                  void* user, keel_watch** out) {
    return guard(nullptr, [&] {
      auto log = B(ctx).partition(topic, partition);
      auto* w = new keel_watch{log, nullptr};
      w->watch = log->watch(offset, [cb, user] { cb(user); });
      *out = w;
    });
  };
  api->unwatch = [](void*, keel_watch* w) {
    if (w == nullptr) return;
    w->log->unwatch(w->watch);
    delete w;
  };

  api->commit_offset = [](void* ctx, const char* group, const char* topic, int32_t partition, int64_t offset,
                          const char* metadata, keel_error* err) {
    return guard(err, [&] {
      B(ctx).group_offsets().commit(group, topic, partition, offset, metadata ? metadata : "",
                                    B(ctx).clock().now_ms());
    });
  };
  api->commit_offsets = [](void* ctx, const char* group, const keel_offset_commit* offsets, size_t count,
                           keel_error* err) {
    return guard(err, [&] {
      std::vector<OffsetCommit> commits;
      commits.reserve(count);
      for (size_t i = 0; i < count; ++i) {
        const auto& o = offsets[i];
        commits.push_back(OffsetCommit{o.topic, o.partition, o.offset, o.metadata ? o.metadata : ""});
      }
      B(ctx).group_offsets().commit(group, commits, B(ctx).clock().now_ms());
    });
  };
  api->store_group_metadata = [](void* ctx, const char* group, const char* metadata, keel_error* err) {
    return guard(err, [&] {
      B(ctx).group_offsets().set_group_metadata(group, metadata ? metadata : "", B(ctx).clock().now_ms());
    });
  };
  api->group_metadata = [](void* ctx, const char* group, keel_string_callback cb, void* user) {
    return guard(nullptr, [&] {
      auto m = B(ctx).group_offsets().group_metadata(group);
      if (!m) fail(KEEL_ERR_NOT_FOUND, std::string("group '") + group + "' has no stored metadata");
      cb(user, m->c_str());
    });
  };
  api->fetch_offset = [](void* ctx, const char* group, const char* topic, int32_t partition, int64_t* offset,
                         keel_string_callback metadata_cb, void* user) {
    return guard(nullptr, [&] {
      auto c = B(ctx).group_offsets().fetch(group, topic, partition);
      *offset = c ? c->offset : -1;
      if (c && metadata_cb) metadata_cb(user, c->metadata.c_str());
    });
  };
  api->list_groups = [](void* ctx, keel_string_callback cb, void* user) {
    return guard(nullptr, [&] {
      for (const auto& g : B(ctx).group_offsets().groups()) cb(user, g.c_str());
    });
  };

  api->counter_add = [](void* ctx, const char* name, const char* labels, double delta) {
    B(ctx).metrics().counter_add(name ? name : "", labels ? labels : "", delta);
  };
  api->gauge_set = [](void* ctx, const char* name, const char* labels, double value) {
    B(ctx).metrics().gauge_set(name ? name : "", labels ? labels : "", value);
  };
  api->histogram_observe = [](void* ctx, const char* name, const char* labels, double value) {
    B(ctx).metrics().histogram_observe(name ? name : "", labels ? labels : "", value);
  };
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
      const TopicConfig& c = t->config();
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
      out->struct_size = sizeof *out;
      out->segment_count = static_cast<int64_t>(infos.size());
      out->size_bytes = 0;
      out->newest_timestamp = -1;
      for (const auto& i : infos) {
        out->size_bytes += i.size_bytes;
        out->newest_timestamp = std::max(out->newest_timestamp, i.max_timestamp);
      }
      out->oldest_timestamp = infos.empty() ? -1 : infos.front().max_timestamp;
      out->index_entries = log->index_entries();
      out->flushed_offset = log->flushed_offset();
    });
  };
  api->group_offsets = [](void* ctx, const char* group, keel_group_offset_callback cb, void* user) {
    return guard(nullptr, [&] {
      auto offsets = B(ctx).group_offsets().group_offsets(group);
      if (offsets.empty())
        fail(KEEL_ERR_NOT_FOUND, std::string("group '") + group + "' has no committed offsets");
      for (const auto& [tp, c] : offsets) cb(user, tp.first.c_str(), tp.second, c.offset, c.metadata.c_str());
    });
  };
}

}  // namespace keel
