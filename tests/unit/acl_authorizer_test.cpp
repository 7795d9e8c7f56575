// The `acl` authorizer driven through its C ABI as the broker drives it
// (keel_authorizer_vtable, from the built keel-authorizer-acl.so): its
// settings, ACL bindings created, described and deleted as keel_acl_binding
// (NULL strings of a filter meaning "any"), checks with the caller's element
// size, acls.json (damaged: refused naming it; no state_dir: untouched).
// Then the SDK's adapter itself (keel/authorizer.hpp) with an authorizer
// that misbehaves: it fails closed.
#include "authorizer/acl/acl_authorizer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <keel/authorizer.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "authorizer/acl/acl_settings.hpp"
#include "support/log_capture.hpp"
#include "support/plugin_fixture.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;

using keel::acl::AclSettings;
using keel::sdk::AclBinding;
using keel::test::LoadedPlugin;
using keel::test::LogCapture;
using keel::test::TempDir;
using keel::test::TestConfig;
using keel::test::TestHost;

// The status and message of a call.
struct Outcome {
  keel_status status = KEEL_ERR_INTERNAL;
  std::string message;
};

// Collects what a keel_acl_callback hands over (valid during the call only,
// so copied).
void collect(void* user, const keel_acl_binding* b) {
  static_cast<std::vector<AclBinding>*>(user)->push_back(AclBinding{b->resource_type, b->pattern_type,
                                                                    b->operation, b->permission,
                                                                    b->resource_name, b->principal, b->host});
}

keel_acl_binding c_binding(int8_t type, const char* name, int8_t pattern, const char* principal,
                           const char* host, int8_t op, int8_t permission) {
  keel_acl_binding b{};
  b.struct_size = sizeof b;
  b.resource_type = type;
  b.pattern_type = pattern;
  b.operation = op;
  b.permission = permission;
  b.resource_name = name;
  b.principal = principal;
  b.host = host;
  return b;
}

keel_acl_binding topic_allow(const char* name, const char* principal, int8_t op) {
  return c_binding(KEEL_RESOURCE_TOPIC, name, KEEL_PATTERN_LITERAL, principal, "*", op,
                   KEEL_ACL_PERMISSION_ALLOW);
}

// A filter of only *_ANY values and NULL strings: everything.
keel_acl_binding any_filter() {
  return c_binding(KEEL_RESOURCE_ANY, nullptr, KEEL_PATTERN_ANY, nullptr, nullptr, KEEL_ACL_OP_ANY,
                   KEEL_ACL_PERMISSION_ANY);
}

// `name` must outlive the action (a literal, or a string the test keeps).
keel_authz_action action(int8_t type, std::string_view name, int8_t op) {
  keel_authz_action a{};
  a.struct_size = sizeof a;
  a.resource_type = type;
  a.operation = op;
  a.resource_name = name.data();
  a.resource_name_len = name.size();
  return a;
}

// One authorizer instance created through a vtable, as the broker does.
class AuthorizerUnderTest {
 public:
  AuthorizerUnderTest(const keel_authorizer_vtable* vt, const std::string& toml, const char* state_dir)
      : vt_(vt), config_(toml, "authorizer 'acl'") {
    keel_error err{};
    created_.status = vt_->create(host_.get(), config_.get(), state_dir, &instance_, &err);
    created_.message = err.message;
  }
  ~AuthorizerUnderTest() {
    if (instance_ != nullptr) vt_->destroy(instance_);
  }
  AuthorizerUnderTest(const AuthorizerUnderTest&) = delete;
  AuthorizerUnderTest& operator=(const AuthorizerUnderTest&) = delete;

  const Outcome& created() const { return created_; }
  bool ok() const { return created_.status == KEEL_OK && instance_ != nullptr; }
  std::vector<std::string> problems() const { return config_.problems(); }

