// C++ wrapper of the coordinator kind (ABI 2.3, keel/plugin.h "strategy:
// coordinator"). Derive from keel::sdk::Coordinator and export it with
//
//   KEEL_PLUGIN("acme", "1.0.0", keel::sdk::coordinator_strategy<AcmeCoordinator>("acme"));
//
// T must be constructible from (const Host&, const Config&). As in
// plugin.hpp, plugin code throws keel::sdk::Error; the adapters catch every
// exception at the C boundary.
//
// What the adapters do so that no coordinator has to:
//  - read compares and ops by the caller's element size (rule 2) into owned
//    values, refusing malformed ones (NULL key, unknown target or type, a
//    NULL value with a length, an element smaller than 2.3's struct) with
//    KEEL_ERR_INVALID_ARGUMENT before the plugin sees them;
//  - call range's callback after the plugin's range returned, on the calling
//    thread, so that the plugin holds none of its locks then;
//  - accept NULL for every out-pointer but watch_id.
// Watch events are delivered by the plugin itself, on its own threads, with
// coord_kv_view() to lend the key-value to the callback.
#pragma once

#include <keel/plugin.hpp>

#if KEEL_TARGET_ABI_MINOR >= 3

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace keel::sdk {

// A key with its value and revisions (0 = none), relative to the
// coordinator's namespace.
struct CoordKeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
};

struct CoordRange {
  int64_t revision = 0;  // the store revision the read saw
  std::vector<CoordKeyValue> kvs;
};

struct CoordCompare {
  std::string key;
  int32_t target = KEEL_COORD_CMP_MOD_REVISION;  // KEEL_COORD_CMP_*
  int64_t revision = 0;                          // 0: the key is absent
};

struct CoordOp {
  int32_t type = KEEL_COORD_OP_PUT;  // KEEL_COORD_OP_*
  std::string key;
  std::string value;           // PUT
  bool session_bound = false;  // PUT
};

struct CoordTxnResult {
  bool succeeded = false;
  int64_t revision = 0;  // the store revision after it
};

struct CoordSession {
  int64_t id = 0;
  int64_t ttl_ms = 0;
};

// The C view of `kv`, valid while `kv` lives. A deletion has no value: NULL
// with length 0, as plugin.h says for DELETE events.
inline keel_coord_kv coord_kv_view(const CoordKeyValue& kv, bool deleted = false) {
  keel_coord_kv v{};
  v.struct_size = sizeof(keel_coord_kv);
  v.key = kv.key.c_str();
  v.value = deleted ? nullptr : reinterpret_cast<const uint8_t*>(kv.value.data());
  v.value_len = deleted ? 0 : kv.value.size();
  v.create_revision = kv.create_revision;
  v.mod_revision = kv.mod_revision;
  return v;
}

// Threads as plugin.h says: create and destroy (the destructor) on the
// broker's main thread, everything else on its cluster thread, except
// unwatch, which a watch callback may also call for its own watch on the
// coordinator's thread.
class Coordinator {
 public:
  virtual ~Coordinator() = default;
  virtual CoordSession open_session() = 0;
  virtual CoordRange range(const std::string& key, bool prefix) = 0;
  virtual CoordTxnResult txn(const std::vector<CoordCompare>& compares, const std::vector<CoordOp>& ops) = 0;
  virtual uint64_t watch(const std::string& prefix, int64_t from_revision, keel_coord_event_callback cb,
                         void* user) = 0;
  // Has no error channel: an exception is swallowed by the adapter.
  virtual void unwatch(uint64_t watch_id) = 0;
};

namespace detail {

// Element i of an array of `size`-byte elements of a struct that 2.3
// introduced whole: every caller's element is at least 2.3's size, so only
// a larger one (a newer broker) is possible, and its extra bytes are skipped.
template <class T>
T coord_element(const T* base, uint32_t size, uint32_t i) {
  T out{};
  std::memcpy(&out, KEEL_ELEMENT(T, base, size, i), sizeof out);
  return out;
}

inline void check_array(const void* base, uint32_t count, uint32_t size, size_t own_size, const char* what) {
  if (count == 0) return;
  if (base == nullptr) {
    throw Error(KEEL_ERR_INVALID_ARGUMENT,
                std::string("txn: ") + what + " is NULL with a count of " + std::to_string(count));
  }
  if (size < own_size) {
    throw Error(KEEL_ERR_INVALID_ARGUMENT, std::string("txn: ") + what + " elements of " +
                                               std::to_string(size) + " bytes, smaller than ABI 2.3's " +
                                               std::to_string(own_size));
  }
}

inline std::vector<CoordCompare> read_compares(const keel_coord_compare* base, uint32_t count,
                                               uint32_t size) {
  check_array(base, count, size, sizeof(keel_coord_compare), "compares");
  std::vector<CoordCompare> out;
  out.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    const keel_coord_compare c = coord_element(base, size, i);
    const std::string where = "txn: compare " + std::to_string(i);
    if (c.key == nullptr) throw Error(KEEL_ERR_INVALID_ARGUMENT, where + " has a NULL key");
    if (c.target != KEEL_COORD_CMP_MOD_REVISION && c.target != KEEL_COORD_CMP_CREATE_REVISION) {
      throw Error(KEEL_ERR_INVALID_ARGUMENT, where + " on '" + c.key + "' has unknown target " +
                                                 std::to_string(c.target) + " (expected KEEL_COORD_CMP_*)");
    }
    if (c.revision < 0) {
      throw Error(KEEL_ERR_INVALID_ARGUMENT, where + " on '" + c.key + "' has a negative revision");
    }
    out.push_back(CoordCompare{c.key, c.target, c.revision});
  }
  return out;
}

