// The `acl` authorizer's bindings and Kafka's rules for them (AclAuthorizer):
// matching by resource pattern, principal, host and operation; DENY over
// ALLOW; implied DESCRIBE / DESCRIBE_CONFIGS; super users; what a resource no
// binding names gets; validation; DescribeAcls/DeleteAcls filters; the file.
// A randomized comparison with a scan of every binding (Kafka's rules written
// the plain way) checks the index against the rules on many cases at once.
#include "authorizer/acl/acl_store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <keel/plugin.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.hpp"

namespace keel::acl {
namespace {

namespace fs = std::filesystem;

using keel::test::TempDir;

using O = Operation;
using P = Permission;
using R = ResourceType;

AclBinding topic(std::string name, std::string principal, O op, P perm = P::kAllow,
                 PatternType pattern = PatternType::kLiteral, std::string host = "*") {
  return AclBinding{R::kTopic, std::move(name), pattern, std::move(principal), std::move(host), op, perm};
}
AclBinding prefixed(std::string name, std::string principal, O op, P perm = P::kAllow) {
  return topic(std::move(name), std::move(principal), op, perm, PatternType::kPrefixed);
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Runs `fn`, which must throw sdk::Error; returns it.
template <class Fn>
sdk::Error error_of(Fn&& fn) {
  try {
    fn();
  } catch (const sdk::Error& e) {
    return e;
  }
  ADD_FAILURE() << "no sdk::Error thrown";
  return sdk::Error(KEEL_OK, "");
}

class AclStoreTest : public ::testing::Test {
 protected:
  bool can(std::string_view principal, std::string_view name, O op, std::string_view host = "10.0.0.1",
           R type = R::kTopic) const {
    return store_.authorize(principal, host, type, name, op);
  }
  AclStore store_{"", {}};
};

// ---------------------------------------------------------------- matching

TEST_F(AclStoreTest, LiteralBindingMatchesExactlyItsName) {
  store_.add({topic("orders", "User:alice", O::kRead)});
  EXPECT_TRUE(can("User:alice", "orders", O::kRead));
  EXPECT_FALSE(can("User:alice", "orders2", O::kRead));
  EXPECT_FALSE(can("User:alice", "order", O::kRead));
  EXPECT_FALSE(can("User:alice", "ORDERS", O::kRead));
  EXPECT_FALSE(can("User:bob", "orders", O::kRead));
  EXPECT_FALSE(can("User:alice", "orders", O::kWrite));
  // The same name as a group is another resource.
  EXPECT_FALSE(can("User:alice", "orders", O::kRead, "10.0.0.1", R::kGroup));
}

TEST_F(AclStoreTest, PrefixedBindingMatchesNamesStartingWithIt) {
  store_.add({prefixed("team-a.", "User:alice", O::kWrite)});
  EXPECT_TRUE(can("User:alice", "team-a.orders", O::kWrite));
  EXPECT_TRUE(can("User:alice", "team-a.", O::kWrite));
  EXPECT_FALSE(can("User:alice", "team-a", O::kWrite));
  EXPECT_FALSE(can("User:alice", "team-b.orders", O::kWrite));
  EXPECT_FALSE(can("User:alice", "xteam-a.orders", O::kWrite));
}

TEST_F(AclStoreTest, PrefixesOfOneNameAllApply) {
  // Nested prefixes and near misses around them: every prefix of the name
  // must be found, whatever sorts between them.
  store_.add({prefixed("a", "User:p1", O::kRead), prefixed("ab", "User:p2", O::kRead),
              prefixed("abc", "User:p3", O::kRead), prefixed("abd", "User:p4", O::kRead),
              prefixed("abb", "User:p5", O::kRead), prefixed("abcdz", "User:p6", O::kRead),
              prefixed("ac", "User:p7", O::kRead)});
  for (const char* p : {"User:p1", "User:p2", "User:p3"}) EXPECT_TRUE(can(p, "abcde", O::kRead)) << p;
  for (const char* p : {"User:p4", "User:p5", "User:p6", "User:p7"})
    EXPECT_FALSE(can(p, "abcde", O::kRead)) << p;
  EXPECT_TRUE(can("User:p6", "abcdz", O::kRead));
  // The greatest prefix <= "abce" is "abcdz", which does not start it: the
  // walk must go on past it to "abc", "ab" and "a".
  for (const char* p : {"User:p1", "User:p2", "User:p3"}) EXPECT_TRUE(can(p, "abce", O::kRead)) << p;
  EXPECT_FALSE(can("User:p6", "abce", O::kRead));
}

TEST_F(AclStoreTest, LiteralStarMatchesEveryNameOfItsType) {
  store_.add({topic("*", "User:alice", O::kRead)});
  EXPECT_TRUE(can("User:alice", "orders", O::kRead));
  EXPECT_TRUE(can("User:alice", "*", O::kRead));
  EXPECT_FALSE(can("User:alice", "orders", O::kRead, "10.0.0.1", R::kGroup));
}

TEST_F(AclStoreTest, PrefixedStarIsOnlyAPrefix) {
  // "a*" is a prefix like any other: it matches "a*b", not "ab".
  store_.add({prefixed("a*", "User:alice", O::kRead)});
  EXPECT_TRUE(can("User:alice", "a*b", O::kRead));
  EXPECT_FALSE(can("User:alice", "ab", O::kRead));
}

TEST_F(AclStoreTest, WildcardPrincipalAndHost) {
  store_.add({topic("orders", "User:*", O::kRead),
              topic("audit", "User:alice", O::kRead, P::kAllow, PatternType::kLiteral, "10.0.0.7")});
  EXPECT_TRUE(can("User:alice", "orders", O::kRead));
  EXPECT_TRUE(can("User:anyone", "orders", O::kRead));
  EXPECT_TRUE(can("User:alice", "audit", O::kRead, "10.0.0.7"));
  EXPECT_FALSE(can("User:alice", "audit", O::kRead, "10.0.0.8"));
  store_.add({topic("audit", "User:alice", O::kWrite, P::kAllow, PatternType::kLiteral, "*")});
  EXPECT_TRUE(can("User:alice", "audit", O::kWrite, "10.0.0.8"));
  // A principal named "*" of another type is just a name, as in Kafka.
  store_.add({topic("logs", "Group:*", O::kRead)});
  EXPECT_FALSE(can("Group:ops", "logs", O::kRead));
  EXPECT_TRUE(can("Group:*", "logs", O::kRead));
}

// ---------------------------------------------------------------- deny, implications, ALL

TEST_F(AclStoreTest, DenyBeatsAllow) {
  store_.add({topic("orders", "User:*", O::kRead), topic("orders", "User:bob", O::kRead, P::kDeny)});
  EXPECT_TRUE(can("User:alice", "orders", O::kRead));
  EXPECT_FALSE(can("User:bob", "orders", O::kRead));
}

TEST_F(AclStoreTest, DenyOnAPrefixBeatsAllowOnALiteral) {
  store_.add({topic("secret.orders", "User:alice", O::kRead),
              prefixed("secret.", "User:alice", O::kRead, P::kDeny)});
  EXPECT_FALSE(can("User:alice", "secret.orders", O::kRead));
  store_.add({topic("public", "User:alice", O::kRead), topic("*", "User:*", O::kRead, P::kDeny)});
  EXPECT_FALSE(can("User:alice", "public", O::kRead));
}

TEST_F(AclStoreTest, DenyFromAHostOnly) {
  store_.add({topic("orders", "User:alice", O::kRead),
              topic("orders", "User:alice", O::kRead, P::kDeny, PatternType::kLiteral, "10.6.6.6")});
  EXPECT_TRUE(can("User:alice", "orders", O::kRead, "10.0.0.1"));
  EXPECT_FALSE(can("User:alice", "orders", O::kRead, "10.6.6.6"));
}

TEST_F(AclStoreTest, ImplicationsWidenAllowOnly) {
  store_.add({topic("r", "User:a", O::kRead), topic("w", "User:a", O::kWrite),
              topic("d", "User:a", O::kDelete), topic("al", "User:a", O::kAlter),
              topic("ac", "User:a", O::kAlterConfigs), topic("c", "User:a", O::kCreate)});
  for (const char* t : {"r", "w", "d", "al"}) EXPECT_TRUE(can("User:a", t, O::kDescribe)) << t;
  EXPECT_FALSE(can("User:a", "c", O::kDescribe));   // CREATE implies nothing
  EXPECT_FALSE(can("User:a", "ac", O::kDescribe));  // ALTER_CONFIGS: configs only
  EXPECT_TRUE(can("User:a", "ac", O::kDescribeConfigs));
  EXPECT_FALSE(can("User:a", "al", O::kDescribeConfigs));
  EXPECT_FALSE(can("User:a", "r", O::kWrite));  // implications run one way only
  store_.add({topic("dd", "User:a", O::kDescribe)});
  EXPECT_FALSE(can("User:a", "dd", O::kRead));

  // A DENY denies exactly its operation.
  store_.add({topic("both", "User:a", O::kDescribe), topic("both", "User:a", O::kRead, P::kDeny)});
  EXPECT_TRUE(can("User:a", "both", O::kDescribe));
  EXPECT_FALSE(can("User:a", "both", O::kRead));
  store_.add({topic("dc", "User:a", O::kDescribeConfigs), topic("dc", "User:a", O::kAlterConfigs, P::kDeny)});
  EXPECT_TRUE(can("User:a", "dc", O::kDescribeConfigs));
}

TEST_F(AclStoreTest, AllAllowsAndDeniesEveryOperation) {
  store_.add({topic("t", "User:a", O::kAll)});
  for (int op = static_cast<int>(O::kAll); op <= static_cast<int>(O::kIdempotentWrite); ++op) {
    EXPECT_TRUE(can("User:a", "t", static_cast<O>(op))) << to_string(static_cast<O>(op));
  }
  store_.add({topic("t", "User:a", O::kAll, P::kDeny)});
  for (int op = static_cast<int>(O::kAll); op <= static_cast<int>(O::kIdempotentWrite); ++op) {
    EXPECT_FALSE(can("User:a", "t", static_cast<O>(op))) << to_string(static_cast<O>(op));
  }
}

TEST_F(AclStoreTest, MalformedQuestionsAreDenied) {
  AclStore open("", {{"User:root"}, true});
  EXPECT_FALSE(open.authorize("User:a", "*", R::kAny, "t", O::kRead));
  EXPECT_FALSE(open.authorize("User:a", "*", R::kUnknown, "t", O::kRead));
  EXPECT_FALSE(open.authorize("User:a", "*", static_cast<R>(6), "t", O::kRead));
  EXPECT_FALSE(open.authorize("User:a", "*", R::kTopic, "t", O::kAny));
  EXPECT_FALSE(open.authorize("User:root", "*", R::kTopic, "t", O::kUnknown));
  EXPECT_FALSE(open.authorize("User:a", "*", R::kTopic, "t", static_cast<O>(13)));
  EXPECT_TRUE(open.authorize("User:a", "*", R::kTopic, "t", O::kRead));
}

// ---------------------------------------------------------------- super users, no ACL found

TEST(AclStoreOptions, SuperUsersAreAlwaysAllowed) {
  AclStore store("", {{"User:admin", "User:CN=ops,O=Example"}, false});
  store.add({topic("t", "User:admin", O::kAll, P::kDeny), topic("t", "User:*", O::kAll, P::kDeny)});
  EXPECT_TRUE(store.authorize("User:admin", "1.2.3.4", R::kTopic, "t", O::kWrite));
  EXPECT_TRUE(store.authorize("User:CN=ops,O=Example", "1.2.3.4", R::kCluster, "kafka-cluster", O::kAlter));
  EXPECT_FALSE(store.authorize("User:alice", "1.2.3.4", R::kTopic, "t", O::kWrite));
  EXPECT_FALSE(store.authorize("User:admin2", "1.2.3.4", R::kTopic, "u", O::kWrite));
}

TEST(AclStoreOptions, MalformedSuperUserIsRefused) {
  const sdk::Error e = error_of([] { AclStore("", {{"admin"}, false}); });
  EXPECT_EQ(e.code(), KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(e.what()).find("'admin'"), std::string::npos) << e.what();
}

TEST(AclStoreOptions, ResourceNoBindingNamesFollowsTheOption) {
  for (bool open : {false, true}) {
    AclStore store("", {{}, open});
    EXPECT_EQ(store.authorize("User:a", "h", R::kTopic, "t", O::kRead), open);
    // A binding for someone else on the resource names it: closed for others.
    store.add({topic("t", "User:b", O::kWrite)});
    EXPECT_FALSE(store.authorize("User:a", "h", R::kTopic, "t", O::kRead));
    // So does a prefixed or a wildcard one; a binding on another type or name does not.
    store.add({prefixed("p.", "User:b", O::kWrite),
               AclBinding{R::kGroup, "g", PatternType::kLiteral, "User:b", "*", O::kRead, P::kAllow}});
    EXPECT_FALSE(store.authorize("User:a", "h", R::kTopic, "p.x", O::kRead));
    EXPECT_EQ(store.authorize("User:a", "h", R::kTopic, "q", O::kRead), open);
    EXPECT_EQ(store.authorize("User:a", "h", R::kGroup, "t", O::kRead), open);
    store.add({AclBinding{R::kGroup, "*", PatternType::kLiteral, "User:b", "*", O::kRead, P::kDeny}});
    EXPECT_FALSE(store.authorize("User:a", "h", R::kGroup, "t", O::kRead));
    // Removing the last binding of a resource opens it again.
    store.remove(AclBindingFilter{.resource_name = "t"});
    EXPECT_EQ(store.authorize("User:a", "h", R::kTopic, "t", O::kRead), open);
  }
}

// A binding's host is compared to the client's address as text, so it is
// kept in the form transports write addresses in; anything that is not an
// address would never match and is refused.
TEST_F(AclStoreTest, HostsAreAddressesInOneForm) {
  EXPECT_EQ(canonical_host("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
  EXPECT_EQ(canonical_host("::ffff:10.0.0.7"), "10.0.0.7");
  EXPECT_EQ(canonical_host("10.0.0.7"), "10.0.0.7");
  EXPECT_EQ(canonical_host("*"), "*");
  for (const char* bad : {"10.0.0.*", "localhost", "10.0.0.7/24", "10.0.0", " 10.0.0.7", "2001:db8::g"}) {
    EXPECT_FALSE(canonical_host(bad)) << bad;
    const sdk::Error e = error_of(
        [&] { store_.add({topic("t", "User:a", O::kRead, P::kAllow, PatternType::kLiteral, bad)}); });
    EXPECT_EQ(e.code(), KEEL_ERR_INVALID_ARGUMENT) << bad;
    EXPECT_NE(std::string(e.what()).find("is not '*' or an IP address"), std::string::npos) << e.what();
  }
  // A DENY written in the long form applies to the client's short form.
  store_.add(
      {topic("orders", "User:alice", O::kRead),
       topic("orders", "User:alice", O::kRead, P::kDeny, PatternType::kLiteral, "2001:DB8:0:0:0:0:0:1"),
       topic("orders", "User:alice", O::kWrite, P::kDeny, PatternType::kLiteral, "::ffff:10.0.0.7")});
  EXPECT_FALSE(can("User:alice", "orders", O::kRead, "2001:db8::1"));
  EXPECT_TRUE(can("User:alice", "orders", O::kRead, "2001:db8::2"));
  EXPECT_FALSE(can("User:alice", "orders", O::kWrite, "10.0.0.7"));
  // Stored, listed and deleted in that form; a filter may use either.
  EXPECT_EQ(store_.describe({.host = "2001:db8::1"}).size(), 1u);
  EXPECT_EQ(store_.describe({.host = "2001:0db8:0000::1"}).size(), 1u);
  EXPECT_EQ(store_.remove({.host = "::ffff:10.0.0.7"}).size(), 1u);
}

// ------------------------------------------------- some resource (KIP-679)

// Whether `principal` may WRITE some topic (what InitProducerId asks).
TEST_F(AclStoreTest, SomeResourceNeedsAnAllowThatNoDenyCovers) {
  auto any = [&](std::string_view principal, O op = O::kWrite, std::string_view host = "10.0.0.1") {
    return store_.authorize_any(principal, host, R::kTopic, op);
  };
  EXPECT_FALSE(any("User:alice")) << "no binding at all";
  store_.add({topic("orders", "User:alice", O::kWrite)});
  EXPECT_TRUE(any("User:alice"));
  EXPECT_FALSE(any("User:bob"));
  EXPECT_FALSE(any("User:alice", O::kDelete)) << "WRITE does not grant DELETE";
  EXPECT_TRUE(any("User:alice", O::kDescribe)) << "WRITE implies DESCRIBE";
  // A DENY on the same literal covers it; on another name it does not.
  store_.add({topic("other", "User:alice", O::kWrite, P::kDeny)});
  EXPECT_TRUE(any("User:alice"));
  store_.add({topic("orders", "User:alice", O::kAll, P::kDeny)});
  EXPECT_FALSE(any("User:alice"));
  // An ALLOW under a prefix, covered by a DENY on a shorter prefix.
  store_.add({prefixed("pay-eu-", "User:alice", O::kWrite)});
  EXPECT_TRUE(any("User:alice"));
  store_.add({prefixed("pay-", "User:*", O::kWrite, P::kDeny)});
  EXPECT_FALSE(any("User:alice"));
  // A binding from one host only counts for that host.
  store_.add({topic("logs", "User:alice", O::kWrite, P::kAllow, PatternType::kLiteral, "10.9.9.9")});
  EXPECT_FALSE(any("User:alice"));
  EXPECT_TRUE(any("User:alice", O::kWrite, "10.9.9.9"));
  // A DENY on the literal "*" covers every topic.
  store_.add({topic("*", "User:alice", O::kWrite, P::kDeny)});
  EXPECT_FALSE(any("User:alice", O::kWrite, "10.9.9.9"));
}

TEST(AclStoreOptions, SomeResourceForSuperUsersAndOpenStores) {
  AclStore closed("", {{"User:admin"}, false});
  EXPECT_TRUE(closed.authorize_any("User:admin", "h", R::kTopic, O::kWrite));
  EXPECT_FALSE(closed.authorize_any("User:a", "h", R::kTopic, O::kWrite));
  EXPECT_FALSE(closed.authorize_any("User:admin", "h", R::kAny, O::kWrite)) << "not a question";
  AclStore open("", {{}, true});
  EXPECT_TRUE(open.authorize_any("User:a", "h", R::kTopic, O::kWrite)) << "no binding of the type: open";
  open.add({topic("t", "User:b", O::kRead)});
  EXPECT_FALSE(open.authorize_any("User:a", "h", R::kTopic, O::kWrite));
}

// ---------------------------------------------------------------- validation

TEST_F(AclStoreTest, InvalidBindingsAreRefusedWithAReason) {
  const AclBinding good = topic("t", "User:a", O::kRead);
  struct Case {
    AclBinding b;
    const char* says;
  };
  std::vector<Case> cases;
  auto with = [&](auto change, const char* says) {
    AclBinding b = good;
    change(b);
    cases.push_back({b, says});
  };
  with([](AclBinding& b) { b.resource_type = R::kAny; }, "resource type ANY");
  with([](AclBinding& b) { b.resource_type = R::kUnknown; }, "resource type UNKNOWN");
  with([](AclBinding& b) { b.resource_type = static_cast<R>(6); }, "code 6");
  with([](AclBinding& b) { b.pattern_type = PatternType::kMatch; }, "pattern type MATCH");
  with([](AclBinding& b) { b.pattern_type = PatternType::kAny; }, "pattern type ANY");
  with([](AclBinding& b) { b.resource_name = ""; }, "resource name is empty");
  with(
      [](AclBinding& b) {
        b.pattern_type = PatternType::kPrefixed;
        b.resource_name = "*";
      },
      "PREFIXED pattern may not be '*'");
  with(
      [](AclBinding& b) {
        b.resource_type = R::kCluster;
        b.resource_name = "other";
      },
      "kafka-cluster");
  with(
      [](AclBinding& b) {
        b.resource_type = R::kCluster;
        b.resource_name = "kafka-cluster";
        b.pattern_type = PatternType::kPrefixed;
      },
      "kafka-cluster");
  with([](AclBinding& b) { b.principal = "alice"; }, "principal 'alice'");
  with([](AclBinding& b) { b.principal = ":alice"; }, "Type:name");
  with([](AclBinding& b) { b.principal = "User:"; }, "Type:name");
  with([](AclBinding& b) { b.host = ""; }, "host is empty");
  with([](AclBinding& b) { b.operation = O::kAny; }, "operation ANY");
  with([](AclBinding& b) { b.operation = O::kUnknown; }, "operation UNKNOWN");
  with([](AclBinding& b) { b.permission = P::kAny; }, "permission ANY");
  with([](AclBinding& b) { b.permission = P::kUnknown; }, "permission UNKNOWN");
  with([](AclBinding& b) { b.resource_name = "bad\xff"; }, "not UTF-8");
  for (const Case& c : cases) {
    // Given with a valid one first: the whole call is refused.
    const sdk::Error e = error_of([&] { store_.add({topic("ok", "User:a", O::kRead), c.b}); });
    EXPECT_EQ(e.code(), KEEL_ERR_INVALID_ARGUMENT) << c.says;
    EXPECT_NE(std::string(e.what()).find(c.says), std::string::npos) << e.what();
    EXPECT_EQ(store_.size(), 0u) << c.says;
  }
  // The valid ones the cases were made from.
  EXPECT_EQ(store_.add({good, AclBinding{R::kCluster, "kafka-cluster", PatternType::kLiteral, "User:a", "*",
                                         O::kAlter, P::kAllow}}),
            2u);
  EXPECT_EQ(store_.add({AclBinding{R::kTransactionalId, "tx-", PatternType::kPrefixed, "User:CN=a,O=b:c",
                                   "10.0.0.1", O::kWrite, P::kDeny}}),
            1u);
}

TEST_F(AclStoreTest, DuplicatesAreStoredOnce) {
  const AclBinding b = topic("t", "User:a", O::kRead);
  EXPECT_EQ(store_.add({b, b}), 1u);
  EXPECT_EQ(store_.add({b}), 0u);
  EXPECT_EQ(store_.add({b, topic("t", "User:a", O::kWrite)}), 1u);
  EXPECT_EQ(store_.size(), 2u);
  EXPECT_EQ(store_.describe({}).size(), 2u);
}

// ---------------------------------------------------------------- filters

class AclFilterTest : public AclStoreTest {
 protected:
  void SetUp() override {
    store_.add({topic("orders", "User:alice", O::kRead), topic("orders", "User:bob", O::kWrite, P::kDeny),
                topic("*", "User:*", O::kDescribe), prefixed("ord", "User:alice", O::kWrite),
                prefixed("orders-eu", "User:carol", O::kRead), topic("payments", "User:alice", O::kRead),
                AclBinding{R::kGroup, "orders", PatternType::kLiteral, "User:alice", "10.0.0.1", O::kRead,
                           P::kAllow}});
  }
  std::set<std::string> names(const std::vector<AclBinding>& bs) {
    std::set<std::string> out;
    for (const AclBinding& b : bs) out.insert(to_string(b));
    return out;
  }
};

TEST_F(AclFilterTest, AnyFilterSelectsEverythingInOrder) {
  const std::vector<AclBinding> all = store_.describe({});
  ASSERT_EQ(all.size(), 7u);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
}

TEST_F(AclFilterTest, FieldsSelectExactly) {
  EXPECT_EQ(names(store_.describe({.resource_type = R::kGroup})),
            names({AclBinding{R::kGroup, "orders", PatternType::kLiteral, "User:alice", "10.0.0.1", O::kRead,
                              P::kAllow}}));
  // ANY pattern with a name: that exact name, either pattern type.
  EXPECT_EQ(
      names(store_.describe({.resource_type = R::kTopic, .resource_name = "orders"})),
      names({topic("orders", "User:alice", O::kRead), topic("orders", "User:bob", O::kWrite, P::kDeny)}));
  EXPECT_EQ(names(store_.describe({.resource_name = "ord", .pattern_type = PatternType::kPrefixed})),
            names({prefixed("ord", "User:alice", O::kWrite)}));
  EXPECT_TRUE(store_.describe({.resource_name = "ord", .pattern_type = PatternType::kLiteral}).empty());
  // A principal filter is exact: User:alice does not select User:* bindings.
  EXPECT_EQ(store_.describe({.resource_type = R::kTopic, .principal = "User:alice"}).size(), 3u);
  EXPECT_EQ(store_.describe({.principal = "User:*"}).size(), 1u);
  EXPECT_EQ(store_.describe({.host = "10.0.0.1"}).size(), 1u);
  EXPECT_EQ(store_.describe({.operation = O::kWrite}).size(), 2u);
  EXPECT_EQ(store_.describe({.permission = P::kDeny}).size(), 1u);
  EXPECT_EQ(store_.describe({.operation = O::kAll}).size(), 0u);
}

TEST_F(AclFilterTest, MatchSelectsWhatAppliesToAName) {
  EXPECT_EQ(
      names(store_.describe(
          {.resource_type = R::kTopic, .resource_name = "orders-eu-1", .pattern_type = PatternType::kMatch})),
      names({topic("*", "User:*", O::kDescribe), prefixed("ord", "User:alice", O::kWrite),
             prefixed("orders-eu", "User:carol", O::kRead)}));
  EXPECT_EQ(names(store_.describe({.resource_name = "orders", .pattern_type = PatternType::kMatch})),
            names({topic("orders", "User:alice", O::kRead), topic("orders", "User:bob", O::kWrite, P::kDeny),
                   topic("*", "User:*", O::kDescribe), prefixed("ord", "User:alice", O::kWrite),
                   AclBinding{R::kGroup, "orders", PatternType::kLiteral, "User:alice", "10.0.0.1", O::kRead,
                              P::kAllow}}));
  // MATCH without a name: every pattern type.
  EXPECT_EQ(store_.describe({.pattern_type = PatternType::kMatch}).size(), 7u);
}

TEST_F(AclFilterTest, RemoveTakesWhatTheFilterSelects) {
  const std::vector<AclBinding> gone = store_.remove(
      {.resource_name = "orders-eu-1", .pattern_type = PatternType::kMatch, .principal = "User:alice"});
  EXPECT_EQ(names(gone), names({prefixed("ord", "User:alice", O::kWrite)}));
  EXPECT_EQ(store_.size(), 6u);
  EXPECT_FALSE(can("User:alice", "ordx", O::kWrite));
  EXPECT_TRUE(store_.remove({.principal = "User:nobody"}).empty());
  EXPECT_EQ(store_.remove({.permission = P::kDeny}).size(), 1u);
  EXPECT_TRUE(can("User:bob", "orders", O::kDescribe));  // User:* DESCRIBE on "*"; bob's DENY WRITE gone
  EXPECT_EQ(store_.remove({}).size(), 5u);
  EXPECT_EQ(store_.size(), 0u);
  EXPECT_FALSE(can("User:alice", "orders", O::kRead));
}

TEST_F(AclFilterTest, UnknownFilterFieldsAreRefused) {
  for (const AclBindingFilter& f :
       {AclBindingFilter{.resource_type = R::kUnknown},
        AclBindingFilter{.pattern_type = PatternType::kUnknown}, AclBindingFilter{.operation = O::kUnknown},
        AclBindingFilter{.permission = P::kUnknown}, AclBindingFilter{.operation = static_cast<O>(40)}}) {
    EXPECT_EQ(error_of([&] { store_.describe(f); }).code(), KEEL_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(error_of([&] { store_.remove(f); }).code(), KEEL_ERR_INVALID_ARGUMENT);
  }
  EXPECT_EQ(store_.size(), 7u);
}

// ---------------------------------------------------------------- names

TEST(AclNames, RoundTripAndIgnoreCase) {
  for (int v = 0; v <= 5; ++v)
    EXPECT_EQ(parse_resource_type(to_string(static_cast<R>(v))), static_cast<R>(v));
  for (int v = 0; v <= 4; ++v) {
    EXPECT_EQ(parse_pattern_type(to_string(static_cast<PatternType>(v))), static_cast<PatternType>(v));
  }
  for (int v = 0; v <= 12; ++v) EXPECT_EQ(parse_operation(to_string(static_cast<O>(v))), static_cast<O>(v));
  for (int v = 0; v <= 3; ++v) EXPECT_EQ(parse_permission(to_string(static_cast<P>(v))), static_cast<P>(v));
  EXPECT_EQ(to_string(R::kTransactionalId), "TRANSACTIONAL_ID");
  EXPECT_EQ(to_string(O::kDescribeConfigs), "DESCRIBE_CONFIGS");
  EXPECT_EQ(to_string(static_cast<O>(99)), "UNKNOWN");
  EXPECT_EQ(parse_operation("idempotent_write"), O::kIdempotentWrite);
  EXPECT_EQ(parse_pattern_type("Prefixed"), PatternType::kPrefixed);
  EXPECT_EQ(parse_operation("READS"), std::nullopt);
  EXPECT_EQ(parse_permission(""), std::nullopt);
  EXPECT_EQ(to_string(topic("orders", "User:alice", O::kRead)),
            "ALLOW User:alice from host * to READ on TOPIC LITERAL 'orders'");
}

// ---------------------------------------------------------------- the file

TEST(AclStoreFile, BindingsSurviveANewStore) {
  TempDir dir;
  const std::string path = dir.sub("acls.json");
  {
    AclStore store(path, {});
    EXPECT_FALSE(fs::exists(path));  // nothing written until there is something to write
    store.add({topic("orders", "User:alice", O::kRead),
               prefixed("team-", "User:CN=bob,O=Example", O::kWrite, P::kDeny),
               AclBinding{R::kCluster, "kafka-cluster", PatternType::kLiteral, "User:ops", "10.0.0.1",
                          O::kIdempotentWrite, P::kAllow},
               topic("caf\xc3\xa9", "User:\"quoted\"", O::kAll)});
    store.remove({.resource_name = "orders"});
    store.add({topic("payments", "User:alice", O::kDescribeConfigs)});
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  AclStore again(path, {});
  EXPECT_EQ(again.size(), 4u);
  EXPECT_FALSE(again.authorize("User:alice", "h", R::kTopic, "orders", O::kRead));
  EXPECT_TRUE(again.authorize("User:alice", "h", R::kTopic, "payments", O::kDescribeConfigs));
  EXPECT_TRUE(again.authorize("User:ops", "10.0.0.1", R::kCluster, "kafka-cluster", O::kIdempotentWrite));
  EXPECT_TRUE(again.authorize("User:\"quoted\"", "h", R::kTopic, "caf\xc3\xa9", O::kWrite));
  const std::vector<AclBinding> team = again.describe({.resource_name = "team-"});
  ASSERT_EQ(team.size(), 1u);
  EXPECT_EQ(team[0], prefixed("team-", "User:CN=bob,O=Example", O::kWrite, P::kDeny));

  // The file is the documented format.
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"version\": 1"), std::string::npos) << text;
  EXPECT_NE(text.find("\"pattern_type\": \"PREFIXED\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"operation\": \"IDEMPOTENT_WRITE\""), std::string::npos) << text;
}

TEST(AclStoreFile, HandWrittenFileIsRead) {
  TempDir dir;
  const std::string path = dir.sub("acls.json");
  write_text(path, R"({"version":1,"acls":[
    {"resource_type":"TOPIC","resource_name":"orders","pattern_type":"LITERAL","principal":"User:alice","host":"*","operation":"READ","permission":"ALLOW"},
    {"resource_type":"topic","resource_name":"orders","pattern_type":"literal","principal":"User:alice","host":"*","operation":"read","permission":"allow"}]})");
  AclStore store(path, {});
  EXPECT_EQ(store.size(), 1u);  // the same binding twice, once by lower-case names
  EXPECT_TRUE(store.authorize("User:alice", "h", R::kTopic, "orders", O::kRead));
}

TEST(AclStoreFile, DamagedFileIsRefusedNamingIt) {
  TempDir dir;
  const std::string path = dir.sub("acls.json");
  const std::string acl = R"("resource_type":"TOPIC","resource_name":"t","pattern_type":"LITERAL",)"
                          R"("principal":"User:a","host":"*")";
  struct Case {
    std::string text;
    const char* says;
  };
  const std::vector<Case> cases = {
      {"", "not JSON"},
      {"{\"version\":1,\"acls\":[", "not JSON"},
      {"[1,2]", "not a JSON object"},
      {"{\"acls\":[]}", "no integer \"version\""},
      {"{\"version\":2,\"acls\":[]}", "version 2 is not 1"},
      {"{\"version\":1}", "no \"acls\" array"},
      {"{\"version\":1,\"acls\":[7]}", "acls[0] is not an object"},
      {"{\"version\":1,\"acls\":[{" + acl + ",\"operation\":\"READ\",\"permission\":\"MAYBE\"}]}",
       "acls[0]: \"permission\" is 'MAYBE', not a known name"},
      {"{\"version\":1,\"acls\":[{" + acl + ",\"operation\":\"READ\"}]}", "acls[0] has no \"permission\""},
      {"{\"version\":1,\"acls\":[{" + acl + ",\"operation\":\"READ\",\"permission\":\"ALLOW\"},{" + acl +
           ",\"operation\":\"ANY\",\"permission\":\"ALLOW\"}]}",
       "acls[1]"},
      {"{\"version\":1,\"acls\":[{" + acl + ",\"operation\":3,\"permission\":\"ALLOW\"}]}",
       "\"operation\" is not a string"},
  };
  for (const Case& c : cases) {
    write_text(path, c.text);
    const sdk::Error e = error_of([&] { AclStore(path, {}); });
    EXPECT_EQ(e.code(), KEEL_ERR_CORRUPT) << c.text;
    const std::string what = e.what();
    EXPECT_NE(what.find("'" + path + "' is damaged"), std::string::npos) << what;
    EXPECT_NE(what.find(c.says), std::string::npos) << what;
    EXPECT_NE(what.find("restore it from a backup, or move it aside to start with no ACLs"),
              std::string::npos)
        << what;
  }
}

TEST(AclStoreFile, WriteFailureChangesNothing) {
  TempDir dir;
  // The file's directory is missing: the temporary file cannot be created.
  AclStore store(dir.sub("missing/acls.json"), {});
  const sdk::Error e = error_of([&] { store.add({topic("t", "User:a", O::kRead)}); });
  EXPECT_EQ(e.code(), KEEL_ERR_IO);
  EXPECT_NE(std::string(e.what()).find("missing/acls.json"), std::string::npos) << e.what();
  EXPECT_EQ(store.size(), 0u);
  EXPECT_FALSE(store.authorize("User:a", "h", R::kTopic, "t", O::kRead));
}

TEST(AclStoreFile, UnreadableFileIsAnIoError) {
  TempDir dir;
  // A directory where the file should be: open works, read fails (EISDIR).
  fs::create_directory(dir.sub("acls.json"));
  EXPECT_EQ(error_of([&] { AclStore(dir.sub("acls.json"), {}); }).code(), KEEL_ERR_IO);
}

// ---------------------------------------------------------------- threads

TEST(AclStoreThreads, ChecksRunWhileBindingsChange) {
  AclStore store("", {});
  store.add({topic("stable", "User:a", O::kRead), prefixed("deny.", "User:a", O::kRead, P::kDeny),
             topic("deny.x", "User:a", O::kRead)});
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::atomic<int> flipped{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      bool seen_late = false;
      while (!stop.load(std::memory_order_relaxed)) {
        // Answers the writer never changes.
        if (!store.authorize("User:a", "h", R::kTopic, "stable", O::kRead)) ++wrong;
        if (store.authorize("User:a", "h", R::kTopic, "deny.x", O::kRead)) ++wrong;
        if (store.authorize("User:b", "h", R::kTopic, "stable", O::kRead)) ++wrong;
        // One the writer opens once, and never closes: no going back.
        const bool late = store.authorize("User:a", "h", R::kTopic, "late", O::kWrite);
        if (seen_late && !late) ++wrong;
        if (late && !seen_late) ++flipped;
        seen_late = seen_late || late;
      }
    });
  }
  for (int i = 0; i < 2000; ++i) {
    const std::string name = "other-" + std::to_string(i);
    store.add({topic(name, "User:a", O::kRead), prefixed(name + ".", "User:*", O::kWrite, P::kDeny)});
    if (i == 1000) store.add({topic("late", "User:a", O::kWrite)});
    if (i % 3 == 0) store.remove({.resource_name = name});
  }
  stop = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_TRUE(store.authorize("User:a", "h", R::kTopic, "late", O::kWrite));
  EXPECT_LE(flipped.load(), 4);
  // Each removal took the literal binding only (a name filter is exact).
  EXPECT_EQ(store.size(), 3u + 1u + 2000u * 2u - 667u);
}

// ---------------------------------------------------------------- against a plain scan

// Kafka's AclAuthorizer.authorizeAction over a plain list.
bool reference_authorize(const std::vector<AclBinding>& all, const AclStore::Options& options,
                         const std::string& principal, const std::string& host, R type,
                         const std::string& name, O op, bool* named = nullptr) {
  if (options.super_users.count(principal) != 0) return true;
  bool found = false, allowed = false, denied = false;
  std::set<O> allow_ops = {op};
  if (op == O::kDescribe) allow_ops = {O::kDescribe, O::kRead, O::kWrite, O::kDelete, O::kAlter};
  if (op == O::kDescribeConfigs) allow_ops = {O::kDescribeConfigs, O::kAlterConfigs};
  for (const AclBinding& b : all) {
    if (b.resource_type != type) continue;
    const bool applies = b.pattern_type == PatternType::kLiteral
                             ? (b.resource_name == name || b.resource_name == "*")
                             : name.starts_with(b.resource_name);
    if (!applies) continue;
    found = true;
    if (b.principal != principal && b.principal != "User:*") continue;
    if (b.host != host && b.host != "*") continue;
    if (b.permission == P::kDeny && (b.operation == op || b.operation == O::kAll)) denied = true;
    if (b.permission == P::kAllow && (allow_ops.count(b.operation) != 0 || b.operation == O::kAll))
      allowed = true;
  }
  if (named != nullptr) *named = found;
  if (!found) return options.allow_everyone_if_no_acl_found;
  return allowed && !denied;
}

class Random {
 public:
  explicit Random(uint32_t seed) : rng_(seed) {}
  size_t below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[below(v.size())];
  }
  // Short names over a small alphabet, so that names share prefixes a lot.
  std::string name() {
    std::string s;
    const size_t n = 1 + below(chance(0.9) ? 4 : 10);
    for (size_t i = 0; i < n; ++i) s += "ab*c"[below(4)];
    return s;
  }

