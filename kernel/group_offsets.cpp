#include "group_offsets.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <keel/crc32c.hpp>
#include <limits>
#include <system_error>

#include "error.hpp"

namespace keel {

namespace {

constexpr uint8_t kTypeCommit = 1;
constexpr uint8_t kTypeRemoveTopic = 2;
constexpr size_t kHeaderBytes = 8;
// Far above any sane commit (Kafka caps metadata at 4 KiB by default), low
// enough that a garbage length read from a torn header is recognised as one.
constexpr size_t kMaxPayloadBytes = 16 << 20;

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFFu);
}
void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFFu);
}
void put_str(std::string& out, const std::string& s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out += s;
}

uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

// Bounds-checked cursor over one payload.
struct Reader {
  std::string_view data;
  size_t pos = 0;
  bool ok = true;

  bool has(size_t n) {
    if (data.size() - pos < n) ok = false;
    return ok;
  }
  uint8_t u8() { return has(1) ? static_cast<uint8_t>(data[pos++]) : 0; }
  uint32_t u32() {
    if (!has(4)) return 0;
    uint32_t v = get_u32(data.data() + pos);
    pos += 4;
    return v;
  }
  uint64_t u64() {
    uint64_t lo = u32();
    uint64_t hi = u32();
    return lo | (hi << 32);
  }
  std::string str() {
    uint32_t n = u32();
    if (!has(n)) return {};
    std::string s(data.substr(pos, n));
    pos += n;
    return s;
  }
};

std::string frame(const std::string& payload) {
  std::string rec;
  rec.reserve(kHeaderBytes + payload.size());
  put_u32(rec, static_cast<uint32_t>(payload.size()));
  put_u32(rec, crc32c(payload.data(), payload.size()));
  rec += payload;
  return rec;
}

std::string commit_record(const std::string& group, const std::string& topic, int32_t partition,
                          const CommittedOffset& c) {
  std::string p;
  p += static_cast<char>(kTypeCommit);
  put_str(p, group);
  put_str(p, topic);
  put_u32(p, static_cast<uint32_t>(partition));
  put_u64(p, static_cast<uint64_t>(c.offset));
  put_u64(p, static_cast<uint64_t>(c.commit_time_ms));
  put_str(p, c.metadata);
  return frame(p);
}

std::string remove_topic_record(const std::string& topic) {
  std::string p;
  p += static_cast<char>(kTypeRemoveTopic);
  put_str(p, topic);
  return frame(p);
}

// Size of commit_record(...) without building it.
uint64_t commit_record_bytes(const std::string& group, const std::string& topic,
                             const std::string& metadata) {
  return kHeaderBytes + 1 + 4 + group.size() + 4 + topic.size() + 4 + 8 + 8 + 4 + metadata.size();
}

}  // namespace

GroupOffsetStore::GroupOffsetStore(std::string dir, GroupOffsetStoreOptions options)
    : dir_(std::move(dir)), path_(dir_ + "/" + kJournalName), options_(options) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) {
    fail(status_from_errno(ec.value()), "cannot create consumer-offset directory " + dir_ + ": " +
                                            ec.message() + "; check the data directory");
  }
  // Lock, then make sure the file locked is still the journal: a compaction
  // of another process may have renamed a new file over it meanwhile.
  bool created = false;
  for (;;) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
    created = false;
    if (fd_ < 0 && errno == ENOENT) {
      fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      created = true;
      if (fd_ < 0 && errno == EEXIST) continue;
    }
    if (fd_ < 0) {
      const int err = errno;
      fail_io("opening failed", err, "check permissions on " + dir_);
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd_);
      fd_ = -1;
      fail(err == EWOULDBLOCK ? KEEL_ERR_UNAVAILABLE : status_from_errno(err),
           path_ + ": cannot lock it (" + errno_text(err) + "); is another broker using data directory " +
               dir_ + "?");
    }
    struct stat locked {};
    struct stat named {};
    if (::fstat(fd_, &locked) == 0 && ::stat(path_.c_str(), &named) == 0 && locked.st_ino == named.st_ino &&
        locked.st_dev == named.st_dev) {
      break;
    }
    ::close(fd_);
    fd_ = -1;
  }
  // A compaction interrupted by a crash leaves its temp file; the journal
  // itself is still whole, so the temp file is just garbage. (Only now that
  // we hold the lock: it could be a live broker's compaction in progress.)
  ::unlink((path_ + ".tmp").c_str());
  try {
    if (created) sync_dir();
    replay();
    maybe_compact();
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

GroupOffsetStore::~GroupOffsetStore() {
  if (fd_ >= 0) ::close(fd_);
}

void GroupOffsetStore::fail_io(const std::string& what, int err, const std::string& hint) const {
  std::string message = path_ + ": " + what + ": " + errno_text(err);
  if (!hint.empty()) {
    message += "; " + hint;
  } else if (err == ENOSPC || err == EDQUOT) {
    message += "; free space on the disk, then retry";
  }
  fail(status_from_errno(err), message);
}

void GroupOffsetStore::sync_dir() {
  const int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    const int err = errno;
    fail_io("cannot open directory " + dir_ + " to sync it", err);
  }
  const int rc = ::fsync(dfd);
  const int err = errno;
  ::close(dfd);
  if (rc != 0) fail_io("syncing directory " + dir_ + " failed", err);
  dir_sync_pending_ = false;
}

