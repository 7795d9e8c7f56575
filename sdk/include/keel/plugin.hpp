// Header-only C++ wrappers over keel/plugin.h.
//
// A plugin author writes ordinary classes deriving from keel::sdk::Index,
// Retention, Partitioner or Transport and exports them with one macro:
//
//   KEEL_PLUGIN("acme", "1.0.0",
//               keel::sdk::partitioner_strategy<AcmePartitioner>("acme-hash"));
//
// Inside a plugin, errors are C++ exceptions (throw keel::sdk::Error); the
// adapters below catch every exception at the C boundary and turn it into a
// keel_status plus message, so nothing ever unwinds into the broker.
#pragma once

#include <keel/plugin.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace keel::sdk {

// An error with a status code, thrown inside plugin code.
class Error : public std::runtime_error {
 public:
  Error(keel_status code, const std::string& message) : std::runtime_error(message), code_(code) {}
  keel_status code() const noexcept { return code_; }

 private:
  keel_status code_;
};

namespace detail {

inline void write_error(keel_error* err, const char* message) {
  if (err == nullptr) return;
  std::snprintf(err->message, sizeof(err->message), "%s", message);
}

// Runs `fn`, translating any exception into a status and message.
template <class Fn>
keel_status guarded(keel_error* err, Fn&& fn) noexcept {
  try {
    fn();
    return KEEL_OK;
  } catch (const Error& e) {
    write_error(err, e.what());
    return e.code();
  } catch (const std::exception& e) {
    write_error(err, e.what());
    return KEEL_ERR_INTERNAL;
  } catch (...) {
    write_error(err, "unknown exception in plugin");
    return KEEL_ERR_INTERNAL;
  }
}

}  // namespace detail

// The services the broker offers every plugin instance.
class Host {
 public:
  explicit Host(const keel_host* host) : host_(host) {}

  void log(keel_log_level level, const std::string& message) const {
    host_->log(host_->ctx, level, message.c_str());
  }
  void debug(const std::string& m) const { log(KEEL_LOG_DEBUG, m); }
  void info(const std::string& m) const { log(KEEL_LOG_INFO, m); }
  void warn(const std::string& m) const { log(KEEL_LOG_WARN, m); }
  void error(const std::string& m) const { log(KEEL_LOG_ERROR, m); }

  int64_t now_ms() const { return host_->now_ms(host_->ctx); }
  int64_t monotonic_ns() const { return host_->monotonic_ns(host_->ctx); }

  const keel_host* raw() const { return host_; }

 private:
  const keel_host* host_;
};

// The plugin's own TOML section. Absent keys yield the default; a key of the
// wrong type is reported by the host (with file and line) and fails start-up.
class Config {
 public:
  Config(const keel_host* host, const keel_config* config) : host_(host), config_(config) {}

  int64_t get_int(const char* key, int64_t fallback) const {
    int64_t v = 0;
    return fetch(host_->config_get_int(host_->ctx, config_, key, &v), key) ? v : fallback;
  }
  double get_double(const char* key, double fallback) const {
    double v = 0;
    return fetch(host_->config_get_double(host_->ctx, config_, key, &v), key) ? v : fallback;
  }
  bool get_bool(const char* key, bool fallback) const {
    int32_t v = 0;
    return fetch(host_->config_get_bool(host_->ctx, config_, key, &v), key) ? v != 0 : fallback;
  }
  std::string get_string(const char* key, const std::string& fallback) const {
    const char* v = nullptr;
    return fetch(host_->config_get_string(host_->ctx, config_, key, &v), key) ? std::string(v) : fallback;
  }

 private:
  static bool fetch(keel_status s, const char* key) {
    if (s == KEEL_OK) return true;
    if (s == KEEL_ERR_NOT_FOUND) return false;
    throw Error(s, std::string("config key '") + key + "' has the wrong type");
  }
  const keel_host* host_;
  const keel_config* config_;
};

// ---------------------------------------------------------------- index