 private:
  std::mt19937 rng_;
};

const std::vector<std::string> kPrincipals = {"User:alice", "User:bob", "User:*", "User:carol", "Group:x"};
const std::vector<std::string> kAskers = {"User:alice", "User:bob", "User:*",
                                          "User:carol", "Group:x",  "User:dave"};
const std::vector<std::string> kHosts = {"*", "10.0.0.1", "10.0.0.2"};
const std::vector<std::string> kAskingHosts = {"10.0.0.1", "10.0.0.2", "10.0.0.3", "*"};
const std::vector<R> kTypes = {R::kTopic, R::kGroup, R::kCluster};

AclBinding random_binding(Random& r) {
  AclBinding b;
  b.resource_type = r.pick(kTypes);
  b.pattern_type = r.chance(0.5) ? PatternType::kLiteral : PatternType::kPrefixed;
  b.resource_name = r.chance(0.05) ? "*" : r.name();
  if (b.resource_type == R::kCluster) {
    b.pattern_type = PatternType::kLiteral;
    b.resource_name = "kafka-cluster";
  }
  if (b.pattern_type == PatternType::kPrefixed && b.resource_name == "*") b.resource_name = "*a";
  b.principal = r.pick(kPrincipals);
  b.host = r.pick(kHosts);
  b.operation = static_cast<O>(2 + r.below(11));  // ALL .. IDEMPOTENT_WRITE
  b.permission = r.chance(0.15) ? P::kDeny : P::kAllow;
  return b;
}

