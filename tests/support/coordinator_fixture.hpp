// Test helpers for coordinator plugins: one instance driven through its C
// ABI as the broker drives it (loaded from the built .so by its descriptor),
// and a log of what a watch delivers, to wait on with a deadline.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <keel/coordinator.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/plugin_fixture.hpp"

namespace keel::test {

using CoordKv = keel::sdk::CoordKeyValue;

// What one watch delivered, on the coordinator's thread(s).
class CoordEventLog {
 public:
  struct Event {
    int32_t type = 0;
    bool has_kv = false;
    bool null_value = false;  // value == NULL
    CoordKv kv;
    int64_t revision = 0;
    std::thread::id thread;
  };

  // The C callback; user is the log.
  static void callback(void* user, int32_t type, const keel_coord_kv* kv, int64_t revision) {
    static_cast<CoordEventLog*>(user)->on(type, kv, revision);
  }

  // Runs on the coordinator's thread after the event is recorded (e.g. to
  // unwatch from inside the callback).
  std::function<void(const Event&)> hook;

  bool wait_for(const std::function<bool(const std::vector<Event>&)>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(events_); });
  }
  bool wait_count(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return wait_for([n](const auto& es) { return es.size() >= n; }, timeout);
  }
  bool wait_type(int32_t type, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return wait_for(
        [type](const auto& es) {
          for (const auto& e : es)
            if (e.type == type) return true;
          return false;
        },
        timeout);
  }
  // Events of one key, e.g. to wait until a marker key arrived.
  bool wait_key(const std::string& key, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return wait_for(
        [&key](const auto& es) {
          for (const auto& e : es)
            if (e.has_kv && e.kv.key == key) return true;
          return false;
        },
        timeout);
  }
  std::vector<Event> events() {
    std::lock_guard lock(mu_);
    return events_;
  }
  size_t size() {
    std::lock_guard lock(mu_);
    return events_.size();
  }
  // Whether two callbacks of this watch ever ran at once.
  bool overlapped() const { return overlapped_.load(); }

 private:
  void on(int32_t type, const keel_coord_kv* kv, int64_t revision) {
    if (in_callback_.fetch_add(1) != 0) overlapped_.store(true);
    Event e;
    e.type = type;
    e.revision = revision;
    e.thread = std::this_thread::get_id();
    if (kv != nullptr) {
      e.has_kv = true;
      e.null_value = kv->value == nullptr;
      e.kv.key = kv->key;
      if (kv->value != nullptr) e.kv.value.assign(reinterpret_cast<const char*>(kv->value), kv->value_len);
      e.kv.create_revision = kv->create_revision;
      e.kv.mod_revision = kv->mod_revision;
    }
    {
      std::lock_guard lock(mu_);
      events_.push_back(e);
    }
    if (hook) hook(e);
    in_callback_.fetch_sub(1);
    cv_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Event> events_;
  std::atomic<int> in_callback_{0};
  std::atomic<bool> overlapped_{false};
};

inline keel::sdk::CoordOp put_op(std::string key, std::string value, bool session_bound = false) {
  return {KEEL_COORD_OP_PUT, std::move(key), std::move(value), session_bound};
}
inline keel::sdk::CoordOp delete_op(std::string key) {
  return {KEEL_COORD_OP_DELETE, std::move(key), {}, false};
}
inline keel::sdk::CoordCompare mod_is(std::string key, int64_t revision) {
  return {std::move(key), KEEL_COORD_CMP_MOD_REVISION, revision};
}
inline keel::sdk::CoordCompare created_at(std::string key, int64_t revision) {
  return {std::move(key), KEEL_COORD_CMP_CREATE_REVISION, revision};
}

// One coordinator instance created through the plugin's vtable.
class CoordinatorUnderTest {
 public:
  struct Result {
    keel_status status = KEEL_ERR_INTERNAL;
    std::string message;
  };
  struct Session : Result {
    int64_t id = 0;
    int64_t ttl_ms = 0;
  };
  struct Range : Result {
    int64_t revision = 0;
    std::vector<CoordKv> kvs;
  };
  struct Txn : Result {
    bool succeeded = false;
    int64_t revision = 0;
  };