  Outcome create_acl(const keel_acl_binding& b) {
    keel_error err{};
    Outcome o;
    o.status = vt_->create_acl(instance_, &b, &err);
    o.message = err.message;
    return o;
  }
  // The bindings the filter selects (or removes, with `remove`); status in *out.
  std::vector<AclBinding> select(const keel_acl_binding* filter, bool remove = false,
                                 Outcome* out = nullptr) {
    std::vector<AclBinding> got;
    keel_error err{};
    Outcome o;
    o.status = (remove ? vt_->delete_acls : vt_->describe_acls)(instance_, filter, &collect, &got, &err);
    o.message = err.message;
    if (out != nullptr) *out = o;
    return got;
  }
  std::vector<AclBinding> describe(const keel_acl_binding& filter) { return select(&filter); }
  std::vector<AclBinding> remove(const keel_acl_binding& filter) { return select(&filter, true); }

  // results of the actions, asked as `principal` from `host`, spaced
  // `action_size` bytes apart.
  std::vector<int32_t> authorize(const char* principal, const char* host,
                                 const std::vector<keel_authz_action>& actions) {
    keel_authz_subject who{};
    who.struct_size = sizeof who;
    who.principal = principal;
    who.host = host;
    who.listener = "PLAINTEXT";
    std::vector<int32_t> results(actions.size(), -1);
    vt_->authorize(instance_, &who, actions.data(), static_cast<uint32_t>(actions.size()),
                   sizeof(keel_authz_action), results.data());
    return results;
  }
  bool can(const char* principal, int8_t type, const std::string& name, int8_t op) {
    return authorize(principal, "10.0.0.1", {action(type, name, op)})[0] == KEEL_AUTHZ_ALLOWED;
  }
  keel_authorizer* instance() const { return instance_; }

 private:
  const keel_authorizer_vtable* vt_;
  TestHost host_;
  TestConfig config_;
  keel_authorizer* instance_ = nullptr;
  Outcome created_;
};

// The plugin as the broker loads it.
class AclAuthorizerTest : public ::testing::Test {
 protected:
  const keel_authorizer_vtable* vt() const { return plugin_.vtable<keel_authorizer_vtable>(); }
  LoadedPlugin plugin_{"authorizer", "acl"};
};

// ---------------------------------------------------------------- the library

TEST_F(AclAuthorizerTest, LibraryExportsTheAuthorizerKind) {
  const keel_plugin_descriptor* d = plugin_.descriptor();
  EXPECT_EQ(d->abi_major, KEEL_ABI_MAJOR);
  EXPECT_EQ(d->abi_minor, KEEL_ABI_MINOR);
  ASSERT_EQ(d->strategy_count, 1u);
  const keel_strategy& s = *KEEL_ELEMENT(keel_strategy, d->strategies, d->strategy_size, 0);
  EXPECT_EQ(s.kind, KEEL_KIND_AUTHORIZER);
  EXPECT_STREQ(s.name, "acl");
  const keel_authorizer_vtable* v = vt();
  EXPECT_EQ(v->struct_size, sizeof(keel_authorizer_vtable));
  for (const void* fn :
       {reinterpret_cast<const void*>(v->create), reinterpret_cast<const void*>(v->authorize),
        reinterpret_cast<const void*>(v->create_acl), reinterpret_cast<const void*>(v->describe_acls),
        reinterpret_cast<const void*>(v->delete_acls), reinterpret_cast<const void*>(v->destroy)}) {
    EXPECT_NE(fn, nullptr);
  }
}

// ---------------------------------------------------------------- settings

TEST(AclSettingsRead, SuperUsersAreSplitAtSemicolonsKeepingTheCommasOfADn) {
  TestHost host;
  TestConfig config(R"(super_users = " User:admin ;User:CN=ops,O=Example, L=Paris;;User:CN=a\\,b,O=c; ")"
                    "\nallow_everyone_if_no_acl_found = true");
  const AclSettings s = AclSettings::read(keel::sdk::Config(host.get(), config.get()));
  EXPECT_EQ(s.super_users,
            (std::set<std::string>{"User:admin", "User:CN=ops,O=Example, L=Paris", "User:CN=a\\,b,O=c"}));
  EXPECT_TRUE(s.allow_everyone_if_no_acl_found);
  EXPECT_TRUE(config.problems().empty());
}