AclBindingFilter random_filter(Random& r, const std::vector<AclBinding>& all) {
  AclBindingFilter f;
  const AclBinding like = all.empty() ? random_binding(r) : r.pick(all);
  if (r.chance(0.5)) f.resource_type = like.resource_type;
  if (r.chance(0.6)) f.resource_name = r.chance(0.7) ? like.resource_name : r.name();
  const std::vector<PatternType> patterns = {PatternType::kAny, PatternType::kMatch, PatternType::kLiteral,
                                             PatternType::kPrefixed};
  f.pattern_type = r.pick(patterns);
  if (r.chance(0.3)) f.principal = like.principal;
  if (r.chance(0.2)) f.host = like.host;
  if (r.chance(0.3)) f.operation = like.operation;
  if (r.chance(0.3)) f.permission = like.permission;
  return f;
}

std::vector<AclBinding> reference_select(const std::vector<AclBinding>& all, const AclBindingFilter& f) {
  // Kafka's ResourcePatternFilter / AccessControlEntryFilter, field by field.
  std::vector<AclBinding> out;
  for (const AclBinding& b : all) {
    if (f.resource_type != R::kAny && f.resource_type != b.resource_type) continue;
    if (f.pattern_type == PatternType::kLiteral || f.pattern_type == PatternType::kPrefixed) {
      if (f.pattern_type != b.pattern_type) continue;
    }
    if (f.resource_name) {
      if (f.pattern_type == PatternType::kMatch) {
        const bool applies = b.pattern_type == PatternType::kLiteral
                                 ? (b.resource_name == *f.resource_name || b.resource_name == "*")
                                 : f.resource_name->starts_with(b.resource_name);
        if (!applies) continue;
      } else if (b.resource_name != *f.resource_name) {
        continue;
      }
    }
    if (f.principal && *f.principal != b.principal) continue;
    if (f.host && *f.host != b.host) continue;
    if (f.operation != O::kAny && f.operation != b.operation) continue;
    if (f.permission != P::kAny && f.permission != b.permission) continue;
    out.push_back(b);
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(AclStoreRandomized, AgreesWithAPlainScan) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Random r(seed);
    const AclStore::Options closed{{}, false};
    const AclStore::Options open{{"User:carol"}, true};
    AclStore closed_store("", closed);
    AclStore open_store("", open);
    std::set<AclBinding> reference;
    size_t queries = 0, allowed = 0, denied = 0, found_none = 0;

    auto check_queries = [&](size_t count) {
      const std::vector<AclBinding> all(reference.begin(), reference.end());
      for (size_t i = 0; i < count; ++i) {
        const std::string& principal = r.pick(kAskers);
        const std::string& host = r.pick(kAskingHosts);
        const R type = r.pick(kTypes);
        std::string name = type == R::kCluster && r.chance(0.8) ? "kafka-cluster" : r.name();
        if (!all.empty() && r.chance(0.3)) name = r.pick(all).resource_name + (r.chance(0.5) ? r.name() : "");
        const O op = static_cast<O>(2 + r.below(11));
        bool named = false;
        const bool want_closed = reference_authorize(all, closed, principal, host, type, name, op, &named);
        const bool want_open = reference_authorize(all, open, principal, host, type, name, op);
        ASSERT_EQ(closed_store.authorize(principal, host, type, name, op), want_closed)
            << principal << " " << host << " " << to_string(type) << " '" << name << "' " << to_string(op);
        ASSERT_EQ(open_store.authorize(principal, host, type, name, op), want_open)
            << principal << " " << host << " " << to_string(type) << " '" << name << "' " << to_string(op);
        ++queries;
        allowed += want_closed ? 1 : 0;
        denied += named && !want_closed ? 1 : 0;
        found_none += named ? 0 : 1;
      }
    };

    // Grow to a few thousand bindings in batches (with repeats), checking on the way.
    auto grow = [&](size_t target) {
      while (reference.size() < target) {
        std::vector<AclBinding> batch;
        const size_t n = 1 + r.below(40);
        for (size_t i = 0; i < n; ++i) {
          batch.push_back(!reference.empty() && r.chance(0.1) ? *reference.begin() : random_binding(r));
          if (r.chance(0.1)) batch.push_back(batch.back());
        }
        size_t fresh = 0;
        for (const AclBinding& b : batch) fresh += reference.insert(b).second ? 1 : 0;
        ASSERT_EQ(closed_store.add(batch), fresh);
        ASSERT_EQ(open_store.add(batch), fresh);
        check_queries(50);
      }
    };
    grow(3000);
    ASSERT_EQ(closed_store.size(), reference.size());

    // Filters, describing and then removing (and growing back), with checks between.
    for (int round = 0; round < 300; ++round) {
      const std::vector<AclBinding> all(reference.begin(), reference.end());
      const AclBindingFilter f = random_filter(r, all);
      const std::vector<AclBinding> want = reference_select(all, f);
      ASSERT_EQ(closed_store.describe(f), want);
      if (round % 3 == 0) {
        ASSERT_EQ(closed_store.remove(f), want);
        ASSERT_EQ(open_store.remove(f), want);
        for (const AclBinding& b : want) reference.erase(b);
        ASSERT_EQ(closed_store.size(), reference.size());
        check_queries(100);
        grow(3000);
      }
    }
    check_queries(5000);
    // The cases must have covered every kind of answer: allowed, refused by
    // a binding, and decided by the "no binding names it" rule.
    EXPECT_GT(allowed, queries / 20);
    EXPECT_GT(denied, queries / 20);
    EXPECT_GT(found_none, queries / 20);
  }
}

