#include "authorizer/acl/acl_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iterator>
#include <keel/plugin.hpp>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <shared_mutex>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>

namespace keel::acl {

using keel::sdk::Error;

namespace {

constexpr int kFileVersion = 1;

// The part of a binding below its resource pattern (Kafka's
// AccessControlEntry).
struct Entry {
  std::string principal;
  std::string host;
  Operation operation;
  Permission permission;

  auto key() const { return std::tie(principal, host, operation, permission); }
};

// A pattern's entries sorted by principal first, so that a check finds the
// entries of one principal with a binary search.
using Entries = std::vector<Entry>;

struct ByPrincipal {
  bool operator()(const Entry& e, std::string_view p) const { return e.principal < p; }
  bool operator()(std::string_view p, const Entry& e) const { return p < e.principal; }
};

// FNV-1a, extended byte by byte: a check hashes the name once, and has the
// hash of every prefix of it on the way.
constexpr uint64_t kHashSeed = 14695981039346656037ull;
constexpr uint64_t extend_hash(uint64_t h, std::string_view bytes) {
  for (char c : bytes) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}
constexpr uint64_t hash_of(std::string_view s) { return extend_hash(kHashSeed, s); }
constexpr uint64_t kWildcardHash = hash_of(kWildcardResource);

// The resource patterns of one kind (LITERAL or PREFIXED) of one resource
// type, by name: an open-addressing hash table (linear probing, at most half
// full) looked up with a hash the caller computed. Every pattern here has
// entries: an emptied one is erased, so finding one means the resource is
// named.
class PatternTable {
 public:
  struct Pattern {
    std::string name;
    Entries entries;
  };

  bool empty() const { return used_ == 0; }

  // hash: hash_of(name).
  const Pattern* find(std::string_view name, uint64_t hash) const {
    if (used_ == 0) return nullptr;
    for (size_t i = home(hash); slots_[i].pattern; i = next(i)) {
      if (slots_[i].hash == hash && slots_[i].pattern->name == name) return slots_[i].pattern.get();
    }
    return nullptr;
  }
  Pattern* find(std::string_view name, uint64_t hash) {
    return const_cast<Pattern*>(std::as_const(*this).find(name, hash));
  }

  // The pattern, added (without entries) when missing.
  Pattern& get(std::string_view name, uint64_t hash) {
    if (Pattern* p = find(name, hash)) return *p;
    if (2 * (used_ + 1) > slots_.size()) rehash(std::max<size_t>(16, 2 * slots_.size()));
    size_t i = home(hash);
    while (slots_[i].pattern) i = next(i);
    slots_[i] = Slot{hash, std::make_unique<Pattern>(Pattern{std::string(name), {}})};
    ++used_;
    return *slots_[i].pattern;
  }

  // Removes the pattern (present), shifting back the ones that probed past
  // its slot so that no lookup stops short at the hole.
  void erase(std::string_view name, uint64_t hash) {
    size_t hole = home(hash);
    for (;; hole = next(hole)) {
      const Slot& s = slots_[hole];
      if (!s.pattern) return;  // not present after all
      if (s.hash == hash && s.pattern->name == name) break;
    }
    slots_[hole] = Slot{};
    --used_;
    for (size_t j = next(hole); slots_[j].pattern; j = next(j)) {
      // Slot j may fill the hole unless its home lies cyclically in (hole, j].
      const size_t h = home(slots_[j].hash);
      const bool stays = hole < j ? (hole < h && h <= j) : (hole < h || h <= j);
      if (stays) continue;
      slots_[hole] = std::move(slots_[j]);
      hole = j;
    }
  }

  template <class Fn>
  void for_each(Fn&& fn) const {
    for (const Slot& s : slots_) {
      if (s.pattern) fn(*s.pattern);
    }
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    std::unique_ptr<Pattern> pattern;  // null: a free slot
  };

  // FNV's low bits are weak: mixed (murmur3's finalizer) before masking.
  size_t home(uint64_t h) const {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return static_cast<size_t>(h) & (slots_.size() - 1);
  }
  size_t next(size_t i) const { return (i + 1) & (slots_.size() - 1); }

