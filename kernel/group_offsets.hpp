// Durable consumer-group offsets, kept in memory and journaled to
// <dir>/consumer-offsets.journal. (A later step moves them into a compacted
// internal topic; the interface is meant to survive that.)
//
// Journal format, all integers little-endian:
//   record  := u32 payload_length | u32 crc32c(payload) | payload
//   payload := u8 type, then
//     type 1 (commit):       str group | str topic | i32 partition | i64 offset
//                            | i64 commit_time_ms | str metadata
//     type 2 (remove topic): str topic
//   str     := u32 byte_length | bytes
// Later records win. Replay stops at the first torn or corrupt record and
// truncates the journal there: the only way to produce one is an unclean stop
// in the middle of an append, and everything before it was acknowledged.
// A record with a valid checksum that cannot be understood (e.g. written by a
// newer version) is an error instead, since truncating would lose data.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

namespace keel {

struct CommittedOffset {
  int64_t offset = -1;
  std::string metadata;
  int64_t commit_time_ms = 0;
};

struct GroupOffsetStoreOptions {
  // The journal is rewritten with only live entries once it is larger than
  // max(compact_min_bytes, 4 x the encoded size of the live entries).
  uint64_t compact_min_bytes = 1 << 20;
};

class GroupOffsetStore {
 public:
  static constexpr const char* kJournalName = "consumer-offsets.journal";

  // Opens (creating `dir` and the journal if missing) and replays the journal.
  explicit GroupOffsetStore(std::string dir, GroupOffsetStoreOptions options = {});
  ~GroupOffsetStore();
  GroupOffsetStore(const GroupOffsetStore&) = delete;
  GroupOffsetStore& operator=(const GroupOffsetStore&) = delete;

  // Durable (written and fdatasync'ed) before it returns. On failure it
  // throws keel::Error and the stored offsets are unchanged.
  void commit(const std::string& group, const std::string& topic, int32_t partition, int64_t offset,
              const std::string& metadata, int64_t now_ms);
  std::optional<CommittedOffset> fetch(const std::string& group, const std::string& topic,
                                       int32_t partition) const;
  // Groups with at least one committed offset, sorted.
  std::vector<std::string> groups() const;
  // (topic, partition) -> offset, for every partition the group committed.
  std::map<std::pair<std::string, int32_t>, CommittedOffset> group_offsets(const std::string& group) const;
  // Durably drops every group's offsets of a deleted topic; a group left
  // with no offsets disappears from groups().
  void remove_topic(const std::string& topic);

  const std::string& journal_path() const { return path_; }

 private:
  using Key = std::pair<std::string, int32_t>;  // (topic, partition)
  using GroupMap = std::map<std::string, std::map<Key, CommittedOffset>>;

  void replay();
  // Drops the topic from every group; caller holds state_mu_ exclusively
  // (or is the constructor).
  void erase_topic(const std::string& topic);
  void sync_dir();
  // Appends one encoded record and syncs it, or throws with the journal
  // left as it was (as far as the OS lets us).
  void append(const std::string& record);
  void maybe_compact();
  void compact();
  // Throws "<journal>: <what>: <errno text>; <hint>".
  [[noreturn]] void fail_io(const std::string& what, int err, const std::string& hint = "") const;

  std::string dir_;
  std::string path_;
  GroupOffsetStoreOptions options_;
  int fd_ = -1;
  uint64_t size_ = 0;        // bytes of valid journal
  uint64_t live_bytes_ = 0;  // encoded size of the live entries, as records
  // A compaction renamed the journal but could not sync the directory: the
  // next append must, or a crash could bring back the pre-compaction file.
  bool dir_sync_pending_ = false;

  // io_mu_ serializes writers (journal order == update order); state_mu_ is
  // held only briefly, so readers never wait for an fdatasync.
  std::mutex io_mu_;
  mutable std::shared_mutex state_mu_;
  GroupMap groups_;
};

}  // namespace keel