TEST(AclStoreRandomized, ChurnOnAFewNames) {
  // Bindings on a handful of names, added and removed over and over: the
  // tables of patterns stay small, so their slots fill, wrap around and are
  // emptied again in every order.
  for (int name_count : {6, 12, 24}) {
    SCOPED_TRACE(std::to_string(name_count) + " names");
    Random r(11);
    std::vector<std::string> names;
    for (int i = 0; i < name_count; ++i) names.push_back(r.name());
    AclStore store("", {});
    std::set<AclBinding> reference;
    for (int step = 0; step < 10000; ++step) {
      const AclBinding b{R::kTopic,
                         r.pick(names),
                         r.chance(0.5) ? PatternType::kLiteral : PatternType::kPrefixed,
                         r.chance(0.5) ? "User:a" : "User:b",
                         "*",
                         O::kRead,
                         r.chance(0.3) ? P::kDeny : P::kAllow};
      if (b.pattern_type == PatternType::kPrefixed && b.resource_name == "*") continue;
      if (reference.erase(b) != 0) {
        const AclBindingFilter exact{b.resource_type, b.resource_name, b.pattern_type, b.principal,
                                     b.host,          b.operation,     b.permission};
        ASSERT_EQ(store.remove(exact), std::vector<AclBinding>{b}) << to_string(b);
      } else {
        ASSERT_EQ(store.add({b}), 1u) << to_string(b);
        reference.insert(b);
      }
      const std::vector<AclBinding> all(reference.begin(), reference.end());
      for (int q = 0; q < 4; ++q) {
        const std::string principal = r.chance(0.5) ? "User:a" : "User:b";
        const std::string name = r.pick(names) + (r.chance(0.3) ? r.name() : "");
        ASSERT_EQ(store.authorize(principal, "h", R::kTopic, name, O::kRead),
                  reference_authorize(all, {}, principal, "h", R::kTopic, name, O::kRead))
            << principal << " '" << name << "' at step " << step;
      }
    }
    EXPECT_EQ(store.size(), reference.size());
  }
}

}  // namespace
}  // namespace keel::acl
