// Test fixture for the built-in index plugins: loads one from its built
// library and drives it through the C ABI the way a segment does, over a
// test log of equal batches in a temp directory.
#pragma once

#include <gtest/gtest.h>
#include <keel/plugin.h>
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "plugin_fixture.hpp"
#include "small_fs.hpp"
#include "temp_dir.hpp"

namespace keel::test::index_test {

// The test log: batch i is kBatchBytes long at position kBatchBytes * i and
// holds the kRecordsPerBatch offsets from kBase + kRecordsPerBatch * i on.
constexpr int64_t kBase = 1000;
constexpr int32_t kBatchBytes = 60;
constexpr int64_t kRecordsPerBatch = 10;
constexpr int64_t kTenBatches = 10 * kBatchBytes;

inline keel_batch_info batch(int i, int64_t max_timestamp) {
  return {.struct_size = sizeof(keel_batch_info),
          .size = kBatchBytes,
          .base_offset = kBase + kRecordsPerBatch * i,
          .last_offset = kBase + kRecordsPerBatch * i + 9,
          .max_timestamp = max_timestamp,
          .position = int64_t{kBatchBytes} * i};
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void spill(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline void expect_entry(const keel_index_entry& e, int64_t offset, int64_t position, int64_t timestamp) {
  EXPECT_EQ(e.offset, offset);
  EXPECT_EQ(e.position, position);
  EXPECT_EQ(e.timestamp, timestamp);
}

class IndexFixture : public ::testing::Test {
 protected:
  using LookupFn = decltype(keel_index_vtable::lookup_offset);

  // `name` is the strategy's; its index file is `<segment prefix><suffix>`.
  IndexFixture(const std::string& name, const std::string& suffix)
      : plugin_("index", name), dir_("keel-" + name + "-index"), suffix_(suffix), file_(prefix_ + suffix) {}

  // Puts the index file in `dir` (e.g. a SmallFs) instead of the temp dir.
  void move_to(const std::string& dir) {
    close();
    prefix_ = dir + "/00000000000000001000";
    file_ = prefix_ + suffix_;
  }

  void TearDown() override { close(); }

  // The open, truncate, flush and seal calls return the plugin's status and
  // leave its error message in message_.
  keel_status open(int64_t log_size, bool writable = true, const std::string& toml = "interval_bytes = 100") {
    close();
    config_ = std::make_unique<TestConfig>(toml);
    keel_index_open_args args{.struct_size = sizeof(keel_index_open_args),
                              .writable = writable ? 1 : 0,
                              .path_prefix = prefix_.c_str(),
                              .base_offset = kBase,
                              .log_size = log_size,
                              .config = config_->get()};
    keel_error err{};
    keel_status s = vt_->open(host_.get(), &args, &index_, &err);
    message_ = err.message;
    if (s != KEEL_OK) index_ = nullptr;
    return s;
  }
  void close(bool remove = false) {
    if (index_ != nullptr) vt_->close(index_, remove ? 1 : 0);
    index_ = nullptr;
  }
  keel_status truncate(int64_t log_size) {
    keel_error err{};
    const keel_status s = vt_->truncate(index_, log_size, &err);
    message_ = err.message;
    return s;
  }
  keel_status flush() {
    keel_error err{};
    const keel_status s = vt_->flush(index_, &err);
    message_ = err.message;
    return s;
  }
  keel_status seal() {
    keel_error err{};
    const keel_status s = vt_->seal(index_, &err);
    message_ = err.message;
    return s;
  }

  // Appends batches [from, to) of the test log, batch i with the max
  // timestamp `max_timestamp_of(i)`.
  template <class MaxTimestampOf>
  void append_batches(int from, int to, MaxTimestampOf max_timestamp_of) {
    for (int i = from; i < to; ++i) {
      keel_batch_info b = batch(i, max_timestamp_of(i));
      keel_error err{};
      ASSERT_EQ(vt_->on_append(index_, &b, &err), KEEL_OK) << err.message;
    }
  }
  // The answer of `fn` (the vtable's lookup_offset or lookup_time) for `key`.
  keel_index_entry lookup_with(LookupFn fn, int64_t key) {
    keel_index_entry e{.struct_size = sizeof(keel_index_entry),
                       .reserved = 0,
                       .offset = -7,
                       .position = -7,
                       .timestamp = -7};
    keel_error err{};
    EXPECT_EQ(fn(index_, key, &e, &err), KEEL_OK) << err.message;
    // The index wrote the entry but left the size the caller set (rule 2).
    EXPECT_EQ(e.struct_size, sizeof(keel_index_entry));
    return e;
  }

  // Appends the ten-batch test log's batches from recovery() on, as a
  // recovering segment does.
  virtual void replay_from_recovery() = 0;

  // On a file system with no free block (`fs` filled), appends of batches
  // 0, 1, ... (one entry each) go on until the index needs a new page. That
  // on_append must fail with NO_SPACE naming the file, not die of SIGBUS;
  // the entries before it stay; after the kernel's cut-back (truncate) and
  // with the space back, appends go on.
  template <class MaxTimestampOf>
  void expect_full_disk_is_an_error(SmallFs& fs, MaxTimestampOf max_timestamp_of) {
    int i = 0;
    keel_status s = KEEL_OK;
    keel_error err{};
    int64_t held = 0;  // entries after the last append that worked
    for (; i < 100000; ++i) {
      keel_batch_info b = batch(i, max_timestamp_of(i));
      err = {};
      s = vt_->on_append(index_, &b, &err);
      if (s != KEEL_OK) break;
      held = entries();
    }
    ASSERT_EQ(s, KEEL_ERR_NO_SPACE) << err.message;
    EXPECT_GE(held, 255) << "the first page filled before the refusal";
    EXPECT_NE(std::string(err.message).find(file_.string()), std::string::npos) << err.message;
    EXPECT_NE(std::string(err.message).find("No space left on device"), std::string::npos) << err.message;
    EXPECT_EQ(entries(), held);
    EXPECT_EQ(recovery(), int64_t{kBatchBytes} * (i - 1));
    ASSERT_EQ(truncate(int64_t{kBatchBytes} * i), KEEL_OK) << message_;
    fs.free_filler();
    append_batches(i, i + 1000, max_timestamp_of);
    EXPECT_EQ(entries(), held + 1000);
    EXPECT_GE(allocated_bytes(), std::filesystem::file_size(file_)) << "the mapped file has a hole";
  }
  // Disk bytes behind the index file.
  uintmax_t allocated_bytes() const {
    struct stat st {};
    return ::stat(file_.c_str(), &st) == 0 ? static_cast<uintmax_t>(st.st_blocks) * 512 : 0;
  }

  // What recovery over the ten-batch log must make of the file as it stands:
  // keep `kept` entries, replay from `recovery_at`, and leave the file byte
  // for byte as `rebuilt`.
  void expect_recovery(int64_t kept, int64_t recovery_at, const std::string& rebuilt) {
    ASSERT_EQ(open(kTenBatches), KEEL_OK) << message_;
    EXPECT_EQ(entries(), kept);
    EXPECT_EQ(recovery(), recovery_at);
    replay_from_recovery();
    close();
    EXPECT_EQ(slurp(file()), rebuilt);
  }
  // For an open index whose file exists.
  void expect_close_with_remove_deletes_the_file() {
    ASSERT_TRUE(std::filesystem::exists(file()));
    close(true);
    EXPECT_FALSE(std::filesystem::exists(file()));
  }
  void expect_wrong_typed_setting_fails_open(const std::string& key) {
    EXPECT_NE(open(0, true, key + " = \"x\""), KEEL_OK);
    EXPECT_EQ(index_, nullptr);
    EXPECT_NE(message_.find(key), std::string::npos) << message_;
    ASSERT_FALSE(config_->problems().empty());
    EXPECT_NE(config_->problems()[0].find(key), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(file())) << "a bad setting must not leave a file behind";
  }

  int64_t entries() { return vt_->entry_count(index_); }
  int64_t recovery() { return vt_->recovery_position(index_); }
  const std::filesystem::path& file() const { return file_; }

  LoadedPlugin plugin_;
  const keel_index_vtable* vt_ = plugin_.vtable<keel_index_vtable>();
  TestHost host_;
  std::unique_ptr<TestConfig> config_;
  keel_index* index_ = nullptr;
  std::string message_;
  TempDir dir_;
  std::string prefix_ = dir_.sub("00000000000000001000");
  std::string suffix_;
  std::filesystem::path file_;
};

}  // namespace keel::test::index_test