// RFC 2253 writes a ';' inside a subject as "\;": it is part of the name,
// not a separator.
TEST(AclSettingsRead, AnEscapedSemicolonBelongsToTheName) {
  TestHost host;
  TestConfig config(R"(super_users = "User:CN=a\\;b,O=c;User:admin")");
  const AclSettings s = AclSettings::read(keel::sdk::Config(host.get(), config.get()));
  EXPECT_EQ(s.super_users, (std::set<std::string>{"User:CN=a\\;b,O=c", "User:admin"}));
}

TEST(AclSettingsRead, Defaults) {
  TestHost host;
  TestConfig config("");
  const AclSettings s = AclSettings::read(keel::sdk::Config(host.get(), config.get()));
  EXPECT_TRUE(s.super_users.empty());
  EXPECT_FALSE(s.allow_everyone_if_no_acl_found);
}

TEST_F(AclAuthorizerTest, SuperUserWithADnIsAllowedEverything) {
  AuthorizerUnderTest a(vt(), R"(super_users = "User:admin;User:CN=ops,O=Example")", nullptr);
  ASSERT_TRUE(a.ok()) << a.created().message;
  EXPECT_TRUE(a.problems().empty());
  EXPECT_TRUE(a.can("User:CN=ops,O=Example", KEEL_RESOURCE_CLUSTER, "kafka-cluster", KEEL_ACL_OP_ALTER));
  EXPECT_TRUE(a.can("User:admin", KEEL_RESOURCE_TOPIC, "orders", KEEL_ACL_OP_WRITE));
  // Neither half of the DN is a super user.
  EXPECT_FALSE(a.can("User:CN=ops", KEEL_RESOURCE_TOPIC, "orders", KEEL_ACL_OP_WRITE));
  EXPECT_FALSE(a.can("User:alice", KEEL_RESOURCE_TOPIC, "orders", KEEL_ACL_OP_WRITE));
}

TEST_F(AclAuthorizerTest, BadSuperUsersAreRefusedNamingTheKey) {
  struct Case {
    const char* toml;
    const char* says;
  };
  for (const Case& c : {Case{R"(super_users = "admin")", "'admin' is not a principal"},
                        Case{R"(super_users = "User:a;User:")", "'User:' is not a principal"},
                        Case{R"(super_users = "User:admin,User:ops")", "several principals joined by ','"},
                        Case{R"(super_users = "User:CN=x,O=y, User:ops")", "joined by ','"}}) {
    AuthorizerUnderTest a(vt(), c.toml, nullptr);
    EXPECT_EQ(a.created().status, KEEL_ERR_INVALID_ARGUMENT) << c.toml;
    EXPECT_EQ(a.instance(), nullptr);
    EXPECT_NE(a.created().message.find("super_users"), std::string::npos) << a.created().message;
    EXPECT_NE(a.created().message.find(c.says), std::string::npos) << a.created().message;
  }
}

