// C++ wrapper of the authorizer kind (ABI 2.5, keel/plugin.h "strategy:
// authorizer"). Derive from keel::sdk::Authorizer and export it with
//
//   KEEL_PLUGIN("acme", "1.0.0", keel::sdk::authorizer_strategy<AcmeAuthorizer>("acme"));
//
// T must be constructible from (const Host&, const Config&, const char*
// state_dir): the directory the plugin keeps its rules in, or NULL when the
// broker only checks its configuration (then read and write nothing). As in
// plugin.hpp, plugin code throws keel::sdk::Error; the adapters catch every
// exception at the C boundary.
//
// What the adapters do so that no authorizer has to:
//  - authorize fails closed: every result is DENIED before the plugin runs,
//    stays DENIED for whatever the plugin does not allow, and is DENIED
//    again for all when the plugin throws; a subject without a principal,
//    or actions of an element size smaller than ABI 2.5's, get DENIED
//    without the plugin being asked; an action whose name is NULL with a
//    length is DENIED whatever the plugin says;
//  - authorize hands the plugin views of the caller's strings and reads the
//    actions in place by the caller's element size (rule 2), so that a
//    check allocates nothing;
//  - bindings and filters become owned values, NULL strings of a filter
//    meaning "any", and NULL strings of a binding refused with
//    KEEL_ERR_INVALID_ARGUMENT before the plugin sees them;
//  - the callbacks of describe_acls and delete_acls run after the plugin
//    returned, on the calling thread, so that the plugin holds none of its
//    locks then (a callback may call back into the authorizer).
#pragma once

#include <keel/plugin.hpp>

