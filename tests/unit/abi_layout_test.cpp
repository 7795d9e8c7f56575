// The C ABI grows only at the end of its tables: a plugin built against an
// older minor version finds every field it knows where it expects it, and a
// newer plugin handed an older table sees (through struct_size) which fields
// are missing. These pin the 1.4 additions to the broker API.
#include <gtest/gtest.h>
#include <keel/plugin.h>

#include <cstddef>

namespace {

TEST(AbiLayout, BrokerApi14FieldsFollowThe13Ones) {
  EXPECT_EQ(KEEL_ABI_MAJOR, 1);
  EXPECT_EQ(KEEL_ABI_MINOR, 4);
  EXPECT_EQ(offsetof(keel_broker_api, reserve_request_bytes),
            offsetof(keel_broker_api, group_metadata) + sizeof(void*));
  EXPECT_EQ(offsetof(keel_broker_api, release_request_bytes),
            offsetof(keel_broker_api, reserve_request_bytes) + sizeof(void*));
  EXPECT_EQ(sizeof(keel_broker_api), offsetof(keel_broker_api, release_request_bytes) + sizeof(void*));
}

TEST(AbiLayout, ATransportSeesWhetherTheBrokerHasTheRequestBudget) {
  keel_broker_api api{};
  api.struct_size = offsetof(keel_broker_api, reserve_request_bytes);  // what a 1.3 broker fills
  EXPECT_TRUE(KEEL_HAS_FIELD(&api, keel_broker_api, group_metadata));
  EXPECT_FALSE(KEEL_HAS_FIELD(&api, keel_broker_api, reserve_request_bytes));
  EXPECT_FALSE(KEEL_HAS_FIELD(&api, keel_broker_api, release_request_bytes));
  api.struct_size = sizeof api;
  EXPECT_TRUE(KEEL_HAS_FIELD(&api, keel_broker_api, release_request_bytes));
}

}  // namespace
