// PluginRegistry: loading good and deliberately broken plugin libraries
// (built from tests/plugins/), finding strategies by kind and name, and the
// library lifetime that StrategyRef guarantees.
#include "plugins/plugin_registry.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "plugins/plugin_config.hpp"

namespace {

using keel::ManualClock;
using keel::PluginRegistry;
using keel::StrategyRef;
using ::testing::HasSubstr;

const std::string kBadDir = KEEL_TEST_BAD_PLUGIN_DIR;
const std::string kBuiltinDir = KEEL_TEST_PLUGIN_DIR;

std::string bad_plugin(const std::string& name) { return kBadDir + "/keel-partitioner-" + name + ".so"; }

// The message of the keel::Error that `fn` throws; fails the test if none.
template <class Fn>
std::string message_of(Fn&& fn, keel_status* status = nullptr) {
  try {
    fn();
  } catch (const keel::Error& e) {
    if (status) *status = e.code();
    return e.what();
  }
  ADD_FAILURE() << "expected a keel::Error";
  return "";
}

class PluginRegistryTest : public ::testing::Test {
 protected:
  ManualClock clock_{1'700'000'000'000};
  PluginRegistry registry_{{kBadDir, kBuiltinDir}, &clock_};
};

TEST_F(PluginRegistryTest, GoodPluginIsFoundByRequire) {
  StrategyRef ref = registry_.require(KEEL_KIND_PARTITIONER, "test-fixed");
  EXPECT_EQ(ref.name, "test-fixed");
  EXPECT_EQ(ref.kind, KEEL_KIND_PARTITIONER);
  ASSERT_NE(ref.vtable, nullptr);
  EXPECT_EQ(ref.library->path, bad_plugin("test-fixed"));
  EXPECT_THAT(registry_.loaded_paths(), ::testing::ElementsAre(bad_plugin("test-fixed")));

  // A second require is served from the registry, not loaded again.
  StrategyRef again = registry_.require(KEEL_KIND_PARTITIONER, "test-fixed");
  EXPECT_EQ(again.vtable, ref.vtable);
  EXPECT_EQ(registry_.loaded_paths().size(), 1u);
}

TEST_F(PluginRegistryTest, GoodPluginWorksThroughItsVtable) {
  StrategyRef ref = registry_.require(KEEL_KIND_PARTITIONER, "test-fixed");
  keel_config cfg;  // no settings: partition 0
  const auto* vt = ref.vt<keel_partitioner_vtable>();
  keel_partitioner* p = nullptr;
  keel_error err{};
  ASSERT_EQ(vt->create(ref.host(), &cfg, &p, &err), KEEL_OK) << err.message;
  int32_t out = -1;
  ASSERT_EQ(vt->partition(p, nullptr, 0, 3, &out, &err), KEEL_OK) << err.message;
  EXPECT_EQ(out, 0);
  vt->destroy(p);
}

TEST_F(PluginRegistryTest, LibraryWithoutEntrySymbolIsRefused) {
  const std::string path = bad_plugin("test-no-entry");
  keel_status status = KEEL_OK;
  std::string msg = message_of([&] { registry_.load_library(path); }, &status);
  EXPECT_EQ(status, KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(msg, HasSubstr(path));
  EXPECT_THAT(msg, HasSubstr("no entry symbol"));
  EXPECT_THAT(msg, HasSubstr(KEEL_PLUGIN_ENTRY_SYMBOL));
  EXPECT_TRUE(registry_.loaded_paths().empty());
}

TEST_F(PluginRegistryTest, LibraryForAnotherAbiMajorIsRefused) {
  const std::string path = bad_plugin("test-abi99");
  keel_status status = KEEL_OK;
  std::string msg = message_of([&] { registry_.load_library(path); }, &status);
  EXPECT_EQ(status, KEEL_ERR_UNSUPPORTED);
  EXPECT_THAT(msg, HasSubstr(path));
  EXPECT_THAT(msg, HasSubstr("ABI 99.0"));
  EXPECT_THAT(msg, HasSubstr("rebuild"));
  // Nothing of it was registered.
  EXPECT_THAT(message_of([&] { registry_.require(KEEL_KIND_PARTITIONER, "test-abi99"); }),
              HasSubstr("ABI 99"));
}

TEST_F(PluginRegistryTest, PluginBuiltForAbi1IsRefusedWithTheWayToMigrate) {
  const std::string path = bad_plugin("test-abi1");
  keel_status status = KEEL_OK;
  std::string msg = message_of([&] { registry_.load_library(path); }, &status);
  EXPECT_EQ(status, KEEL_ERR_UNSUPPORTED);
  EXPECT_THAT(msg, HasSubstr(path));
  EXPECT_THAT(msg, HasSubstr("built for Keel plugin ABI 1.4"));
  EXPECT_THAT(msg, HasSubstr("rebuild it against the Keel SDK 2.x"));
  EXPECT_THAT(msg, HasSubstr("docs/plugins.md"));
  EXPECT_THAT(msg, HasSubstr("Migrating from 1.x"));
  EXPECT_TRUE(registry_.loaded_paths().empty());
  // The registry stays usable: a good plugin still loads and works.
  StrategyRef good = registry_.require(KEEL_KIND_PARTITIONER, "test-fixed");
  EXPECT_EQ(good.name, "test-fixed");
}

TEST_F(PluginRegistryTest, VtableWithANullMandatorySlotIsRefusedNamingIt) {
  const std::string path = bad_plugin("test-null-slot");
  keel_status status = KEEL_OK;
  std::string msg = message_of([&] { registry_.load_library(path); }, &status);
  EXPECT_EQ(status, KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(msg,
              HasSubstr("partitioner 'test-null-slot' of plugin 'test-null-slot-plugin' (" + path + ")"));
  EXPECT_THAT(msg, HasSubstr("vtable slot 'partition' is NULL; it is mandatory"));
  EXPECT_TRUE(registry_.loaded_paths().empty());
  // Through require (a topic naming it) the same refusal, and nothing stays
  // registered that could be used later.
  EXPECT_THAT(message_of([&] { registry_.require(KEEL_KIND_PARTITIONER, "test-null-slot"); }),
              HasSubstr("vtable slot 'partition' is NULL"));
  EXPECT_EQ(registry_.require(KEEL_KIND_PARTITIONER, "round-robin").name, "round-robin");
}

TEST_F(PluginRegistryTest, VtableSmallerThanTheAbiIsRefused) {
  const std::string path = bad_plugin("test-small-vtable");
  std::string msg = message_of([&] { registry_.load_library(path); });
  EXPECT_THAT(msg, HasSubstr(path));
  EXPECT_THAT(msg, HasSubstr("'test-small-vtable'"));
  EXPECT_THAT(msg, HasSubstr("vtable is 4 bytes"));
  EXPECT_THAT(msg, HasSubstr(std::to_string(sizeof(keel_partitioner_vtable))));
  EXPECT_TRUE(registry_.loaded_paths().empty());
}

TEST_F(PluginRegistryTest, DuplicateOfABuiltinStrategyIsRefused) {
  StrategyRef builtin = registry_.require(KEEL_KIND_PARTITIONER, "round-robin");
  const std::string builtin_path = builtin.library->path;
  EXPECT_THAT(builtin_path, HasSubstr(kBuiltinDir));

  const std::string path = bad_plugin("test-dup-builtin");
  keel_status status = KEEL_OK;
  std::string msg = message_of([&] { registry_.load_library(path); }, &status);
  EXPECT_EQ(status, KEEL_ERR_ALREADY_EXISTS);
  EXPECT_THAT(msg, HasSubstr(path));
  EXPECT_THAT(msg, HasSubstr(builtin_path));
  EXPECT_THAT(msg, HasSubstr("'round-robin'"));
  // The first registration stands.
  EXPECT_EQ(registry_.require(KEEL_KIND_PARTITIONER, "round-robin").library->path, builtin_path);
  EXPECT_EQ(registry_.loaded_paths().size(), 1u);
}

TEST_F(PluginRegistryTest, StrategyDeclaredTwiceInOneLibraryIsRefused) {
  const std::string path = bad_plugin("test-dup-twice");
  keel_status status = KEEL_OK;
  std::string msg = message_of([&] { registry_.load_library(path); }, &status);
  EXPECT_EQ(status, KEEL_ERR_ALREADY_EXISTS);
  EXPECT_THAT(msg, HasSubstr(path));
  EXPECT_THAT(msg, HasSubstr("'test-dup-twice'"));
  EXPECT_THAT(msg, HasSubstr("twice"));
  EXPECT_TRUE(registry_.loaded_paths().empty());
}

TEST_F(PluginRegistryTest, FileThatIsNotALibraryIsRefused) {
  const std::string path = bad_plugin("test-not-elf");
  ASSERT_TRUE(std::filesystem::exists(path));
  std::string msg = message_of([&] { registry_.load_library(path); });
  EXPECT_THAT(msg, HasSubstr("cannot load plugin '" + path + "'"));
  // The dynamic loader's own reason is passed on.
  EXPECT_THAT(msg, ::testing::AnyOf(HasSubstr("ELF"), HasSubstr("file too short")));
}

TEST_F(PluginRegistryTest, MissingFileIsRefusedWithItsPath) {
  const std::string path = kBadDir + "/keel-partitioner-does-not-exist.so";
  std::string msg = message_of([&] { registry_.load_library(path); });
  EXPECT_THAT(msg, HasSubstr(path));
}

TEST_F(PluginRegistryTest, RequireOfAMissingStrategyNamesTheFileAndThePath) {
  keel_status status = KEEL_OK;
  std::string msg = message_of([&] { registry_.require(KEEL_KIND_RETENTION, "no-such-policy"); }, &status);
  EXPECT_EQ(status, KEEL_ERR_NOT_FOUND);
  EXPECT_THAT(msg, HasSubstr("keel-retention-no-such-policy.so"));
  EXPECT_THAT(msg, HasSubstr(kBadDir));
  EXPECT_THAT(msg, HasSubstr(kBuiltinDir));
  EXPECT_THAT(msg, HasSubstr("plugin_path"));
}

TEST_F(PluginRegistryTest, RequireOfAMistypedStrategySuggestsTheNearestAndListsTheOthers) {
  // Nothing is loaded yet: the names come from the files on the plugin path.
  std::string msg = message_of([&] { registry_.require(KEEL_KIND_PARTITIONER, "key-hsh"); });
  EXPECT_THAT(msg, HasSubstr("unknown partitioner strategy 'key-hsh'; did you mean 'key-hash'?"));
  EXPECT_THAT(msg, HasSubstr("available partitioner strategies: "));
  EXPECT_THAT(msg, HasSubstr("round-robin"));
  EXPECT_TRUE(registry_.loaded_paths().empty()) << "listing the names must load nothing";

  // Far from every name: no guess, only the list.
  msg = message_of([&] { registry_.require(KEEL_KIND_RETENTION, "zzzzzzzz"); });
  EXPECT_THAT(msg, ::testing::Not(HasSubstr("did you mean")));
  EXPECT_THAT(msg, HasSubstr("available retention strategies: compaction, size, test-drop-odd, time;"));
}

TEST_F(PluginRegistryTest, AvailableListsLoadedAndLoadableNamesOfOneKind) {
  const auto before = registry_.available(KEEL_KIND_PARTITIONER);
  EXPECT_THAT(before, ::testing::IsSupersetOf({"key-hash", "round-robin", "test-fixed"}));
  EXPECT_TRUE(std::is_sorted(before.begin(), before.end()));
  registry_.require(KEEL_KIND_PARTITIONER, "test-fixed");
  EXPECT_EQ(registry_.available(KEEL_KIND_PARTITIONER), before) << "a loaded name must not be listed twice";
  EXPECT_THAT(registry_.available(KEEL_KIND_TRANSPORT), ::testing::IsSupersetOf({"http", "kafka"}));
  EXPECT_THAT(registry_.available(KEEL_KIND_TRANSPORT), ::testing::Not(::testing::Contains("key-hash")));
}

TEST_F(PluginRegistryTest, RequireOfAFileThatLacksItsStrategySaysSo) {
  // keel-partitioner-test-dup-builtin.so provides "round-robin", not the
  // strategy its file name promises.
  std::string msg = message_of([&] { registry_.require(KEEL_KIND_PARTITIONER, "test-dup-builtin"); });
  EXPECT_THAT(msg, HasSubstr(bad_plugin("test-dup-builtin")));
  EXPECT_THAT(msg, HasSubstr("does not provide"));
}

TEST_F(PluginRegistryTest, RequirePassesOnTheLoadErrorOfABrokenFile) {
  std::string msg = message_of([&] { registry_.require(KEEL_KIND_PARTITIONER, "test-abi99"); });
  EXPECT_THAT(msg, HasSubstr(bad_plugin("test-abi99")));
  EXPECT_THAT(msg, HasSubstr("ABI 99"));
}

TEST_F(PluginRegistryTest, KindsHaveSeparateNamespaces) {
  // "test-fixed" is a partitioner; as an index it does not exist.
  registry_.require(KEEL_KIND_PARTITIONER, "test-fixed");
  std::string msg = message_of([&] { registry_.require(KEEL_KIND_INDEX, "test-fixed"); });
  EXPECT_THAT(msg, HasSubstr("keel-index-test-fixed.so"));
}

TEST(PluginRegistryLifetime, StrategyRefKeepsTheLibraryLoaded) {
  ManualClock clock{1'700'000'000'000};
  // Settings read through the host: partition = 2.
  auto doc = std::make_shared<toml::table>(toml::parse("partition = 2", std::string_view("test.toml")));
  keel_config cfg;
  cfg.settings.tables = {doc.get()};
  cfg.settings.table_names = {"[test]"};
  cfg.owner = "partitioner 'test-fixed'";

  StrategyRef ref;
  keel_partitioner* instance = nullptr;
  {
    auto registry = std::make_unique<PluginRegistry>(std::vector<std::string>{kBadDir}, &clock);
    ref = registry->require(KEEL_KIND_PARTITIONER, "test-fixed");
    keel_error err{};
    ASSERT_EQ(ref.vt<keel_partitioner_vtable>()->create(ref.host(), &cfg, &instance, &err), KEEL_OK)
        << err.message;
  }
  // The registry is gone; the code and the host table must still be there.
  std::weak_ptr<keel::LoadedLibrary> lib = ref.library;
  EXPECT_EQ(lib.use_count(), 1);
  int32_t out = -1;
  ASSERT_EQ(ref.vt<keel_partitioner_vtable>()->partition(instance, nullptr, 0, 5, &out, nullptr), KEEL_OK);
  EXPECT_EQ(out, 2);
  ref.vt<keel_partitioner_vtable>()->destroy(instance);
  ref = StrategyRef{};
  EXPECT_TRUE(lib.expired());
}

}  // namespace
