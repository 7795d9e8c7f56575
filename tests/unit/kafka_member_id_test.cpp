// Member ids of the Kafka group coordinator: "<client.id>-<UUID>" as Kafka
// forms them (a random, version 4 UUID in its 8-4-4-4-12 text form), and
// never longer than a classic STRING can carry.
#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "kafka/member_id.hpp"

namespace keel::kafka {
namespace {

// Whether `s` is a version 4, RFC 4122 variant UUID in lower-case text.
bool is_uuid4(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (s[i] == '-')) return false;
    if (!dash && !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
    if (!dash && std::isupper(static_cast<unsigned char>(s[i]))) return false;
  }
  return s[14] == '4' && std::string("89ab").find(s[19]) != std::string::npos;
}

TEST(KafkaMemberId, IsTheClientIdADashAndARandomUuid) {
  const std::string a = new_member_id("rdkafka");
  const std::string b = new_member_id("rdkafka");
  ASSERT_EQ(a.rfind("rdkafka-", 0), 0u) << a;
  EXPECT_TRUE(is_uuid4(a.substr(8))) << a;
  EXPECT_NE(a, b);
  const std::string anonymous = new_member_id("");
  EXPECT_EQ(anonymous[0], '-');
  EXPECT_TRUE(is_uuid4(anonymous.substr(1))) << anonymous;
}

TEST(KafkaMemberId, FitsAClassicStringWhateverTheClientIdsLength) {
  // A request header's client id may itself be 32767 bytes long.
  const std::string longest(32767, 'c');
  const std::string id = new_member_id(longest);
  EXPECT_EQ(id.size(), kMaxMemberIdBytes);
  EXPECT_TRUE(is_uuid4(id.substr(id.size() - 36))) << id.substr(id.size() - 40);
  EXPECT_EQ(id[id.size() - 37], '-');
  // One just short of the limit is kept whole.
  const std::string fits(kMaxMemberIdBytes - 37, 'd');
  EXPECT_EQ(new_member_id(fits).substr(0, fits.size()), fits);
  EXPECT_EQ(new_member_id(fits).size(), kMaxMemberIdBytes);
}

}  // namespace
}  // namespace keel::kafka