TEST_F(AclAuthorizerTest, SettingOfTheWrongTypeIsRefusedAndTheOtherKeyStillRead) {
  AuthorizerUnderTest a(vt(), "super_users = [\"User:a\"]\nallow_everyone_if_no_acl_found = true", nullptr);
  EXPECT_EQ(a.created().status, KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(a.created().message.find("super_users"), std::string::npos) << a.created().message;
  const std::vector<std::string> problems = a.problems();
  ASSERT_EQ(problems.size(), 1u);  // the type, and no "unknown key" beside it
  EXPECT_NE(problems[0].find("'super_users'"), std::string::npos) << problems[0];
}

// ---------------------------------------------------------------- ACL calls

TEST_F(AclAuthorizerTest, CreateDescribeDeleteWithNullStringsAsAny) {
  AuthorizerUnderTest a(vt(), "", nullptr);
  ASSERT_TRUE(a.ok()) << a.created().message;
  for (const keel_acl_binding& b :
       {topic_allow("orders", "User:alice", KEEL_ACL_OP_READ),
        topic_allow("orders", "User:bob", KEEL_ACL_OP_WRITE),
        c_binding(KEEL_RESOURCE_TOPIC, "team-", KEEL_PATTERN_PREFIXED, "User:alice", "10.0.0.1",
                  KEEL_ACL_OP_WRITE, KEEL_ACL_PERMISSION_DENY),
        c_binding(KEEL_RESOURCE_GROUP, "g", KEEL_PATTERN_LITERAL, "User:alice", "*", KEEL_ACL_OP_READ,
                  KEEL_ACL_PERMISSION_ALLOW)}) {
    const Outcome o = a.create_acl(b);
    ASSERT_EQ(o.status, KEEL_OK) << o.message;
  }
  // Storing one already there is OK.
  EXPECT_EQ(a.create_acl(topic_allow("orders", "User:alice", KEEL_ACL_OP_READ)).status, KEEL_OK);

  ASSERT_EQ(a.describe(any_filter()).size(), 4u);
  keel_acl_binding alice = any_filter();
  alice.principal = "User:alice";
  const std::vector<AclBinding> of_alice = a.describe(alice);
  ASSERT_EQ(of_alice.size(), 3u);
  for (const AclBinding& b : of_alice) EXPECT_EQ(b.principal, "User:alice");
  // MATCH: what applies to a name.
  keel_acl_binding applies = any_filter();
  applies.resource_type = KEEL_RESOURCE_TOPIC;
  applies.pattern_type = KEEL_PATTERN_MATCH;
  applies.resource_name = "team-x";
  const std::vector<AclBinding> team = a.describe(applies);
  ASSERT_EQ(team.size(), 1u);
  EXPECT_EQ(team[0], (AclBinding{KEEL_RESOURCE_TOPIC, KEEL_PATTERN_PREFIXED, KEEL_ACL_OP_WRITE,
                                 KEEL_ACL_PERMISSION_DENY, "team-", "User:alice", "10.0.0.1"}));

  // Delete by a filter with NULL strings but the principal: each deleted
  // binding reaches the callback, and only those go.
  keel_acl_binding topics_of_alice = alice;
  topics_of_alice.resource_type = KEEL_RESOURCE_TOPIC;
  const std::vector<AclBinding> gone = a.remove(topics_of_alice);
  EXPECT_EQ(gone.size(), 2u);
  const std::vector<AclBinding> left = a.describe(any_filter());
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].resource_type, KEEL_RESOURCE_TOPIC);
  EXPECT_EQ(left[0].principal, "User:bob");
  EXPECT_EQ(left[1].resource_type, KEEL_RESOURCE_GROUP);
  EXPECT_FALSE(a.can("User:alice", KEEL_RESOURCE_TOPIC, "orders", KEEL_ACL_OP_READ));
  EXPECT_TRUE(a.can("User:bob", KEEL_RESOURCE_TOPIC, "orders", KEEL_ACL_OP_WRITE));
  EXPECT_TRUE(a.can("User:bob", KEEL_RESOURCE_TOPIC, "orders", KEEL_ACL_OP_DESCRIBE));  // implied

  // A NULL callback is allowed: the bindings still go.
  keel_error err{};
  const keel_acl_binding all = any_filter();
  EXPECT_EQ(vt()->delete_acls(a.instance(), &all, nullptr, nullptr, &err), KEEL_OK) << err.message;
  EXPECT_TRUE(a.describe(any_filter()).empty());
}