void GroupOffsetStore::replay() {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    const int err = errno;
    fail_io("stat failed", err);
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < data.size()) {
    const ssize_t n = ::pread(fd_, data.data() + got, data.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      fail_io("reading at position " + std::to_string(got) + " failed", err);
    }
    if (n == 0) break;  // shrank under us; replay what we have
    got += static_cast<size_t>(n);
  }
  data.resize(got);

  size_t pos = 0;
  bool torn = false;  // else: the bad record is complete but fails its checks
  while (pos < data.size()) {
    const size_t remaining = data.size() - pos;
    if (remaining < kHeaderBytes) {
      torn = true;
      break;
    }
    const uint32_t len = get_u32(data.data() + pos);
    const uint32_t crc = get_u32(data.data() + pos + 4);
    // A zero length is what a file extended with zeros by a crash looks like.
    if (len == 0 || len > kMaxPayloadBytes) {
      break;
    }
    if (remaining - kHeaderBytes < len) {
      torn = true;
      break;
    }
    const std::string_view payload(data.data() + pos + kHeaderBytes, len);
    if (crc32c(payload.data(), payload.size()) != crc) {
      break;
    }

    Reader r{payload};
    const uint8_t type = r.u8();
    if (type == kTypeCommit) {
      std::string group = r.str();
      std::string topic = r.str();
      const auto partition = static_cast<int32_t>(r.u32());
      CommittedOffset c;
      c.offset = static_cast<int64_t>(r.u64());
      c.commit_time_ms = static_cast<int64_t>(r.u64());
      c.metadata = r.str();
      if (r.ok && r.pos == payload.size()) {
        auto [it, inserted] = groups_[group].try_emplace({topic, partition});
        if (!inserted) live_bytes_ -= commit_record_bytes(group, topic, it->second.metadata);
        live_bytes_ += commit_record_bytes(group, topic, c.metadata);
        it->second = std::move(c);
        pos += kHeaderBytes + len;
        continue;
      }
    } else if (type == kTypeRemoveTopic) {
      std::string topic = r.str();
      if (r.ok && r.pos == payload.size()) {
        erase_topic(topic);
        pos += kHeaderBytes + len;
        continue;
      }
    }
    // The checksum vouches for these bytes, so this is not a torn write:
    // truncating would throw away offsets someone committed.
    fail(KEEL_ERR_CORRUPT,
         path_ + ": record at position " + std::to_string(pos) + " has a valid checksum but " +
             (type == kTypeCommit || type == kTypeRemoveTopic
                  ? "a malformed body"
                  : "unknown type " + std::to_string(type) + " (written by a newer Keel?)") +
             "; not truncating it. Run the Keel version that wrote it, or move the file "
             "aside to start without committed offsets");
  }

  if (pos < data.size()) {
    const size_t dropped = data.size() - pos;
    if (torn) {
      spdlog::warn(
          "{}: dropped {} torn bytes at position {} (an unclean stop during a commit); offsets "
          "committed before are intact",
          path_, dropped, pos);
    } else {
      spdlog::warn(
          "{}: dropped {} bytes at position {}: the record there fails its checks (an unclean stop "
          "during a commit, or disk corruption); offsets committed before are intact",
          path_, dropped, pos);
    }
    if (::ftruncate(fd_, static_cast<off_t>(pos)) != 0) {
      const int err = errno;
      fail_io("truncating the bad tail at position " + std::to_string(pos) + " failed", err);
    }
    if (::fdatasync(fd_) != 0) {
      const int err = errno;
      fail_io("syncing after truncation failed", err);
    }
  }
  size_ = pos;
}

void GroupOffsetStore::erase_topic(const std::string& topic) {
  for (auto git = groups_.begin(); git != groups_.end();) {
    auto& offsets = git->second;
    auto it = offsets.lower_bound({topic, std::numeric_limits<int32_t>::min()});
    while (it != offsets.end() && it->first.first == topic) {
      live_bytes_ -= commit_record_bytes(git->first, topic, it->second.metadata);
      it = offsets.erase(it);
    }
    git = offsets.empty() ? groups_.erase(git) : std::next(git);
  }
}

