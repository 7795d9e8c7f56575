#include "storage/spare_segment.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <keel/record_batch.hpp>
#include <optional>
#include <vector>

#include "common/error.hpp"
#include "storage/file_releaser.hpp"
#include "storage/segment.hpp"

namespace keel::spare_segment {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPrefix = "spare-";
constexpr std::string_view kSuffix = ".segment";

// N of "spare-<N>.segment", or nullopt for any other name.
std::optional<int64_t> next_offset_of(const std::string& name) {
  if (name.size() != kPrefix.size() + 20 + kSuffix.size() || !name.starts_with(kPrefix) ||
      !name.ends_with(kSuffix)) {
    return std::nullopt;
  }
  const std::string digits = name.substr(kPrefix.size(), 20);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoll(digits);
}

struct Spare {
  std::string path;
  int64_t next_offset;
};

// Oldest (lowest offsets) first.
std::vector<Spare> list(const std::string& dir) {
  std::vector<Spare> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (auto n = next_offset_of(name)) out.push_back({entry.path().string(), *n});
  }
  std::sort(out.begin(), out.end(),
            [](const Spare& a, const Spare& b) { return a.next_offset < b.next_offset; });
  return out;
}

}  // namespace

std::string path(const std::string& dir, int64_t next_offset) {
  return dir + "/" + std::string(kPrefix) + Segment::file_name(next_offset) + std::string(kSuffix);
}

std::string prepared_path(const std::string& dir) { return path(dir, 0); }

std::string take(const std::string& dir, int64_t base) {
  std::string chosen;
  for (const auto& s : list(dir)) {
    if (s.next_offset <= base) {
      chosen = s.path;  // the list is oldest first: the last that fits wins
      continue;
    }
    // Offsets at or above `base` may be written again (the log was cut
    // back below them): such a file's batches could pass for new ones.
    file_releaser::remove(s.path);
    spdlog::debug("removed spare segment file '{}' (holds offsets up to {}; the next segment starts at {})",
                  s.path, s.next_offset - 1, base);
  }
  return chosen;
}

size_t count(const std::string& dir) { return list(dir).size(); }

size_t drop_overwritten(const std::string& dir) {
  size_t dropped = 0;
  for (const auto& s : list(dir)) {
    if (s.next_offset == 0) {
      file_releaser::remove(s.path);
      spdlog::info(
          "removed prepared spare segment file '{}' at an unclean start: a segment may have been "
          "written into it and lost its name (nothing in it was promised durable); a new one is "
          "prepared when the partition fills half a segment",
          s.path);
      ++dropped;
      continue;
    }
    const int fd = ::open(s.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    uint8_t head[batch::kHeaderSize] = {};
    const ssize_t n = ::pread(fd, head, sizeof head, 0);
    ::close(fd);
    const auto h = batch::parse_header(head, n < 0 ? 0 : static_cast<size_t>(n));
    if (!h || h->base_offset < s.next_offset) continue;
    const int64_t base = h->base_offset;
    file_releaser::remove(s.path);
    spdlog::warn(
        "removed spare segment file '{}': it starts with a batch at offset {}, at or above the {} its name "
        "allows, so a segment was written over it and lost its name at an unclean stop (a new segment's "
        "name is synced with its first data sync, so nothing in it had been promised durable)",
        s.path, base, s.next_offset);
    ++dropped;
  }
  return dropped;
}

int64_t trim(const std::string& dir, size_t keep) {
  const auto spares = list(dir);
  int64_t freed = 0;
  for (size_t i = 0; i + keep < spares.size(); ++i) {
    // A spare is a whole segment's file: its blocks go a chunk at a time.
    freed += std::max<int64_t>(0, file_releaser::remove(spares[i].path));
  }
  return freed;
}

bool room_for(const std::string& dir, int64_t bytes) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return false;
  const auto unit = static_cast<int64_t>(st.f_frsize);
  const int64_t free_bytes = static_cast<int64_t>(st.f_bavail) * unit;
  const int64_t total = static_cast<int64_t>(st.f_blocks) * unit;
  return free_bytes >= 2 * bytes && free_bytes >= total / 20;
}

Prepared prepare(const std::string& dir, int64_t bytes, const std::function<bool()>& cancelled,
                 std::string* why) {
  const std::string temp = dir + "/" + kPreparingName;
  const int fd = ::open(temp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int e = errno;
    *why = "cannot create '" + temp + "': " + errno_text(e);
    return Prepared::kFailed;
  }
  Prepared outcome = Prepared::kMade;
  for (int64_t at = 0; at < bytes && outcome == Prepared::kMade; at += kPrepareChunkBytes) {
    if (cancelled()) {
      outcome = Prepared::kCancelled;
      break;
    }
    // Mode 0 grows the size with the blocks: the segment made from it is
    // already segment_bytes long, so its preallocation has nothing to do.
    if (::fallocate(fd, 0, at, std::min(kPrepareChunkBytes, bytes - at)) != 0) {
      const int e = errno;
      outcome = e == EOPNOTSUPP ? Prepared::kUnsupported : Prepared::kFailed;
      *why = "allocating " + std::to_string(bytes) + " bytes for '" + temp + "' failed at byte " +
             std::to_string(at) + ": " + errno_text(e);
    }
  }
  if (outcome == Prepared::kMade) {
    const std::string final_path = prepared_path(dir);
    if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, final_path.c_str(), RENAME_NOREPLACE) != 0) {
      const int e = errno;
      outcome = e == EEXIST ? Prepared::kAlreadyThere : Prepared::kFailed;
      *why = "cannot rename '" + temp + "' to '" + final_path + "': " + errno_text(e);
    }
  }
  if (outcome == Prepared::kMade) {
    ::close(fd);
    return outcome;
  }
  // Its blocks go a chunk at a time, as any deleted segment's.
  if (::unlink(temp.c_str()) == 0) {
    file_releaser::release(fd);
  } else {
    ::close(fd);
  }
  return outcome;
}

void remove_unfinished(const std::string& dir) { file_releaser::remove(dir + "/" + kPreparingName); }

}  // namespace keel::spare_segment