TEST_F(AclAuthorizerTest, InvalidBindingsAndFiltersAreRefused) {
  AuthorizerUnderTest a(vt(), "", nullptr);
  ASSERT_TRUE(a.ok()) << a.created().message;
  ASSERT_EQ(a.create_acl(topic_allow("t", "User:a", KEEL_ACL_OP_READ)).status, KEEL_OK);

  // A binding names every string; NULL is not "any" there.
  keel_acl_binding no_host = topic_allow("t", "User:a", KEEL_ACL_OP_WRITE);
  no_host.host = nullptr;
  Outcome o = a.create_acl(no_host);
  EXPECT_EQ(o.status, KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(o.message.find("host is NULL"), std::string::npos) << o.message;
  // The store's rules, with its message.
  keel_acl_binding match = topic_allow("t", "User:a", KEEL_ACL_OP_WRITE);
  match.pattern_type = KEEL_PATTERN_MATCH;
  o = a.create_acl(match);
  EXPECT_EQ(o.status, KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(o.message.find("pattern type MATCH is not LITERAL or PREFIXED"), std::string::npos) << o.message;
  o = a.create_acl(topic_allow("t", "alice", KEEL_ACL_OP_READ));
  EXPECT_EQ(o.status, KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(o.message.find("principal 'alice'"), std::string::npos) << o.message;
  // A binding from a caller whose struct is smaller than 2.5's.
  keel_acl_binding small = topic_allow("t", "User:a", KEEL_ACL_OP_WRITE);
  small.struct_size = offsetof(keel_acl_binding, host);
  EXPECT_EQ(a.create_acl(small).status, KEEL_ERR_INVALID_ARGUMENT);

  // A filter with a value no binding can have, or no filter at all: refused,
  // and nothing deleted.
  keel_acl_binding unknown_op = any_filter();
  unknown_op.operation = 0;
  a.select(&unknown_op, true, &o);
  EXPECT_EQ(o.status, KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(o.message.find("operation is UNKNOWN"), std::string::npos) << o.message;
  a.select(nullptr, true, &o);
  EXPECT_EQ(o.status, KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(o.message.find("filter is NULL"), std::string::npos) << o.message;
  a.select(nullptr, false, &o);
  EXPECT_EQ(o.status, KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(a.describe(any_filter()).size(), 1u);
}

// ---------------------------------------------------------------- checks

TEST_F(AclAuthorizerTest, ActionsAreReadByTheCallersElementSize) {
  AuthorizerUnderTest a(vt(), "", nullptr);
  ASSERT_TRUE(a.ok()) << a.created().message;
  ASSERT_EQ(a.create_acl(topic_allow("orders", "User:alice", KEEL_ACL_OP_READ)).status, KEEL_OK);
  ASSERT_EQ(a.create_acl(topic_allow("payments", "User:alice", KEEL_ACL_OP_WRITE)).status, KEEL_OK);

  // A newer broker's action, with fields this plugin does not know, and an
  // odd size (the elements are not 8-byte aligned).
  constexpr size_t kWide = sizeof(keel_authz_action) + 13;
  const std::string orders = "orders", payments = "payments", other = "other";
  const std::vector<keel_authz_action> asked = {action(KEEL_RESOURCE_TOPIC, orders, KEEL_ACL_OP_READ),
                                                action(KEEL_RESOURCE_TOPIC, orders, KEEL_ACL_OP_WRITE),
                                                action(KEEL_RESOURCE_TOPIC, payments, KEEL_ACL_OP_WRITE),
                                                action(KEEL_RESOURCE_TOPIC, other, KEEL_ACL_OP_READ),
                                                action(KEEL_RESOURCE_TOPIC, payments, KEEL_ACL_OP_DESCRIBE)};
  std::vector<unsigned char> wide(asked.size() * kWide, 0xAB);  // the unknown tail: not zero
  for (size_t i = 0; i < asked.size(); ++i) {
    keel_authz_action e = asked[i];
    e.struct_size = static_cast<uint32_t>(kWide);
    std::memcpy(wide.data() + i * kWide, &e, sizeof e);
  }
  keel_authz_subject who{sizeof(keel_authz_subject), 0, "User:alice", "10.0.0.1", "PLAINTEXT"};
  std::vector<int32_t> results(asked.size(), -1);
  vt()->authorize(a.instance(), &who, reinterpret_cast<const keel_authz_action*>(wide.data()),
                  static_cast<uint32_t>(asked.size()), static_cast<uint32_t>(kWide), results.data());
  EXPECT_EQ(results, (std::vector<int32_t>{KEEL_AUTHZ_ALLOWED, KEEL_AUTHZ_DENIED, KEEL_AUTHZ_ALLOWED,
                                           KEEL_AUTHZ_DENIED, KEEL_AUTHZ_ALLOWED}));
  // The same asked at sizeof: the same answers.
  EXPECT_EQ(a.authorize("User:alice", "10.0.0.1", asked), results);

  // Elements smaller than 2.5's: nothing can be read, all denied.
  std::fill(results.begin(), results.end(), -1);
  vt()->authorize(a.instance(), &who, asked.data(), static_cast<uint32_t>(asked.size()),
                  static_cast<uint32_t>(offsetof(keel_authz_action, resource_name_len)), results.data());
  EXPECT_EQ(results, std::vector<int32_t>(asked.size(), KEEL_AUTHZ_DENIED));
}

TEST_F(AclAuthorizerTest, MalformedQuestionsAreDeniedEvenToSuperUsers) {
  AuthorizerUnderTest a(vt(), R"(super_users = "User:root")", nullptr);
  ASSERT_TRUE(a.ok()) << a.created().message;
  keel_authz_action null_name = action(KEEL_RESOURCE_TOPIC, "", KEEL_ACL_OP_READ);
  null_name.resource_name = nullptr;
  null_name.resource_name_len = 5;
  const std::vector<int32_t> r =
      a.authorize("User:root", "h",
                  {action(KEEL_RESOURCE_TOPIC, "t", KEEL_ACL_OP_READ), null_name,
                   action(KEEL_RESOURCE_ANY, "t", KEEL_ACL_OP_READ), action(KEEL_RESOURCE_TOPIC, "t", 99)});
  EXPECT_EQ(
      r, (std::vector<int32_t>{KEEL_AUTHZ_ALLOWED, KEEL_AUTHZ_DENIED, KEEL_AUTHZ_DENIED, KEEL_AUTHZ_DENIED}));
  // No principal: nobody to allow.
  EXPECT_EQ(a.authorize(nullptr, "h", {action(KEEL_RESOURCE_TOPIC, "t", KEEL_ACL_OP_READ)}),
            std::vector<int32_t>{KEEL_AUTHZ_DENIED});
}

// ---------------------------------------------------------------- acls.json

TEST_F(AclAuthorizerTest, BindingsPersistInTheStateDir) {
  TempDir dir("keel-acl");
  const std::string file = dir.sub("acls.json");
  {
    AuthorizerUnderTest a(vt(), R"(super_users = "User:admin")", dir.str().c_str());
    ASSERT_TRUE(a.ok()) << a.created().message;
    EXPECT_FALSE(fs::exists(file));
    ASSERT_EQ(a.create_acl(topic_allow("orders", "User:alice", KEEL_ACL_OP_READ)).status, KEEL_OK);
    EXPECT_TRUE(fs::exists(file));
  }
  AuthorizerUnderTest again(vt(), "", dir.str().c_str());
  ASSERT_TRUE(again.ok()) << again.created().message;
  EXPECT_EQ(again.describe(any_filter()).size(), 1u);
  EXPECT_TRUE(again.can("User:alice", KEEL_RESOURCE_TOPIC, "orders", KEEL_ACL_OP_READ));
}

TEST_F(AclAuthorizerTest, DamagedFileIsRefusedNamingItAndWhatToDo) {
  TempDir dir("keel-acl");
  const std::string file = dir.sub("acls.json");
  std::ofstream(file) << R"({"version":1,"acls":[{"resource_type":"TOPIC"}]})";
  for (const char* toml : {"", "allow_everyone_if_no_acl_found = true"}) {
    AuthorizerUnderTest a(vt(), toml, dir.str().c_str());
    EXPECT_EQ(a.created().status, KEEL_ERR_CORRUPT);
    EXPECT_EQ(a.instance(), nullptr);
    const std::string& m = a.created().message;
    EXPECT_NE(m.find("'" + file + "' is damaged"), std::string::npos) << m;
    EXPECT_NE(m.find("restore it from a backup, or move it aside to start with no ACLs"), std::string::npos)
        << m;
    // What "no ACLs" then means, with this configuration.
    EXPECT_NE(m.find(*toml == '\0' ? "denies everything to everyone but the super users"
                                   : "opens every resource to everyone"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("acls[0] has no \"resource_name\""), std::string::npos) << m;
  }
}

TEST_F(AclAuthorizerTest, DamagedFileWithALongNameStillSaysWhatToDo) {
  // The message travels in 512 bytes: the path and the remedy come first.
  TempDir dir("keel-acl");
  const std::string long_name(400, 'x');
  std::ofstream(dir.sub("acls.json"))
      << R"({"version":1,"acls":[{"resource_type":"TOPIC","resource_name":")" << long_name
      << R"(","pattern_type":"PREFIXED","principal":"nobody","host":"*","operation":"READ","permission":"ALLOW"}]})";
  AuthorizerUnderTest a(vt(), "", dir.str().c_str());
  EXPECT_EQ(a.created().status, KEEL_ERR_CORRUPT);
  EXPECT_NE(a.created().message.find("'" + dir.sub("acls.json") + "' is damaged"), std::string::npos)
      << a.created().message;
  EXPECT_NE(a.created().message.find("move it aside"), std::string::npos) << a.created().message;
}

// Restores the working directory when it goes.
class WorkingDirectory {
 public:
  explicit WorkingDirectory(const fs::path& dir) : before_(fs::current_path()) { fs::current_path(dir); }
  ~WorkingDirectory() { fs::current_path(before_); }

 private:
  fs::path before_;
};

TEST_F(AclAuthorizerTest, WithoutAStateDirNothingIsReadOrWritten) {
  // A damaged acls.json where a relative path would find it: not read (the
  // check passes), and not replaced by the binding created in memory.
  TempDir dir("keel-acl");
  const std::string damaged = "not json";
  std::ofstream(dir.sub("acls.json")) << damaged;
  WorkingDirectory in(dir.path());
  AuthorizerUnderTest a(vt(), "", nullptr);
  ASSERT_TRUE(a.ok()) << a.created().message;
  ASSERT_EQ(a.create_acl(topic_allow("t", "User:a", KEEL_ACL_OP_READ)).status, KEEL_OK);
  EXPECT_TRUE(a.can("User:a", KEEL_RESOURCE_TOPIC, "t", KEEL_ACL_OP_READ));
  EXPECT_EQ(a.remove(any_filter()).size(), 1u);
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir.path()))
    names.push_back(entry.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"acls.json"});
  std::ifstream in_file(dir.sub("acls.json"));
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in_file), {}), damaged);
}

