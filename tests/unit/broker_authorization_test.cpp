// The kernel's side of authorization (ABI 2.5), on a real broker with the
// built-in `acl` authorizer: the [authorizer] section, the broker API's
// authorize and ACL calls, the audit of denials (metric and log), the rules
// surviving a restart, and what happens without an authorizer (everything
// allowed, the ACL calls UNSUPPORTED).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <keel/plugin.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "broker.hpp"
#include "common/error.hpp"
#include "config/config.hpp"
#include "support/log_capture.hpp"
#include "support/temp_dir.hpp"

namespace {

using ::testing::HasSubstr;

std::string config_text(const std::string& data_dir, const std::string& authorizer) {
  return "[broker]\ndata_dir = \"" + data_dir + "\"\nplugin_path = [\"" KEEL_TEST_PLUGIN_DIR "\"]\n" +
         authorizer;
}

const char* const kAcl = "[authorizer]\nstrategy = \"acl\"\n[authorizer.acl]\nsuper_users = \"User:admin\"\n";

keel_acl_binding binding(int8_t type, const char* name, int8_t pattern, const char* principal, int8_t op,
                         int8_t permission) {
  keel_acl_binding b{};
  b.struct_size = sizeof b;
  b.resource_type = type;
  b.pattern_type = pattern;
  b.operation = op;
  b.permission = permission;
  b.resource_name = name;
  b.principal = principal;
  b.host = "*";
  return b;
}

// A filter that selects everything.
keel_acl_binding match_all_filter() {
  keel_acl_binding f{};
  f.struct_size = sizeof f;
  f.resource_type = KEEL_RESOURCE_ANY;
  f.pattern_type = KEEL_PATTERN_ANY;
  f.operation = KEEL_ACL_OP_ANY;
  f.permission = KEEL_ACL_PERMISSION_ANY;
  return f;
}

class BrokerAuthorizationTest : public ::testing::Test {
 protected:
  void start(const std::string& authorizer) {
    broker_.reset();
    broker_ = std::make_unique<keel::Broker>(
        keel::parse_config(config_text(dir_.sub("data"), authorizer), "t.toml"));
    broker_->start();
    api_ = broker_->api();
  }

  // Whether `principal` may do `op` on the resource, asked as a transport does.
  bool may(const std::string& principal, int8_t type, int8_t op, const std::string& name, bool log = true) {
    keel_authz_subject s{};
    s.struct_size = sizeof s;
    s.principal = principal.c_str();
    s.host = "127.0.0.1";
    s.listener = "PLAINTEXT";
    keel_authz_action a{};
    a.struct_size = sizeof a;
    a.resource_type = type;
    a.operation = op;
    a.resource_name = name.data();
    a.resource_name_len = name.size();
    int32_t result = -1;
    api_->authorize(api_->ctx, &s, &a, 1, sizeof a, log ? 1 : 0, &result);
    EXPECT_TRUE(result == KEEL_AUTHZ_ALLOWED || result == KEEL_AUTHZ_DENIED) << result;
    return result == KEEL_AUTHZ_ALLOWED;
  }

  keel_status create(const keel_acl_binding& b, std::string* message = nullptr) {
    keel_error err{};
    const keel_status s = api_->create_acl(api_->ctx, &b, &err);
    if (message != nullptr) *message = err.message;
    return s;
  }

  std::vector<std::string> describe_all() {
    std::vector<std::string> out;
    const keel_acl_binding f = match_all_filter();
    keel_error err{};
    EXPECT_EQ(api_->describe_acls(
                  api_->ctx, &f,
                  [](void* user, const keel_acl_binding* b) {
                    static_cast<std::vector<std::string>*>(user)->push_back(std::string(b->principal) + " " +
                                                                            std::to_string(b->operation) +
                                                                            " " + b->resource_name);
                  },
                  &out, &err),
              KEEL_OK)
        << err.message;
    return out;
  }

