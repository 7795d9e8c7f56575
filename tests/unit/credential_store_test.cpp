// The broker's SCRAM credential store (kernel/security): what it keeps
// (salted keys, never the password), that changes survive a new store on
// the same directory, and that a damaged file is refused with a message
// naming it, never read as "no users".
#include "security/credential_store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "security/sasl_session.hpp"
#include "support/error_of.hpp"
#include "support/temp_dir.hpp"

namespace keel::security {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

ScramCredential credential(ScramMechanism m, const std::string& password) {
  return scram_credential_from_password(m, password, random_bytes(16), kScramMinIterations);
}

TEST(CredentialStore, KeepsKeysNotPasswordsAndSurvivesANewStore) {
  test::TempDir dir;
  const std::string sec = dir.path().string() + "/.security";
  {
    CredentialStore store(sec);
    store.put("alice", credential(ScramMechanism::kSha512, "pencil-and-paper"));
    store.put("bob", credential(ScramMechanism::kSha256, "other-secret"));
  }
  const std::string text = read_file(CredentialStore::file_in(sec));
  EXPECT_EQ(text.find("pencil-and-paper"), std::string::npos);
  EXPECT_NE(text.find("stored_key"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(sec.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  CredentialStore again(sec);
  ASSERT_EQ(again.list().size(), 2u);
  EXPECT_TRUE(again.lookup("alice", ScramMechanism::kSha512));
  EXPECT_FALSE(again.lookup("alice", ScramMechanism::kSha256));
  // The kept keys log the user in with the password, and only with it.
  SaslSession ok("PLAIN", again);
  EXPECT_TRUE(ok.step(std::string("\0alice\0pencil-and-paper", 23)).done);
  SaslSession wrong("PLAIN", again);
  EXPECT_EQ(test::error_of([&] { wrong.step(std::string("\0alice\0pencil", 13)); }).code(),
            KEEL_ERR_AUTHENTICATION);

  EXPECT_TRUE(again.remove("alice", ScramMechanism::kSha512));
  EXPECT_FALSE(again.remove("alice", ScramMechanism::kSha512));
  CredentialStore third(sec);
  EXPECT_FALSE(third.lookup("alice", ScramMechanism::kSha512));
  EXPECT_TRUE(third.lookup("bob", ScramMechanism::kSha256));
}

TEST(CredentialStore, NoFileMeansNoUsers) {
  test::TempDir dir;
  CredentialStore store(dir.path().string() + "/.security");
  EXPECT_TRUE(store.list().empty());
  EXPECT_FALSE(store.lookup("alice", ScramMechanism::kSha256));
}

TEST(CredentialStore, ADamagedFileIsRefusedNamingIt) {
  const std::vector<std::string> damaged = {
      "{not json",
      R"({"version": 2, "users": {}})",
      R"({"version": 1})",
      R"({"version": 1, "users": {"alice": {"SCRAM-SHA-1": {"iterations": 4096, "salt": "", "stored_key": "", "server_key": ""}}}})",
      R"({"version": 1, "users": {"alice": {"SCRAM-SHA-256": {"salt": "AA==", "stored_key": "AA==", "server_key": "AA=="}}}})",
      R"({"version": 1, "users": {"alice": {"SCRAM-SHA-256": {"iterations": 4096, "salt": "!!", "stored_key": "AA==", "server_key": "AA=="}}}})",
  };
  for (const auto& text : damaged) {
    SCOPED_TRACE(text);
    test::TempDir dir;
    const std::string sec = dir.path().string() + "/.security";
    ::mkdir(sec.c_str(), 0700);
    write_file(CredentialStore::file_in(sec), text);
    const Error e = test::error_of([&] { CredentialStore store(sec); });
    EXPECT_EQ(e.code(), KEEL_ERR_CORRUPT);
    EXPECT_NE(std::string(e.what()).find(CredentialStore::file_in(sec)), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("keel-tool user add"), std::string::npos) << e.what();
  }
}

TEST(CredentialStore, RefusesEmptyAndOverlongNames) {
  test::TempDir dir;
  CredentialStore store(dir.path().string() + "/.security");
  const auto c = credential(ScramMechanism::kSha256, "pw");
  EXPECT_EQ(test::error_of([&] { store.put("", c); }).code(), KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(test::error_of([&] { store.put(std::string(257, 'a'), c); }).code(), KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(store.list().empty());
}

}  // namespace
}  // namespace keel::security