TEST_F(AclAuthorizerTest, AnEmptyStateDirIsRefused) {
  AuthorizerUnderTest a(vt(), "", "");
  EXPECT_EQ(a.created().status, KEEL_ERR_INVALID_ARGUMENT);
}

TEST_F(AclAuthorizerTest, LockOutIsWarnedAbout) {
  LogCapture log;  // before the host, whose logger copies the sinks
  TempDir dir("keel-acl");
  {
    AuthorizerUnderTest a(vt(), "", dir.str().c_str());
    ASSERT_TRUE(a.ok()) << a.created().message;
  }
  EXPECT_EQ(log.count("every request is denied"), 1);
  AuthorizerUnderTest admin(vt(), R"(super_users = "User:admin")", dir.str().c_str());
  EXPECT_EQ(log.count("every request is denied"), 1);
  EXPECT_EQ(log.count("0 ACL bindings from '" + dir.sub("acls.json") + "', 1 super users"), 1);
}

// allow_everyone_if_no_acl_found leaves the cluster, and so the ACLs and
// the users, open until a binding names it: said at start.
TEST_F(AclAuthorizerTest, AnOpenClusterIsWarnedAbout) {
  LogCapture log;
  TempDir dir("keel-acl");
  const std::string open = "allow_everyone_if_no_acl_found = true";
  {
    AuthorizerUnderTest a(vt(), open, dir.str().c_str());
    ASSERT_TRUE(a.ok()) << a.created().message;
    EXPECT_EQ(log.count("no binding names the cluster"), 1);
    ASSERT_EQ(a.create_acl(c_binding(KEEL_RESOURCE_CLUSTER, "kafka-cluster", KEEL_PATTERN_LITERAL,
                                     "User:admin", "*", KEEL_ACL_OP_ALL, KEEL_ACL_PERMISSION_ALLOW))
                  .status,
              KEEL_OK);
  }
  AuthorizerUnderTest again(vt(), open, dir.str().c_str());
  EXPECT_EQ(log.count("no binding names the cluster"), 1) << "closed by the cluster binding";
}