inline std::vector<CoordOp> read_ops(const keel_coord_op* base, uint32_t count, uint32_t size) {
  check_array(base, count, size, sizeof(keel_coord_op), "ops");
  std::vector<CoordOp> out;
  out.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    const keel_coord_op o = coord_element(base, size, i);
    const std::string where = "txn: op " + std::to_string(i);
    if (o.key == nullptr) throw Error(KEEL_ERR_INVALID_ARGUMENT, where + " has a NULL key");
    if (o.type != KEEL_COORD_OP_PUT && o.type != KEEL_COORD_OP_DELETE) {
      throw Error(KEEL_ERR_INVALID_ARGUMENT, where + " on '" + o.key + "' has unknown type " +
                                                 std::to_string(o.type) + " (expected KEEL_COORD_OP_*)");
    }
    CoordOp op;
    op.type = o.type;
    op.key = o.key;
    if (o.type == KEEL_COORD_OP_PUT) {
      if (o.value == nullptr && o.value_len > 0) {
        throw Error(KEEL_ERR_INVALID_ARGUMENT,
                    where + " on '" + o.key + "' has a NULL value of length " + std::to_string(o.value_len));
      }
      if (o.value_len > 0) op.value.assign(reinterpret_cast<const char*>(o.value), o.value_len);
      op.session_bound = o.session_bound != 0;
    }
    out.push_back(std::move(op));
  }
  return out;
}

}  // namespace detail

template <class T>
const keel_coordinator_vtable* coordinator_vtable() {
  static const keel_coordinator_vtable vt = [] {
    keel_coordinator_vtable v{};
    v.struct_size = sizeof(keel_coordinator_vtable);
    v.create = [](const keel_host* host, const keel_config* cfg, keel_coordinator** out,
                  keel_error* err) noexcept {
      return detail::guarded(err, [&] {
        *out = reinterpret_cast<keel_coordinator*>(
            static_cast<Coordinator*>(new T(Host(host), Config(host, cfg))));
      });
    };
    v.open_session = [](keel_coordinator* c, int64_t* session_id, int64_t* ttl_ms, keel_error* err) noexcept {
      return detail::guarded(err, [&] {
        const CoordSession s = reinterpret_cast<Coordinator*>(c)->open_session();
        if (session_id != nullptr) *session_id = s.id;
        if (ttl_ms != nullptr) *ttl_ms = s.ttl_ms;
      });
    };
    v.range = [](keel_coordinator* c, const char* key, int32_t prefix, keel_coord_kv_callback cb, void* user,
                 int64_t* revision, keel_error* err) noexcept {
      return detail::guarded(err, [&] {
        if (key == nullptr) throw Error(KEEL_ERR_INVALID_ARGUMENT, "range: key is NULL");
        const CoordRange r = reinterpret_cast<Coordinator*>(c)->range(key, prefix != 0);
        if (revision != nullptr) *revision = r.revision;
        if (cb == nullptr) return;
        for (const CoordKeyValue& kv : r.kvs) {
          const keel_coord_kv view = coord_kv_view(kv);
          cb(user, &view);
        }
      });
    };
    v.txn = [](keel_coordinator* c, const keel_coord_compare* compares, uint32_t compare_count,
               uint32_t compare_size, const keel_coord_op* ops, uint32_t op_count, uint32_t op_size,
               int32_t* succeeded, int64_t* revision, keel_error* err) noexcept {
      return detail::guarded(err, [&] {
        const CoordTxnResult r = reinterpret_cast<Coordinator*>(c)->txn(
            detail::read_compares(compares, compare_count, compare_size),
            detail::read_ops(ops, op_count, op_size));
        if (succeeded != nullptr) *succeeded = r.succeeded ? 1 : 0;
        if (revision != nullptr) *revision = r.revision;
      });
    };
    v.watch = [](keel_coordinator* c, const char* prefix, int64_t from_revision, keel_coord_event_callback cb,
                 void* user, uint64_t* watch_id, keel_error* err) noexcept {
      return detail::guarded(err, [&] {
        if (prefix == nullptr || cb == nullptr || watch_id == nullptr) {
          throw Error(KEEL_ERR_INVALID_ARGUMENT, "watch: prefix, callback and watch_id must not be NULL");
        }
        *watch_id = reinterpret_cast<Coordinator*>(c)->watch(prefix, from_revision, cb, user);
      });
    };
    v.unwatch = [](keel_coordinator* c, uint64_t watch_id) noexcept {
      try {
        reinterpret_cast<Coordinator*>(c)->unwatch(watch_id);
      } catch (...) {
        // No error channel; a coordinator that fails here has already
        // stopped delivering or logs why itself.
      }
    };
    v.destroy = [](keel_coordinator* c) noexcept { delete reinterpret_cast<Coordinator*>(c); };
    return v;
  }();
  return &vt;
}

template <class T>
keel_strategy coordinator_strategy(const char* name) {
  return {sizeof(keel_strategy), KEEL_KIND_COORDINATOR, name, coordinator_vtable<T>()};
}

}  // namespace keel::sdk

#endif  // KEEL_TARGET_ABI_MINOR >= 3