  keel::test::TempDir dir_;
  std::unique_ptr<keel::Broker> broker_;
  const keel_broker_api* api_ = nullptr;
};

TEST_F(BrokerAuthorizationTest, WithoutAnAuthorizerEverythingIsAllowedAndAclCallsAreUnsupported) {
  start("");
  EXPECT_EQ(api_->authorizer_enabled(api_->ctx), 0);
  EXPECT_TRUE(may("User:nobody", KEEL_RESOURCE_TOPIC, KEEL_ACL_OP_WRITE, "orders"));
  EXPECT_TRUE(may("User:nobody", KEEL_RESOURCE_CLUSTER, KEEL_ACL_OP_ALTER, "kafka-cluster"));
  std::string message;
  EXPECT_EQ(create(binding(KEEL_RESOURCE_TOPIC, "orders", KEEL_PATTERN_LITERAL, "User:a", KEEL_ACL_OP_READ,
                           KEEL_ACL_PERMISSION_ALLOW),
                   &message),
            KEEL_ERR_UNSUPPORTED);
  EXPECT_THAT(message, HasSubstr("[authorizer]"));
}

TEST_F(BrokerAuthorizationTest, RulesDecideAndDenyWins) {
  start(kAcl);
  EXPECT_EQ(api_->authorizer_enabled(api_->ctx), 1);
  // Nothing stored: only the super user may do anything.
  EXPECT_FALSE(may("User:alice", KEEL_RESOURCE_TOPIC, KEEL_ACL_OP_WRITE, "orders"));
  EXPECT_TRUE(may("User:admin", KEEL_RESOURCE_TOPIC, KEEL_ACL_OP_WRITE, "orders"));

  ASSERT_EQ(create(binding(KEEL_RESOURCE_TOPIC, "orders", KEEL_PATTERN_LITERAL, "User:alice",
                           KEEL_ACL_OP_WRITE, KEEL_ACL_PERMISSION_ALLOW)),
            KEEL_OK);
  ASSERT_EQ(create(binding(KEEL_RESOURCE_TOPIC, "pay-", KEEL_PATTERN_PREFIXED, "User:*", KEEL_ACL_OP_READ,
                           KEEL_ACL_PERMISSION_ALLOW)),
            KEEL_OK);
  EXPECT_TRUE(may("User:alice", KEEL_RESOURCE_TOPIC, KEEL_ACL_OP_WRITE, "orders"));
  EXPECT_TRUE(may("User:alice", KEEL_RESOURCE_TOPIC, KEEL_ACL_OP_DESCRIBE, "orders"))
      << "WRITE implies DESCRIBE";
  EXPECT_FALSE(may("User:alice", KEEL_RESOURCE_TOPIC, KEEL_ACL_OP_READ, "orders"));
  EXPECT_FALSE(may("User:bob", KEEL_RESOURCE_TOPIC, KEEL_ACL_OP_WRITE, "orders"));
  EXPECT_TRUE(may("User:bob", KEEL_RESOURCE_TOPIC, KEEL_ACL_OP_READ, "pay-eu"));
  EXPECT_FALSE(may("User:bob", KEEL_RESOURCE_TOPIC, KEEL_ACL_OP_READ, "pa"));

  ASSERT_EQ(create(binding(KEEL_RESOURCE_TOPIC, "orders", KEEL_PATTERN_LITERAL, "User:alice", KEEL_ACL_OP_ALL,
                           KEEL_ACL_PERMISSION_DENY)),
            KEEL_OK);
  EXPECT_FALSE(may("User:alice", KEEL_RESOURCE_TOPIC, KEEL_ACL_OP_WRITE, "orders")) << "DENY beats ALLOW";
}

TEST_F(BrokerAuthorizationTest, DenialsAreCountedAndLoggedButFiltersAreNot) {
  start(kAcl);
  keel::test::LogCapture log;
  EXPECT_FALSE(may("User:mallory", KEEL_RESOURCE_GROUP, KEEL_ACL_OP_READ, "g1"));
  EXPECT_FALSE(may("User:mallory", KEEL_RESOURCE_TOPIC, KEEL_ACL_OP_DESCRIBE, "secret", false));
  const std::string metrics = broker_->metrics().render();
  EXPECT_THAT(metrics,
              HasSubstr("keel_authorization_denials_total{resource_type=\"GROUP\",operation=\"READ\"} 1"));
  EXPECT_THAT(metrics, ::testing::Not(HasSubstr("resource_type=\"TOPIC\",operation=\"DESCRIBE\"")))
      << "a listing's filter is not a denial";
  EXPECT_EQ(log.count("denied User:mallory from 127.0.0.1 (listener PLAINTEXT) READ on GROUP 'g1'"), 1);
  // The same kind of denial again within 10 s: counted, not logged again.
  EXPECT_FALSE(may("User:mallory", KEEL_RESOURCE_GROUP, KEEL_ACL_OP_READ, "g2"));
  EXPECT_EQ(log.count("denied User:mallory"), 1);
  EXPECT_THAT(broker_->metrics().render(),
              HasSubstr("keel_authorization_denials_total{resource_type=\"GROUP\",operation=\"READ\"} 2"));
}

// InitProducerId's question (KIP-679): WRITE on some topic, a NULL name.
TEST_F(BrokerAuthorizationTest, SomeTopicIsAskedWithANullName) {
  start(kAcl);
  keel::test::LogCapture log;
  keel_authz_subject s{};
  s.struct_size = sizeof s;
  s.principal = "User:alice";
  s.host = "127.0.0.1";
  s.listener = "PLAINTEXT";
  keel_authz_action a{};
  a.struct_size = sizeof a;
  a.resource_type = KEEL_RESOURCE_TOPIC;
  a.operation = KEEL_ACL_OP_WRITE;
  int32_t result = -1;
  api_->authorize(api_->ctx, &s, &a, 1, sizeof a, 1, &result);
  EXPECT_EQ(result, KEEL_AUTHZ_DENIED);
  EXPECT_EQ(log.count("denied User:alice from 127.0.0.1 (listener PLAINTEXT) WRITE on any TOPIC"), 1);
  ASSERT_EQ(create(binding(KEEL_RESOURCE_TOPIC, "orders", KEEL_PATTERN_LITERAL, "User:alice",
                           KEEL_ACL_OP_WRITE, KEEL_ACL_PERMISSION_ALLOW)),
            KEEL_OK);
  api_->authorize(api_->ctx, &s, &a, 1, sizeof a, 1, &result);
  EXPECT_EQ(result, KEEL_AUTHZ_ALLOWED);
}

// A client's name cannot forge log lines: control bytes are escaped.
TEST_F(BrokerAuthorizationTest, DenialLinesEscapeControlBytes) {
  start(kAcl);
  keel::test::LogCapture log;
  EXPECT_FALSE(may("User:eve", KEEL_RESOURCE_TOPIC, KEEL_ACL_OP_READ, "t\n[error] forged"));
  EXPECT_EQ(log.count("READ on TOPIC 't\\x0a[error] forged'"), 1);
  EXPECT_EQ(log.count("t\n[error]"), 0);
}

TEST_F(BrokerAuthorizationTest, AMalformedQuestionIsDenied) {
  start(kAcl);
  keel_authz_subject s{};
  s.struct_size = sizeof s;
  s.principal = "User:admin";
  int32_t results[2] = {-1, -1};
  // No actions array, or elements smaller than 2.5's: "no" for each.
  api_->authorize(api_->ctx, &s, nullptr, 2, sizeof(keel_authz_action), 1, results);
  EXPECT_EQ(results[0], KEEL_AUTHZ_DENIED);
  EXPECT_EQ(results[1], KEEL_AUTHZ_DENIED);
  keel_authz_action a[2]{};
  api_->authorize(api_->ctx, &s, a, 2, 4, 1, results);
  EXPECT_EQ(results[0], KEEL_AUTHZ_DENIED);
}

TEST_F(BrokerAuthorizationTest, BindingsSurviveARestartAndDeleteIsDurable) {
  start(kAcl);
  ASSERT_EQ(create(binding(KEEL_RESOURCE_GROUP, "g1", KEEL_PATTERN_LITERAL, "User:alice", KEEL_ACL_OP_READ,
                           KEEL_ACL_PERMISSION_ALLOW)),
            KEEL_OK);
  ASSERT_EQ(create(binding(KEEL_RESOURCE_TOPIC, "t", KEEL_PATTERN_LITERAL, "User:bob", KEEL_ACL_OP_READ,
                           KEEL_ACL_PERMISSION_ALLOW)),
            KEEL_OK);
  start(kAcl);
  EXPECT_EQ(describe_all().size(), 2u);
  EXPECT_TRUE(may("User:alice", KEEL_RESOURCE_GROUP, KEEL_ACL_OP_READ, "g1"));

  keel_acl_binding f = match_all_filter();
  f.principal = "User:bob";
  int deleted = 0;
  keel_error err{};
  ASSERT_EQ(api_->delete_acls(
                api_->ctx, &f, [](void* user, const keel_acl_binding*) { ++*static_cast<int*>(user); },
                &deleted, &err),
            KEEL_OK)
      << err.message;
  EXPECT_EQ(deleted, 1);
  start(kAcl);
  EXPECT_EQ(describe_all(), std::vector<std::string>{"User:alice 3 g1"});
  EXPECT_FALSE(may("User:bob", KEEL_RESOURCE_TOPIC, KEEL_ACL_OP_READ, "t"));
}

TEST_F(BrokerAuthorizationTest, AnInvalidBindingIsRefusedWithAMessage) {
  start(kAcl);
  std::string message;
  EXPECT_EQ(create(binding(KEEL_RESOURCE_ANY, "x", KEEL_PATTERN_LITERAL, "User:a", KEEL_ACL_OP_READ,
                           KEEL_ACL_PERMISSION_ALLOW),
                   &message),
            KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_FALSE(message.empty());
  EXPECT_EQ(create(binding(KEEL_RESOURCE_TOPIC, "x", KEEL_PATTERN_LITERAL, "alice", KEEL_ACL_OP_READ,
                           KEEL_ACL_PERMISSION_ALLOW),
                   &message),
            KEEL_ERR_INVALID_ARGUMENT)
      << "a principal must be Type:name";
  EXPECT_TRUE(describe_all().empty());
}

TEST_F(BrokerAuthorizationTest, ADamagedRulesFileStopsTheStartNamingIt) {
  start(kAcl);
  ASSERT_EQ(create(binding(KEEL_RESOURCE_TOPIC, "t", KEEL_PATTERN_LITERAL, "User:bob", KEEL_ACL_OP_READ,
                           KEEL_ACL_PERMISSION_ALLOW)),
            KEEL_OK);
  broker_.reset();
  const std::string file = dir_.sub("data") + "/.security/authorizer-acl/acls.json";
  ASSERT_TRUE(std::filesystem::exists(file));
  std::ofstream(file, std::ios::trunc) << "{\"version\": 1, \"bindings\": [";
  keel::Broker b(keel::parse_config(config_text(dir_.sub("data"), kAcl), "t.toml"));
  try {
    b.start();
    FAIL() << "a damaged ACL file must stop the start";
  } catch (const keel::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(file));
    EXPECT_THAT(e.what(), HasSubstr("[authorizer] strategy 'acl'"));
  }
}

TEST_F(BrokerAuthorizationTest, ConfigErrorsNameTheSection) {
  const std::string data = dir_.sub("data");
  auto error_of = [&](const std::string& authorizer) -> std::string {
    try {
      keel::Broker b(keel::parse_config(config_text(data, authorizer), "t.toml"));
      b.start();
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_THAT(error_of("[authorizer]\n"), HasSubstr("[authorizer] needs strategy"));
  EXPECT_THAT(error_of("[authorizer]\nstrategy = \"acl\"\nsuper_user = \"User:a\"\n"),
              HasSubstr("unknown key 'super_user' in [authorizer]"));
  EXPECT_THAT(error_of("[authorizer]\nstrategy = \"nope\"\n"), HasSubstr("[authorizer] strategy 'nope'"));
  EXPECT_THAT(error_of("[authorizer]\nstrategy = \"acl\"\n[authorizer.other]\nx = 1\n"),
              HasSubstr("[authorizer.other] configures authorizer 'other'"));
  EXPECT_THAT(error_of("[authorizer]\nstrategy = \"acl\"\n[authorizer.acl]\nsuper_userz = \"User:a\"\n"),
              HasSubstr("super_userz"));
  // A check of the configuration reads and writes no rules.
  keel::Broker check(keel::parse_config(config_text(dir_.sub("other"), kAcl), "t.toml"));
  EXPECT_TRUE(check.check_config().ok());
  EXPECT_FALSE(std::filesystem::exists(dir_.sub("other") + "/.security"));
}

}  // namespace