// ---------------------------------------------------------------- the SDK's adapter

// An authorizer that allows everything, then throws when told to.
class Misbehaving final : public keel::sdk::Authorizer {
 public:
  Misbehaving(const keel::sdk::Host&, const keel::sdk::Config& config, const char* state_dir)
      : throw_in_authorize_(config.get_bool("throw", false)) {
    if (state_dir != nullptr && std::string(state_dir) == "fail") throw std::runtime_error("no state");
  }
  void authorize(const keel::sdk::AuthzSubject&, const keel::sdk::AuthzActions& actions,
                 keel::sdk::AuthzResults& results) override {
    for (size_t i = 0; i < actions.size(); ++i) results.set(i, true);
    results.set(actions.size() + 5, true);  // out of range: ignored
    if (throw_in_authorize_) throw keel::sdk::Error(KEEL_ERR_INTERNAL, "half way");
  }
  void create_acl(const AclBinding&) override { throw keel::sdk::Error(KEEL_ERR_IO, "disk on fire"); }
  std::vector<AclBinding> describe_acls(const keel::sdk::AclBindingFilter&) override {
    throw std::logic_error("not a keel error");
  }
  std::vector<AclBinding> delete_acls(const keel::sdk::AclBindingFilter&) override { return {}; }

 private:
  bool throw_in_authorize_;
};