#if KEEL_TARGET_ABI_MINOR >= 5

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keel::sdk {

// Who asks, as views of the caller's strings (valid during the call).
// A NULL host or listener reads as "".
struct AuthzSubject {
  std::string_view principal;  // "User:alice"
  std::string_view host;       // the client's address
  std::string_view listener;   // for logs
};

// One thing the subject wants to do; the name is a view of the caller's
// bytes (valid during the call).
struct AuthzAction {
  int8_t resource_type = 0;  // KEEL_RESOURCE_* (not ANY)
  int8_t operation = 0;      // KEEL_ACL_OP_* (not ANY or ALL)
  std::string_view resource_name;
  // The name was NULL: may the subject do the operation on SOME resource of
  // the type (Kafka's authorizeByResourceType, KIP-679)?
  bool any_resource = false;
};

// The actions as the broker passes them: `count` elements of `element_size`
// bytes each (rule 2), read one at a time by that size. Fields a later
// minor adds read as 0 from an older broker's smaller element.
class AuthzActions {
 public:
  AuthzActions(const keel_authz_action* base, size_t count, size_t element_size)
      : base_(base), count_(count), element_size_(element_size) {}

  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  AuthzAction operator[](size_t i) const {
    const keel_authz_action a = raw(i);
    AuthzAction out;
    out.resource_type = a.resource_type;
    out.operation = a.operation;
    // A NULL name reads as empty; the adapter denies it when it claimed a
    // length (see well_formed).
    if (a.resource_name != nullptr)
      out.resource_name = std::string_view(a.resource_name, a.resource_name_len);
    else
      out.any_resource = a.resource_name_len == 0;
    return out;
  }
  // Whether element i can be answered at all: a NULL name with a length is
  // a caller's bug, denied whatever the plugin answers.
  bool well_formed(size_t i) const {
    const keel_authz_action a = raw(i);
    return a.resource_name != nullptr || a.resource_name_len == 0;
  }

 private:
  // A copy, not a cast: element_size need not keep the elements aligned.
  keel_authz_action raw(size_t i) const {
    keel_authz_action a{};
    const size_t n = element_size_ < sizeof(a) ? element_size_ : sizeof(a);
    std::memcpy(&a, KEEL_ELEMENT(keel_authz_action, base_, element_size_, i), n);
    return a;
  }

  const keel_authz_action* base_;
  size_t count_;
  size_t element_size_;
};

// The answers, one per action. Every one starts DENIED: an authorizer only
// says what it allows.
class AuthzResults {
 public:
  AuthzResults(int32_t* results, size_t count) : results_(results), count_(count) {}

  size_t size() const { return count_; }
  // Out of range is ignored: a plugin's bug must not write past the
  // broker's array.
  void set(size_t i, bool allowed) {
    if (i < count_) results_[i] = allowed ? KEEL_AUTHZ_ALLOWED : KEEL_AUTHZ_DENIED;
  }
  bool allowed(size_t i) const { return i < count_ && results_[i] == KEEL_AUTHZ_ALLOWED; }

 private:
  int32_t* results_;
  size_t count_;
};

// A binding: a resource pattern and an access control entry.
struct AclBinding {
  int8_t resource_type = 0;  // KEEL_RESOURCE_* (not ANY)
  int8_t pattern_type = 0;   // KEEL_PATTERN_LITERAL or _PREFIXED
  int8_t operation = 0;      // KEEL_ACL_OP_* (not ANY)
  int8_t permission = 0;     // KEEL_ACL_PERMISSION_ALLOW or _DENY
  std::string resource_name;
  std::string principal;  // "User:alice", "User:*"
  std::string host;       // an address or "*"

  bool operator==(const AclBinding&) const = default;
};

// A filter over bindings (DescribeAcls, DeleteAcls): the *_ANY values,
// KEEL_PATTERN_MATCH and nullopt strings select anything.
struct AclBindingFilter {
  int8_t resource_type = KEEL_RESOURCE_ANY;
  int8_t pattern_type = KEEL_PATTERN_ANY;
  int8_t operation = KEEL_ACL_OP_ANY;
  int8_t permission = KEEL_ACL_PERMISSION_ANY;
  std::optional<std::string> resource_name;
  std::optional<std::string> principal;
  std::optional<std::string> host;
};

// The C view of `b`, valid while `b` lives.
inline keel_acl_binding acl_binding_view(const AclBinding& b) {
  keel_acl_binding v{};
  v.struct_size = sizeof(keel_acl_binding);
  v.resource_type = b.resource_type;
  v.pattern_type = b.pattern_type;
  v.operation = b.operation;
  v.permission = b.permission;
  v.resource_name = b.resource_name.c_str();
  v.principal = b.principal.c_str();
  v.host = b.host.c_str();
  return v;
}

// Threads as plugin.h says: construction and destruction on the broker's
// main thread; authorize from any thread at any time, concurrently with
// itself and with the ACL calls; the ACL calls from any thread.
class Authorizer {
 public:
  virtual ~Authorizer() = default;
  // Answers every action of one subject: results.set(i, true) for each one
  // allowed. Must answer from memory without blocking for long; should not
  // allocate (it runs for every request). Throwing denies them all.
  virtual void authorize(const AuthzSubject& subject, const AuthzActions& actions, AuthzResults& results) = 0;
  // Stores the binding durably; one already stored is not an error.
  virtual void create_acl(const AclBinding& binding) = 0;
  // The bindings the filter selects.
  virtual std::vector<AclBinding> describe_acls(const AclBindingFilter& filter) = 0;
  // Removes the bindings the filter selects, durably; returns them.
  virtual std::vector<AclBinding> delete_acls(const AclBindingFilter& filter) = 0;
};

namespace detail {

// Whether a struct of 2.5 (introduced whole then) that its producer sized
// `size` holds every field 2.5 gave it.
inline bool authz_action_size_ok(uint32_t size) {
  return size >= offsetof(keel_authz_action, resource_name_len) + sizeof(uint64_t);
}

inline AclBinding read_acl_binding(const keel_acl_binding* b) {
  if (b == nullptr) throw Error(KEEL_ERR_INVALID_ARGUMENT, "create_acl: the binding is NULL");
  if (!KEEL_HAS_FIELD(b, keel_acl_binding, host)) {
    throw Error(KEEL_ERR_INVALID_ARGUMENT, "create_acl: a binding of " + std::to_string(b->struct_size) +
                                               " bytes, smaller than ABI 2.5's " +
                                               std::to_string(sizeof(keel_acl_binding)));
  }
  const char* missing = b->resource_name == nullptr ? "resource_name"
                        : b->principal == nullptr   ? "principal"
                        : b->host == nullptr        ? "host"
                                                    : nullptr;
  if (missing != nullptr) {
    // Only a filter may leave a string out ("any"); a binding names each.
    throw Error(KEEL_ERR_INVALID_ARGUMENT, std::string("create_acl: the binding's ") + missing +
                                               " is NULL (a binding names every field; '*' for any " +
                                               "principal name or host)");
  }
  return AclBinding{b->resource_type, b->pattern_type, b->operation, b->permission,
                    b->resource_name, b->principal,    b->host};
}

inline AclBindingFilter read_acl_filter(const keel_acl_binding* f, const char* call) {
  if (f == nullptr) {
    // Not "everything": a NULL that slipped through must not delete all.
    throw Error(KEEL_ERR_INVALID_ARGUMENT, std::string(call) + ": the filter is NULL");
  }
  if (!KEEL_HAS_FIELD(f, keel_acl_binding, host)) {
    throw Error(KEEL_ERR_INVALID_ARGUMENT,
                std::string(call) + ": a filter of " + std::to_string(f->struct_size) +
                    " bytes, smaller than ABI 2.5's " + std::to_string(sizeof(keel_acl_binding)));
  }
  const auto optional = [](const char* s) {
    return s == nullptr ? std::nullopt : std::optional<std::string>(s);
  };
  AclBindingFilter out;
  out.resource_type = f->resource_type;
  out.pattern_type = f->pattern_type;
  out.operation = f->operation;
  out.permission = f->permission;
  out.resource_name = optional(f->resource_name);
  out.principal = optional(f->principal);
  out.host = optional(f->host);
  return out;
}

inline void deliver(const std::vector<AclBinding>& bindings, keel_acl_callback cb, void* user) {
  if (cb == nullptr) return;
  for (const AclBinding& b : bindings) {
    const keel_acl_binding view = acl_binding_view(b);
    cb(user, &view);
  }
}

inline void deny_all(int32_t* results, uint32_t count) {
  for (uint32_t i = 0; i < count; ++i) results[i] = KEEL_AUTHZ_DENIED;
}

}  // namespace detail

template <class T>
const keel_authorizer_vtable* authorizer_vtable() {
  static const keel_authorizer_vtable vt = [] {
    keel_authorizer_vtable v{};
    v.struct_size = sizeof(keel_authorizer_vtable);
    v.create = [](const keel_host* host, const keel_config* cfg, const char* state_dir, keel_authorizer** out,
                  keel_error* err) noexcept {
      return detail::guarded(err, [&] {
        *out = reinterpret_cast<keel_authorizer*>(
            static_cast<Authorizer*>(new T(Host(host), Config(host, cfg), state_dir)));
      });
    };
    v.authorize = [](keel_authorizer* a, const keel_authz_subject* subject, const keel_authz_action* actions,
                     uint32_t count, uint32_t action_size, int32_t* results) noexcept {
      if (results == nullptr || count == 0) return;
      detail::deny_all(results, count);
      if (subject == nullptr || !KEEL_HAS_FIELD(subject, keel_authz_subject, listener) ||
          subject->principal == nullptr || actions == nullptr || !detail::authz_action_size_ok(action_size)) {
        return;
      }
      const AuthzSubject who{subject->principal, subject->host != nullptr ? subject->host : "",
                             subject->listener != nullptr ? subject->listener : ""};
      const AuthzActions what(actions, count, action_size);
      AuthzResults answers(results, count);
      try {
        reinterpret_cast<Authorizer*>(a)->authorize(who, what, answers);
      } catch (...) {
        // No error channel: a plugin that cannot answer has said no.
        detail::deny_all(results, count);
        return;
      }
      for (uint32_t i = 0; i < count; ++i) {
        if (!what.well_formed(i)) results[i] = KEEL_AUTHZ_DENIED;
      }
    };
    v.create_acl = [](keel_authorizer* a, const keel_acl_binding* binding, keel_error* err) noexcept {
      return detail::guarded(
          err, [&] { reinterpret_cast<Authorizer*>(a)->create_acl(detail::read_acl_binding(binding)); });
    };
    v.describe_acls = [](keel_authorizer* a, const keel_acl_binding* filter, keel_acl_callback cb, void* user,
                         keel_error* err) noexcept {
      return detail::guarded(err, [&] {
        const std::vector<AclBinding> found =
            reinterpret_cast<Authorizer*>(a)->describe_acls(detail::read_acl_filter(filter, "describe_acls"));
        detail::deliver(found, cb, user);
      });
    };
    v.delete_acls = [](keel_authorizer* a, const keel_acl_binding* filter, keel_acl_callback cb, void* user,
                       keel_error* err) noexcept {
      return detail::guarded(err, [&] {
        const std::vector<AclBinding> gone =
            reinterpret_cast<Authorizer*>(a)->delete_acls(detail::read_acl_filter(filter, "delete_acls"));
        detail::deliver(gone, cb, user);
      });
    };
    v.destroy = [](keel_authorizer* a) noexcept { delete reinterpret_cast<Authorizer*>(a); };
    return v;
  }();
  return &vt;
}

template <class T>
keel_strategy authorizer_strategy(const char* name) {
  return {sizeof(keel_strategy), KEEL_KIND_AUTHORIZER, name, authorizer_vtable<T>()};
}

}  // namespace keel::sdk

#endif  // KEEL_TARGET_ABI_MINOR >= 5