  CoordinatorUnderTest(const std::string& name, const std::string& toml)
      : plugin_("coordinator", name), config_(toml, "coordinator " + name) {
    vt_ = plugin_.vtable<keel_coordinator_vtable>();
    keel_error err{};
    created_.status = vt_->create(host_.get(), config_.get(), &instance_, &err);
    created_.message = err.message;
  }
  ~CoordinatorUnderTest() { destroy(); }
  CoordinatorUnderTest(const CoordinatorUnderTest&) = delete;
  CoordinatorUnderTest& operator=(const CoordinatorUnderTest&) = delete;

  const Result& created() const { return created_; }
  std::vector<std::string> config_problems() const { return config_.problems(); }
  const keel_plugin_descriptor* descriptor() const { return plugin_.descriptor(); }

  void destroy() {
    if (instance_ != nullptr) vt_->destroy(std::exchange(instance_, nullptr));
  }

  Session open_session() {
    Session s;
    keel_error err{};
    s.status = vt_->open_session(instance_, &s.id, &s.ttl_ms, &err);
    s.message = err.message;
    return s;
  }

  Range range(const std::string& key, bool prefix) {
    Range r;
    keel_error err{};
    r.status = vt_->range(
        instance_, key.c_str(), prefix ? 1 : 0,
        [](void* user, const keel_coord_kv* kv) {
          CoordKv out{kv->key, {}, kv->create_revision, kv->mod_revision};
          if (kv->value != nullptr) out.value.assign(reinterpret_cast<const char*>(kv->value), kv->value_len);
          static_cast<Range*>(user)->kvs.push_back(std::move(out));
        },
        &r, &r.revision, &err);
    r.message = err.message;
    return r;
  }

  Txn txn(const std::vector<keel::sdk::CoordCompare>& compares, const std::vector<keel::sdk::CoordOp>& ops) {
    std::vector<keel_coord_compare> cs;
    for (const auto& c : compares) {
      keel_coord_compare x{};
      x.struct_size = sizeof x;
      x.target = c.target;
      x.key = c.key.c_str();
      x.revision = c.revision;
      cs.push_back(x);
    }
    std::vector<keel_coord_op> os;
    for (const auto& o : ops) {
      keel_coord_op x{};
      x.struct_size = sizeof x;
      x.type = o.type;
      x.key = o.key.c_str();
      x.value = reinterpret_cast<const uint8_t*>(o.value.data());
      x.value_len = o.value.size();
      x.session_bound = o.session_bound ? 1 : 0;
      os.push_back(x);
    }
    Txn t;
    int32_t succeeded = -1;
    keel_error err{};
    t.status = vt_->txn(instance_, cs.data(), static_cast<uint32_t>(cs.size()), sizeof(keel_coord_compare),
                        os.data(), static_cast<uint32_t>(os.size()), sizeof(keel_coord_op), &succeeded,
                        &t.revision, &err);
    t.succeeded = succeeded == 1;
    t.message = err.message;
    return t;
  }

  // A txn that must succeed; its revision.
  int64_t put(const std::string& key, const std::string& value, bool session_bound = false) {
    return must(txn({}, {put_op(key, value, session_bound)}), "put " + key);
  }
  int64_t del(const std::string& key) { return must(txn({}, {delete_op(key)}), "delete " + key); }

  uint64_t watch(const std::string& prefix, int64_t from_revision, CoordEventLog& log) {
    uint64_t id = 0;
    keel_error err{};
    const keel_status s =
        vt_->watch(instance_, prefix.c_str(), from_revision, &CoordEventLog::callback, &log, &id, &err);
    if (s != KEEL_OK) throw std::runtime_error(std::string("watch failed: ") + err.message);
    return id;
  }
  void unwatch(uint64_t id) { vt_->unwatch(instance_, id); }

 private:
  static int64_t must(const Txn& t, const std::string& what) {
    if (t.status != KEEL_OK || !t.succeeded) {
      throw std::runtime_error(what + " failed (status " + std::to_string(t.status) + "): " + t.message);
    }
    return t.revision;
  }

  LoadedPlugin plugin_;
  TestHost host_;
  TestConfig config_;
  const keel_coordinator_vtable* vt_ = nullptr;
  keel_coordinator* instance_ = nullptr;
  Result created_;
};

}  // namespace keel::test