class Index {
 public:
  virtual ~Index() = default;
  virtual int64_t recovery_position() = 0;
  virtual void on_append(const keel_batch_info& batch) = 0;
  // Only called when the strategy declares the matching capability.
  virtual keel_index_entry lookup_offset(int64_t offset) {
    (void)offset;
    throw Error(KEEL_ERR_UNSUPPORTED, "index cannot look up offsets");
  }
  virtual keel_index_entry lookup_time(int64_t timestamp) {
    (void)timestamp;
    throw Error(KEEL_ERR_UNSUPPORTED, "index cannot look up timestamps");
  }
  virtual void truncate(int64_t log_size) = 0;
  virtual void flush() = 0;
  virtual void seal() = 0;
  virtual int64_t entry_count() = 0;
  // Called before destruction when the segment is deleted.
  virtual void remove_files() = 0;
};

// T must be constructible from (const Host&, const keel_index_open_args&).
template <class T>
const keel_index_vtable* index_vtable(uint32_t capabilities) {
  static keel_index_vtable vt = [] {
    keel_index_vtable v{};
    v.struct_size = sizeof(keel_index_vtable);
    v.open = [](const keel_host* host, const keel_index_open_args* args, keel_index** out,
                keel_error* err) noexcept {
      return detail::guarded(
          err, [&] { *out = reinterpret_cast<keel_index*>(static_cast<Index*>(new T(Host(host), *args))); });
    };
    v.recovery_position = [](keel_index* i) noexcept -> int64_t {
      try {
        return reinterpret_cast<Index*>(i)->recovery_position();
      } catch (...) {
        return 0;  // unknown: ask for a full rebuild
      }
    };
    v.on_append = [](keel_index* i, const keel_batch_info* b, keel_error* err) noexcept {
      return detail::guarded(err, [&] { reinterpret_cast<Index*>(i)->on_append(*b); });
    };
    // The entry is an out-struct the broker allocated (rule 2): copy at most
    // what its struct_size says, keeping its struct_size.
    v.lookup_offset = [](keel_index* i, int64_t offset, keel_index_entry* out, keel_error* err) noexcept {
      return detail::guarded(err, [&] {
        keel_index_entry e = reinterpret_cast<Index*>(i)->lookup_offset(offset);
        e.struct_size = sizeof(e);
        keel_copy_out(out, &e, sizeof(e));
      });
    };
    v.lookup_time = [](keel_index* i, int64_t ts, keel_index_entry* out, keel_error* err) noexcept {
      return detail::guarded(err, [&] {
        keel_index_entry e = reinterpret_cast<Index*>(i)->lookup_time(ts);
        e.struct_size = sizeof(e);
        keel_copy_out(out, &e, sizeof(e));
      });
    };
    v.truncate = [](keel_index* i, int64_t log_size, keel_error* err) noexcept {
      return detail::guarded(err, [&] { reinterpret_cast<Index*>(i)->truncate(log_size); });
    };
    v.flush = [](keel_index* i, keel_error* err) noexcept {
      return detail::guarded(err, [&] { reinterpret_cast<Index*>(i)->flush(); });
    };
    v.seal = [](keel_index* i, keel_error* err) noexcept {
      return detail::guarded(err, [&] { reinterpret_cast<Index*>(i)->seal(); });
    };
    v.entry_count = [](keel_index* i) noexcept -> int64_t {
      try {
        return reinterpret_cast<Index*>(i)->entry_count();
      } catch (...) {
        return -1;
      }
    };
    v.close = [](keel_index* i, int32_t remove) noexcept {
      auto* self = reinterpret_cast<Index*>(i);
      try {
        if (remove) self->remove_files();
      } catch (...) {
        // The segment is going away either way; a leftover file is harmless
        // and is removed with the partition directory.
      }
      delete self;
    };
    return v;
  }();
  vt.capabilities = capabilities;
  return &vt;
}

// ------------------------------------------------------------ retention