  void rehash(size_t capacity) {  // a power of two
    std::vector<Slot> old = std::exchange(slots_, std::vector<Slot>(capacity));
    for (Slot& s : old) {
      if (!s.pattern) continue;
      size_t i = home(s.hash);
      while (slots_[i].pattern) i = next(i);
      slots_[i] = std::move(s);
    }
  }

  std::vector<Slot> slots_;
  size_t used_ = 0;
};

// The bindings of one resource type.
struct TypeIndex {
  PatternTable literal;  // "*" included
  PatternTable prefixed;
  // The distinct lengths of the PREFIXED names, ascending, and how many
  // names have each: a check looks up the name's prefixes of these lengths
  // only.
  std::vector<size_t> prefix_lengths;
  std::map<size_t, size_t> prefix_length_count;
};

bool is_concrete(ResourceType t) { return t >= ResourceType::kTopic && t <= ResourceType::kTransactionalId; }

// Whether an ALLOW binding for `granted` allows `wanted` (Kafka:
// AclAuthorizer.authorizeAction's allowOps).
bool allows(Operation granted, Operation wanted) {
  if (granted == wanted || granted == Operation::kAll) return true;
  switch (wanted) {
    case Operation::kDescribe:
      return granted == Operation::kRead || granted == Operation::kWrite || granted == Operation::kDelete ||
             granted == Operation::kAlter;
    case Operation::kDescribeConfigs:
      return granted == Operation::kAlterConfigs;
    default:
      return false;
  }
}

// A check in progress.
struct Check {
  std::string_view principal;
  std::string_view host;
  Operation op;
  bool found = false;    // some binding names the resource
  bool allowed = false;  // some ALLOW binding matches
};

// Looks at the entries of `principal` in one pattern; true when a DENY
// matches (which settles the check). A DENY denies exactly its operation or
// ALL: implications widen only what is allowed, as in Kafka.
bool deny_found(const Entries& entries, std::string_view principal, Check& c) {
  auto it = std::lower_bound(entries.begin(), entries.end(), principal, ByPrincipal{});
  for (; it != entries.end() && it->principal == principal; ++it) {
    if (it->host != c.host && it->host != kWildcardHost) continue;
    if (it->permission == Permission::kDeny) {
      if (it->operation == c.op || it->operation == Operation::kAll) return true;
    } else if (!c.allowed && allows(it->operation, c.op)) {
      c.allowed = true;
    }
  }
  return false;
}

bool deny_found(const Entries& entries, Check& c) {
  c.found = true;
  if (deny_found(entries, c.principal, c)) return true;
  return c.principal != kWildcardPrincipal && deny_found(entries, kWildcardPrincipal, c);
}

AclBinding binding_of(ResourceType type, PatternType pattern, const std::string& name, const Entry& e) {
  return AclBinding{type, name, pattern, e.principal, e.host, e.operation, e.permission};
}

[[noreturn]] void fail_errno(int err, const std::string& what) {
  const keel_status code = err == ENOSPC || err == EDQUOT ? KEEL_ERR_NO_SPACE : KEEL_ERR_IO;
  throw Error(code, what + ": " + std::error_code(err, std::generic_category()).message());
}

// ---------------------------------------------------------------- the file

nlohmann::ordered_json encode(const std::vector<AclBinding>& bindings) {
  nlohmann::ordered_json acls = nlohmann::ordered_json::array();
  for (const AclBinding& b : bindings) {
    acls.push_back({{"resource_type", to_string(b.resource_type)},
                    {"resource_name", b.resource_name},
                    {"pattern_type", to_string(b.pattern_type)},
                    {"principal", b.principal},
                    {"host", b.host},
                    {"operation", to_string(b.operation)},
                    {"permission", to_string(b.permission)}});
  }
  return {{"version", kFileVersion}, {"acls", std::move(acls)}};
}

// Why a file's text is not a list of valid bindings: thrown by decode(),
// caught by load(), which names the file.
struct Damage {
  std::string why;
};

const std::string& string_field(const nlohmann::json& acl, const char* field, const std::string& where) {
  auto it = acl.find(field);
  if (it == acl.end()) throw Damage{where + " has no \"" + field + "\""};
  if (!it->is_string()) throw Damage{where + ": \"" + field + "\" is not a string"};
  return it->get_ref<const std::string&>();
}

template <class E>
E enum_field(const nlohmann::json& acl, const char* field, const std::string& where,
             std::optional<E> (*parse)(std::string_view)) {
  const std::string& name = string_field(acl, field, where);
  std::optional<E> v = parse(name);
  if (!v) throw Damage{where + ": \"" + field + "\" is '" + name + "', not a known name"};
  return *v;
}

std::vector<AclBinding> decode(const std::string& text) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Damage{std::string("not JSON (") + e.what() + ")"};
  }
  if (!doc.is_object()) throw Damage{"not a JSON object"};
  auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer()) throw Damage{"no integer \"version\""};
  if (*version != kFileVersion) {
    throw Damage{"version " + version->dump() + " is not " + std::to_string(kFileVersion) +
                 " (written by another Keel version?)"};
  }
  auto acls = doc.find("acls");
  if (acls == doc.end() || !acls->is_array()) throw Damage{"no \"acls\" array"};
  std::vector<AclBinding> out;
  out.reserve(acls->size());
  for (size_t i = 0; i < acls->size(); ++i) {
    const nlohmann::json& acl = (*acls)[i];
    const std::string where = "acls[" + std::to_string(i) + "]";
    if (!acl.is_object()) throw Damage{where + " is not an object"};
    AclBinding b;
    b.resource_type = enum_field<ResourceType>(acl, "resource_type", where, parse_resource_type);
    b.resource_name = string_field(acl, "resource_name", where);
    b.pattern_type = enum_field<PatternType>(acl, "pattern_type", where, parse_pattern_type);
    b.principal = string_field(acl, "principal", where);
    b.host = string_field(acl, "host", where);
    b.operation = enum_field<Operation>(acl, "operation", where, parse_operation);
    b.permission = enum_field<Permission>(acl, "permission", where, parse_permission);
    if (std::string why = why_invalid(b); !why.empty()) {
      throw Damage{where + " (" + to_string(b) + "): " + why};
    }
    b.host = *canonical_host(b.host);  // a hand-edited file may write it otherwise
    out.push_back(std::move(b));
  }
  return out;
}