void GroupOffsetStore::append(const std::string& record) {
  auto undo_and_fail = [&](const std::string& what, int err) {
    // Best effort: leave no partial record behind for the next append to
    // sit after (it overwrites from size_ anyway, but replay need not see
    // stale bytes if this was the last write before a stop).
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
      spdlog::warn("{}: could not cut back to {} bytes after a failed write: {}", path_, size_,
                   errno_text(errno));
    }
    fail_io(what, err);
  };
  size_t done = 0;
  while (done < record.size()) {
    const ssize_t n =
        ::pwrite(fd_, record.data() + done, record.size() - done, static_cast<off_t>(size_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      undo_and_fail("writing an offset record at position " + std::to_string(size_) + " failed", err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fdatasync(fd_) != 0) {
    const int err = errno;
    undo_and_fail("syncing an offset record failed", err);
  }
  if (dir_sync_pending_) {
    try {
      sync_dir();
    } catch (const Error&) {
      if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
        spdlog::warn("{}: could not cut back to {} bytes: {}", path_, size_, errno_text(errno));
      }
      throw;
    }
  }
  size_ += record.size();
}

void GroupOffsetStore::commit(const std::string& group, const std::string& topic, int32_t partition,
                              int64_t offset, const std::string& metadata, int64_t now_ms) {
  if (commit_record_bytes(group, topic, metadata) - kHeaderBytes > kMaxPayloadBytes) {
    fail(KEEL_ERR_INVALID_ARGUMENT, "offset commit of group '" + group + "' for " + topic + "-" +
                                        std::to_string(partition) + " is too large (" +
                                        std::to_string(metadata.size()) + " bytes of metadata); shorten it");
  }
  CommittedOffset c{offset, metadata, now_ms};
  const std::string record = commit_record(group, topic, partition, c);
  std::lock_guard io(io_mu_);
  append(record);
  {
    std::unique_lock state(state_mu_);
    auto [it, inserted] = groups_[group].try_emplace({topic, partition});
    if (!inserted) live_bytes_ -= commit_record_bytes(group, topic, it->second.metadata);
    live_bytes_ += commit_record_bytes(group, topic, metadata);
    it->second = std::move(c);
  }
  maybe_compact();
}

std::optional<CommittedOffset> GroupOffsetStore::fetch(const std::string& group, const std::string& topic,
                                                       int32_t partition) const {
  std::shared_lock state(state_mu_);
  auto git = groups_.find(group);
  if (git == groups_.end()) return std::nullopt;
  auto it = git->second.find({topic, partition});
  if (it == git->second.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> GroupOffsetStore::groups() const {
  std::shared_lock state(state_mu_);
  std::vector<std::string> out;
  out.reserve(groups_.size());
  for (const auto& [group, offsets] : groups_) out.push_back(group);
  return out;
}

std::map<std::pair<std::string, int32_t>, CommittedOffset> GroupOffsetStore::group_offsets(
    const std::string& group) const {
  std::shared_lock state(state_mu_);
  auto git = groups_.find(group);
  if (git == groups_.end()) return {};
  return git->second;
}

void GroupOffsetStore::remove_topic(const std::string& topic) {
  std::lock_guard io(io_mu_);
  {
    std::shared_lock state(state_mu_);
    const bool used = std::any_of(groups_.begin(), groups_.end(), [&](const auto& g) {
      auto it = g.second.lower_bound({topic, std::numeric_limits<int32_t>::min()});
      return it != g.second.end() && it->first.first == topic;
    });
    if (!used) return;
  }
  append(remove_topic_record(topic));
  {
    std::unique_lock state(state_mu_);
    erase_topic(topic);
  }
  maybe_compact();
}

void GroupOffsetStore::maybe_compact() {
  if (size_ <= std::max<uint64_t>(options_.compact_min_bytes, 4 * live_bytes_)) return;
  try {
    compact();
  } catch (const Error& e) {
    // Everything is already durable in the long journal; compaction is only
    // housekeeping, so a failure must not fail the commit that triggered it.
    spdlog::warn("{}: compaction failed, keeping the longer journal: {}", path_, e.what());
  }
}

void GroupOffsetStore::compact() {
  std::string content;
  {
    std::shared_lock state(state_mu_);
    content.reserve(live_bytes_);
    for (const auto& [group, offsets] : groups_) {
      for (const auto& [key, c] : offsets) content += commit_record(group, key.first, key.second, c);
    }
  }
  const std::string tmp = path_ + ".tmp";
  const int tfd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (tfd < 0) {
    const int err = errno;
    fail_io("cannot create " + tmp + " for compaction", err);
  }
  auto abandon = [&](const std::string& what, int err) {
    ::close(tfd);
    ::unlink(tmp.c_str());
    fail_io(what, err);
  };
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(tfd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      abandon("writing " + tmp + " for compaction failed", err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fdatasync(tfd) != 0) {
    const int err = errno;
    abandon("syncing " + tmp + " for compaction failed", err);
  }
  // Lock before the rename so that nobody can open and lock the new journal
  // in between.
  if (::flock(tfd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    abandon("locking " + tmp + " for compaction failed", err);
  }
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    abandon("renaming " + tmp + " over the journal failed", err);
  }

  const uint64_t before = size_;
  ::close(fd_);
  fd_ = tfd;
  size_ = content.size();
  try {
    sync_dir();
  } catch (const Error&) {
    // Until the rename is durable a crash may bring back the old journal,
    // which lacks what we append next: sync again before acknowledging.
    dir_sync_pending_ = true;
    throw;
  }
  spdlog::info("{}: compacted from {} to {} bytes", path_, before, size_);
}

}  // namespace keel