// An array of keel_segment_info as the broker passes it: `count` elements of
// `element_size` bytes each (rule 2). Element i is read by that size, never by
// this SDK's sizeof, and fields the broker's older struct lacks read as 0.
class Segments {
 public:
  Segments(const keel_segment_info* base, size_t count, size_t element_size)
      : base_(base), count_(count), element_size_(element_size) {}

  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  keel_segment_info operator[](size_t i) const {
    keel_segment_info info{};
    const size_t n = element_size_ < sizeof(info) ? element_size_ : sizeof(info);
    std::memcpy(&info, KEEL_ELEMENT(keel_segment_info, base_, element_size_, i), n);
    return info;
  }

 private:
  const keel_segment_info* base_;
  size_t count_;
  size_t element_size_;
};

class Retention {
 public:
  virtual ~Retention() = default;
  // Segments oldest first, the active one last; return how many of the
  // oldest may be deleted (the broker never deletes the active one).
  virtual size_t select(const Segments& segments, int64_t now_ms) = 0;
  // Called only for classes that declare
  // `static constexpr bool kRewrites = true;`: rewrite closed segments of one
  // partition through `log` (valid during the call only).
  virtual void rewrite(const keel_log_rewriter& log, int64_t now_ms) {
    (void)log;
    (void)now_ms;
  }
  // Whether the topic must refuse records with a null key (kRewrites only).
  virtual bool requires_keys() { return false; }
};

namespace detail {

template <class T>
constexpr bool rewrites() {
  if constexpr (requires { T::kRewrites; }) {
    return T::kRewrites;
  } else {
    return false;
  }
}

}  // namespace detail

// T must be constructible from (const Host&, const Config&).
template <class T>
const keel_retention_vtable* retention_vtable() {
  static const keel_retention_vtable vt = [] {
    keel_retention_vtable v{};
    v.struct_size = sizeof(keel_retention_vtable);
    v.create = [](const keel_host* host, const keel_config* cfg, keel_retention** out,
                  keel_error* err) noexcept {
      return detail::guarded(err, [&] {
        *out =
            reinterpret_cast<keel_retention*>(static_cast<Retention*>(new T(Host(host), Config(host, cfg))));
      });
    };
    v.select = [](keel_retention* r, const keel_segment_info* segs, size_t n, size_t segment_size,
                  int64_t now, size_t* count, keel_error* err) noexcept {
      return detail::guarded(err, [&] {
        *count = reinterpret_cast<Retention*>(r)->select(Segments(segs, n, segment_size), now);
      });
    };
    v.destroy = [](keel_retention* r) noexcept { delete reinterpret_cast<Retention*>(r); };
    if constexpr (detail::rewrites<T>()) {
      v.rewrite = [](keel_retention* r, const keel_log_rewriter* log, int64_t now, keel_error* err) noexcept {
        return detail::guarded(err, [&] { reinterpret_cast<Retention*>(r)->rewrite(*log, now); });
      };
      v.requires_keys = [](keel_retention* r) noexcept -> int32_t {
        try {
          return reinterpret_cast<Retention*>(r)->requires_keys() ? 1 : 0;
        } catch (...) {
          return 0;
        }
      };
    }
    return v;
  }();
  return &vt;
}

// ---------------------------------------------------------- partitioner

class Partitioner {
 public:
  virtual ~Partitioner() = default;
  // key is nullopt for a null key.
  virtual int32_t partition(std::optional<std::string_view> key, int32_t partition_count) = 0;
};