// The file's text, or nullopt when there is no file.
std::optional<std::string> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    fail_errno(errno, "cannot open ACL file '" + path + "'");
  }
  std::string text;
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      fail_errno(err, "cannot read ACL file '" + path + "'");
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

// Replaces `path` with `content` so that a crash leaves the old file or the
// new one, never a mix: a temporary file written and synced, then renamed
// over it. Throws (and leaves the old file) when any of that fails. The
// rename is durable only once the directory is synced: that is left to the
// caller (sync_directory), because after the rename the new file is the one
// in place, whether or not that sync works.
void replace_file(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail_errno(errno, "cannot create '" + tmp + "' to update the ACL file");
  int err = 0;
  size_t done = 0;
  while (err == 0 && done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = errno;
    } else {
      done += static_cast<size_t>(n);
    }
  }
  if (err == 0 && ::fdatasync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    fail_errno(err, "cannot write ACL file '" + path + "' (via '" + tmp + "')");
  }
}

// 0, or the errno of the failure.
int sync_directory(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int err = ::fsync(fd) != 0 ? errno : 0;
  ::close(fd);
  return err;
}

std::set<std::string, std::less<>> checked_super_users(const std::set<std::string>& users) {
  for (const std::string& u : users) {
    if (!is_principal(u)) {
      throw Error(KEEL_ERR_INVALID_ARGUMENT,
                  "acl authorizer: super user '" + u +
                      "' is not a principal of the form Type:name (e.g. User:admin)");
    }
  }
  return {users.begin(), users.end()};
}