TEST(AuthorizerAdapter, ExceptionsBecomeStatusesAndDenials) {
  const keel_authorizer_vtable* vt = keel::sdk::authorizer_vtable<Misbehaving>();
  {
    AuthorizerUnderTest failing(vt, "", "fail");
    EXPECT_EQ(failing.created().status, KEEL_ERR_INTERNAL);
    EXPECT_EQ(failing.created().message, "no state");
  }
  AuthorizerUnderTest allowing(vt, "", nullptr);
  ASSERT_TRUE(allowing.ok());
  const std::vector<keel_authz_action> two = {action(KEEL_RESOURCE_TOPIC, "t", KEEL_ACL_OP_READ),
                                              action(KEEL_RESOURCE_TOPIC, "u", KEEL_ACL_OP_READ)};
  EXPECT_EQ(allowing.authorize("User:a", "h", two),
            (std::vector<int32_t>{KEEL_AUTHZ_ALLOWED, KEEL_AUTHZ_ALLOWED}));
  // NULL host: read as "", still answered.
  EXPECT_EQ(allowing.authorize("User:a", nullptr, two),
            (std::vector<int32_t>{KEEL_AUTHZ_ALLOWED, KEEL_AUTHZ_ALLOWED}));
  Outcome o = allowing.create_acl(topic_allow("t", "User:a", KEEL_ACL_OP_READ));
  EXPECT_EQ(o.status, KEEL_ERR_IO);
  EXPECT_EQ(o.message, "disk on fire");
  allowing.select(nullptr, false, &o);
  EXPECT_EQ(o.status, KEEL_ERR_INVALID_ARGUMENT);
  const keel_acl_binding all = any_filter();
  allowing.select(&all, false, &o);
  EXPECT_EQ(o.status, KEEL_ERR_INTERNAL);
  EXPECT_EQ(o.message, "not a keel error");

  // Allowed, then thrown: every answer is a denial.
  AuthorizerUnderTest throwing(vt, "throw = true", nullptr);
  ASSERT_TRUE(throwing.ok());
  EXPECT_EQ(throwing.authorize("User:a", "h", two),
            (std::vector<int32_t>{KEEL_AUTHZ_DENIED, KEEL_AUTHZ_DENIED}));
  // A subject from a caller whose struct is smaller than 2.5's: not asked.
  keel_authz_subject small{offsetof(keel_authz_subject, listener), 0, "User:a", "h", nullptr};
  std::vector<int32_t> results(2, -1);
  vt->authorize(allowing.instance(), &small, two.data(), 2, sizeof(keel_authz_action), results.data());
  EXPECT_EQ(results, (std::vector<int32_t>{KEEL_AUTHZ_DENIED, KEEL_AUTHZ_DENIED}));
}

}  // namespace