template <class T>
const keel_partitioner_vtable* partitioner_vtable() {
  static const keel_partitioner_vtable vt = [] {
    keel_partitioner_vtable v{};
    v.struct_size = sizeof(keel_partitioner_vtable);
    v.create = [](const keel_host* host, const keel_config* cfg, keel_partitioner** out,
                  keel_error* err) noexcept {
      return detail::guarded(err, [&] {
        *out = reinterpret_cast<keel_partitioner*>(
            static_cast<Partitioner*>(new T(Host(host), Config(host, cfg))));
      });
    };
    v.partition = [](keel_partitioner* p, const uint8_t* key, size_t len, int32_t count, int32_t* out,
                     keel_error* err) noexcept {
      if (count <= 0) {
        detail::write_error(err, "partition count must be positive");
        return static_cast<keel_status>(KEEL_ERR_INVALID_ARGUMENT);
      }
      return detail::guarded(err, [&] {
        std::optional<std::string_view> k;
        if (key != nullptr) k = std::string_view(reinterpret_cast<const char*>(key), len);
        *out = reinterpret_cast<Partitioner*>(p)->partition(k, count);
      });
    };
    v.destroy = [](keel_partitioner* p) noexcept { delete reinterpret_cast<Partitioner*>(p); };
    return v;
  }();
  return &vt;
}

// ------------------------------------------------------------ transport

class Transport {
 public:
  virtual ~Transport() = default;
  virtual void start() = 0;
  virtual void stop() = 0;
};

// T must be constructible from (const Host&, const Config&, const keel_broker_api*).
template <class T>
const keel_transport_vtable* transport_vtable() {
  static const keel_transport_vtable vt = [] {
    keel_transport_vtable v{};
    v.struct_size = sizeof(keel_transport_vtable);
    v.create = [](const keel_host* host, const keel_config* cfg, const keel_broker_api* broker,
                  keel_transport** out, keel_error* err) noexcept {
      return detail::guarded(err, [&] {
        *out = reinterpret_cast<keel_transport*>(
            static_cast<Transport*>(new T(Host(host), Config(host, cfg), broker)));
      });
    };
    v.start = [](keel_transport* t, keel_error* err) noexcept {
      return detail::guarded(err, [&] { reinterpret_cast<Transport*>(t)->start(); });
    };
    v.stop = [](keel_transport* t) noexcept {
      try {
        reinterpret_cast<Transport*>(t)->stop();
      } catch (...) {
      }
    };
    v.destroy = [](keel_transport* t) noexcept { delete reinterpret_cast<Transport*>(t); };
    return v;
  }();
  return &vt;
}

// ------------------------------------------------------- strategy entries

template <class T>
keel_strategy index_strategy(const char* name, uint32_t capabilities) {
  return {sizeof(keel_strategy), KEEL_KIND_INDEX, name, index_vtable<T>(capabilities)};
}
template <class T>
keel_strategy retention_strategy(const char* name) {
  return {sizeof(keel_strategy), KEEL_KIND_RETENTION, name, retention_vtable<T>()};
}
template <class T>
keel_strategy partitioner_strategy(const char* name) {
  return {sizeof(keel_strategy), KEEL_KIND_PARTITIONER, name, partitioner_vtable<T>()};
}
template <class T>
keel_strategy transport_strategy(const char* name) {
  return {sizeof(keel_strategy), KEEL_KIND_TRANSPORT, name, transport_vtable<T>()};
}

}  // namespace keel::sdk

// Exports the plugin's entry symbol. Use once per shared library. The
// descriptor names KEEL_TARGET_ABI_MINOR (this SDK's minor unless the build
// defines an older one), so the plugin loads in every broker of that minor
// or newer.
#define KEEL_PLUGIN(PLUGIN_NAME, PLUGIN_VERSION, ...)                                                       \
  extern "C" __attribute__((visibility("default"))) const keel_plugin_descriptor* keel_plugin_entry(void) { \
    static const keel_strategy strategies[] = {__VA_ARGS__};                                                \
    static const keel_plugin_descriptor descriptor = {sizeof(keel_plugin_descriptor),                       \
                                                      KEEL_ABI_MAJOR,                                       \
                                                      KEEL_TARGET_ABI_MINOR,                                \
                                                      PLUGIN_NAME,                                          \
                                                      PLUGIN_VERSION,                                       \
                                                      sizeof(strategies) / sizeof(strategies[0]),           \
                                                      sizeof(keel_strategy),                                \
                                                      strategies};                                          \
    return &descriptor;                                                                                     \
  }