// The filter, refused when invalid, with an IP address host written as the
// stored bindings write theirs (so "2001:db8:0::1" finds "2001:db8::1").
AclBindingFilter checked_filter(const AclBindingFilter& filter) {
  if (std::string why = why_invalid(filter); !why.empty()) {
    throw Error(KEEL_ERR_INVALID_ARGUMENT, "invalid ACL filter: " + why);
  }
  AclBindingFilter out = filter;
  if (out.host) {
    if (auto canonical = canonical_host(*out.host)) out.host = std::move(*canonical);
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------- the lock

WriterFirstMutex::WriterFirstMutex() {
  pthread_rwlockattr_t attr;
  ::pthread_rwlockattr_init(&attr);
  // glibc's writer preference is only honoured in its non-recursive form.
  ::pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  const int rc = ::pthread_rwlock_init(&lock_, &attr);
  ::pthread_rwlockattr_destroy(&attr);
  if (rc != 0) {
    throw Error(KEEL_ERR_INTERNAL, "acl authorizer: cannot create its lock: " +
                                       std::error_code(rc, std::generic_category()).message());
  }
}

// ---------------------------------------------------------------- the index

// Not thread-safe: AclStore locks around it.
struct AclStore::Index {
  std::array<TypeIndex, 4> types;  // TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID
  size_t size = 0;

  static size_t slot(ResourceType t) {
    return static_cast<size_t>(t) - static_cast<size_t>(ResourceType::kTopic);
  }
  PatternTable& table(const AclBinding& b) {
    TypeIndex& t = types[slot(b.resource_type)];
    return b.pattern_type == PatternType::kPrefixed ? t.prefixed : t.literal;
  }
  const PatternTable& table(const AclBinding& b) const { return const_cast<Index*>(this)->table(b); }

  static Entry entry_of(const AclBinding& b) { return Entry{b.principal, b.host, b.operation, b.permission}; }
  static bool before(const Entry& a, const Entry& b) { return a.key() < b.key(); }

  bool contains(const AclBinding& b) const {
    const PatternTable::Pattern* p = table(b).find(b.resource_name, hash_of(b.resource_name));
    return p != nullptr && std::binary_search(p->entries.begin(), p->entries.end(), entry_of(b), before);
  }

  // b is valid and not stored yet.
  void insert(const AclBinding& b) {
    Entries& es = table(b).get(b.resource_name, hash_of(b.resource_name)).entries;
    if (es.empty() && b.pattern_type == PatternType::kPrefixed) {
      TypeIndex& t = types[slot(b.resource_type)];
      const size_t len = b.resource_name.size();
      if (t.prefix_length_count[len]++ == 0) {
        t.prefix_lengths.insert(std::upper_bound(t.prefix_lengths.begin(), t.prefix_lengths.end(), len), len);
      }
    }
    Entry e = entry_of(b);
    es.insert(std::upper_bound(es.begin(), es.end(), e, before), std::move(e));
    ++size;
  }

  // b is stored.
  void erase(const AclBinding& b) {
    PatternTable& tab = table(b);
    const uint64_t hash = hash_of(b.resource_name);
    PatternTable::Pattern* p = tab.find(b.resource_name, hash);
    if (p == nullptr) return;
    const Entry e = entry_of(b);
    auto pos = std::lower_bound(p->entries.begin(), p->entries.end(), e, before);
    if (pos == p->entries.end() || pos->key() != e.key()) return;
    p->entries.erase(pos);
    --size;
    if (!p->entries.empty()) return;
    tab.erase(b.resource_name, hash);  // keeps "a pattern present" meaning "the resource is named"
    if (b.pattern_type == PatternType::kPrefixed) {
      TypeIndex& t = types[slot(b.resource_type)];
      const size_t len = b.resource_name.size();
      if (--t.prefix_length_count[len] == 0) {
        t.prefix_length_count.erase(len);
        std::erase(t.prefix_lengths, len);
      }
    }
  }

  // AclStore::authorize_any, under the caller's shared lock.
  bool any_allowed(ResourceType type, std::string_view principal, std::string_view host, Operation op,
                   bool allow_if_none) const {
    const TypeIndex& t = types[slot(type)];
    struct Seen {
      bool prefixed;
      std::string_view name;
    };
    std::vector<Seen> allowed, denied;
    bool any_binding = false;
    auto scan = [&](const PatternTable& table, bool prefixed) {
      table.for_each([&](const PatternTable::Pattern& p) {
        for (const Entry& e : p.entries) {
          any_binding = true;
          if (e.principal != principal && e.principal != kWildcardPrincipal) continue;
          if (e.host != host && e.host != kWildcardHost) continue;
          if (e.permission == Permission::kDeny) {
            if (e.operation == op || e.operation == Operation::kAll) denied.push_back({prefixed, p.name});
          } else if (allows(e.operation, op)) {
            allowed.push_back({prefixed, p.name});
          }
        }
      });
    };
    scan(t.literal, false);
    scan(t.prefixed, true);
    if (!any_binding) return allow_if_none;
    // Does a DENY pattern cover everything the ALLOW pattern `a` names?
    auto covered = [&](const Seen& a) {
      for (const Seen& d : denied) {
        if (!d.prefixed && d.name == kWildcardResource) return true;
        if (!d.prefixed && !a.prefixed && d.name == a.name) return true;
        if (d.prefixed && a.name.substr(0, d.name.size()) == d.name) return true;
      }
      return false;
    };
    return std::any_of(allowed.begin(), allowed.end(), [&](const Seen& a) { return !covered(a); });
  }

  std::vector<AclBinding> all() const {
    std::vector<AclBinding> out;
    out.reserve(size);
    for (size_t i = 0; i < types.size(); ++i) {
      const auto type = static_cast<ResourceType>(i + static_cast<size_t>(ResourceType::kTopic));
      types[i].literal.for_each([&](const PatternTable::Pattern& p) {
        for (const Entry& e : p.entries) out.push_back(binding_of(type, PatternType::kLiteral, p.name, e));
      });
      types[i].prefixed.for_each([&](const PatternTable::Pattern& p) {
        for (const Entry& e : p.entries) out.push_back(binding_of(type, PatternType::kPrefixed, p.name, e));
      });
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // Runs the check over every pattern that applies to `name`; false as soon
  // as a DENY matches. One pass hashes the name: the PREFIXED patterns are
  // looked up by its prefixes of the lengths some PREFIXED name has, then
  // the LITERAL ones by the whole name, then the literal "*".
  bool check(ResourceType type, std::string_view name, Check& c) const {
    const TypeIndex& t = types[slot(type)];
    uint64_t hash = kHashSeed;
    size_t hashed = 0;
    for (size_t len : t.prefix_lengths) {
      if (len > name.size()) break;
      hash = extend_hash(hash, name.substr(hashed, len - hashed));
      hashed = len;
      const PatternTable::Pattern* p = t.prefixed.find(name.substr(0, len), hash);
      if (p != nullptr && deny_found(p->entries, c)) return false;
    }
    if (t.literal.empty()) return true;
    hash = extend_hash(hash, name.substr(hashed));
    if (const PatternTable::Pattern* p = t.literal.find(name, hash);
        p != nullptr && deny_found(p->entries, c)) {
      return false;
    }
    if (name != kWildcardResource) {
      const PatternTable::Pattern* p = t.literal.find(kWildcardResource, kWildcardHash);
      if (p != nullptr && deny_found(p->entries, c)) return false;
    }
    return true;
  }
};

// ---------------------------------------------------------------- the store

AclStore::AclStore(std::string path, Options options)
    : path_(std::move(path)),
      super_users_(checked_super_users(options.super_users)),
      allow_everyone_if_no_acl_found_(options.allow_everyone_if_no_acl_found),
      index_(std::make_unique<Index>()) {
  if (!path_.empty()) load();
}

AclStore::~AclStore() = default;

void AclStore::load() {
  std::optional<std::string> text = read_file(path_);
  if (!text) return;
  std::vector<AclBinding> bindings;
  try {
    bindings = decode(*text);
  } catch (const Damage& d) {
    // The path and what to do first, the details last: the message travels
    // in a keel_error of 512 bytes, and a bad binding may quote a long name.
    const char* without =
        allow_everyone_if_no_acl_found_
            ? "which opens every resource to everyone, as allow_everyone_if_no_acl_found is set"
            : "which denies everything to everyone but the super users";
    throw Error(KEEL_ERR_CORRUPT,
                "ACL file '" + path_ +
                    "' is damaged; restore it from a backup, or move it aside to start with "
                    "no ACLs (" +
                    without + "). What is wrong: " + d.why);
  }
  for (const AclBinding& b : bindings) {
    if (!index_->contains(b)) index_->insert(b);  // a hand-edited file may repeat one
  }
}

bool AclStore::authorize(std::string_view principal, std::string_view host, ResourceType type,
                         std::string_view name, Operation op) const {
  if (!is_concrete(type) || op == Operation::kAny || op <= Operation::kUnknown ||
      op > Operation::kIdempotentWrite) {
    return false;
  }
  if (!super_users_.empty() && super_users_.find(principal) != super_users_.end()) return true;
  Check c{principal, host, op};
  std::shared_lock lock(mu_);
  if (!index_->check(type, name, c)) return false;
  return c.found ? c.allowed : allow_everyone_if_no_acl_found_;
}

bool AclStore::authorize_any(std::string_view principal, std::string_view host, ResourceType type,
                             Operation op) const {
  if (!is_concrete(type) || op == Operation::kAny || op <= Operation::kUnknown ||
      op > Operation::kIdempotentWrite) {
    return false;
  }
  if (!super_users_.empty() && super_users_.find(principal) != super_users_.end()) return true;
  std::shared_lock lock(mu_);
  return index_->any_allowed(type, principal, host, op, allow_everyone_if_no_acl_found_);
}

template <class Bindings, class Apply>
void AclStore::persist(Bindings&& bindings, Apply&& apply) {
  int dir_err = 0;
  if (!path_.empty()) {
    replace_file(path_, encode(bindings()).dump(2) + "\n");
    dir_err = sync_directory(path_);
  }
  {
    std::unique_lock lock(mu_);
    apply();
  }
  if (dir_err != 0) {
    fail_errno(dir_err, "ACL file '" + path_ +
                            "' was replaced, and the change is in effect, but its directory " +
                            "could not be synced, so it may not survive a crash");
  }
}

size_t AclStore::add(const std::vector<AclBinding>& bindings) {
  std::vector<AclBinding> canonical;
  canonical.reserve(bindings.size());
  for (const AclBinding& b : bindings) {
    if (std::string why = why_invalid(b); !why.empty()) {
      throw Error(KEEL_ERR_INVALID_ARGUMENT, "invalid ACL binding (" + to_string(b) + "): " + why);
    }
    canonical.push_back(b);
    canonical.back().host = *canonical_host(b.host);  // valid, so it has one
  }
  std::lock_guard writer(write_mu_);
  // Only writers change the index, so reading it under write_mu_ alone is safe.
  std::set<AclBinding> fresh;
  for (const AclBinding& b : canonical) {
    if (!index_->contains(b)) fresh.insert(b);
  }
  if (fresh.empty()) return 0;
  auto next = [&] {
    std::vector<AclBinding> all = index_->all();
    std::vector<AclBinding> out;
    out.reserve(all.size() + fresh.size());
    std::merge(all.begin(), all.end(), fresh.begin(), fresh.end(), std::back_inserter(out));
    return out;
  };
  persist(next, [&] {
    for (const AclBinding& b : fresh) index_->insert(b);
  });
  return fresh.size();
}

std::vector<AclBinding> AclStore::describe(const AclBindingFilter& asked) const {
  const AclBindingFilter filter = checked_filter(asked);
  std::vector<AclBinding> all;
  {
    std::shared_lock lock(mu_);
    all = index_->all();
  }
  std::erase_if(all, [&](const AclBinding& b) { return !matches(filter, b); });
  return all;
}

std::vector<AclBinding> AclStore::remove(const AclBindingFilter& asked) {
  const AclBindingFilter filter = checked_filter(asked);
  std::lock_guard writer(write_mu_);
  std::vector<AclBinding> kept = index_->all();
  std::vector<AclBinding> removed;
  std::erase_if(kept, [&](const AclBinding& b) {
    if (!matches(filter, b)) return false;
    removed.push_back(b);
    return true;
  });
  if (removed.empty()) return removed;
  persist([&] { return kept; },
          [&] {
            for (const AclBinding& b : removed) index_->erase(b);
          });
  return removed;
}

size_t AclStore::size() const {
  std::shared_lock lock(mu_);
  return index_->size;
}

}  // namespace keel::acl
