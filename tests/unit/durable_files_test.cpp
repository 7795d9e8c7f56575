// common/file_util.hpp: the helpers that make the broker's small files and
// directories durable. Their failed directory fsyncs are driven through
// keel-lazyfs in power_loss_test ("an answered settings change survives a
// power cut"); here, what a local file system can show.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/file_util.hpp"
#include "support/error_of.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using keel::test::error_of;
using keel::test::TempDir;

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(DurableFilesTest, CreatesEveryMissingDirectoryAndTakesOnesThatExist) {
  TempDir tmp;
  const fs::path deep = fs::path(tmp.path()) / "a" / "b" / "c";
  keel::create_directories_durably(deep.string() + "/");
  EXPECT_TRUE(fs::is_directory(deep));
  keel::create_directories_durably(deep.string());  // all there: nothing to do
  keel::create_directories_durably((fs::path(tmp.path()) / "a" / "d").string());
  EXPECT_TRUE(fs::is_directory(fs::path(tmp.path()) / "a" / "d"));
}

TEST(DurableFilesTest, ADirectoryThatCannotBeMadeIsNamed) {
  TempDir tmp;
  const fs::path file = fs::path(tmp.path()) / "plain-file";
  std::ofstream(file) << "x";
  const auto e = error_of([&] { keel::create_directories_durably((file / "sub").string()); });
  EXPECT_NE(e.code(), KEEL_OK);
  EXPECT_NE(std::string(e.what()).find((file / "sub").string()), std::string::npos) << e.what();
}

TEST(DurableFilesTest, AnAtomicWriteReplacesTheContentAndLeavesNoTemporaryFile) {
  TempDir tmp;
  const fs::path path = fs::path(tmp.path()) / "checkpoint";
  keel::write_file_atomically(path.string(), "first\n");
  keel::write_file_atomically(path.string(), "second\n");
  EXPECT_EQ(read_all(path), "second\n");
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
}

TEST(DurableFilesTest, AnAtomicWriteIntoAMissingDirectoryFailsNamingTheFile) {
  TempDir tmp;
  const fs::path path = fs::path(tmp.path()) / "missing" / "checkpoint";
  const auto e = error_of([&] { keel::write_file_atomically(path.string(), "x\n"); });
  EXPECT_NE(e.code(), KEEL_OK);
  EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
}

}  // namespace
