#include "segment.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <keel/codec.hpp>
#include <keel/record_batch.hpp>
#include <limits>

#include "error.hpp"

namespace keel {
namespace {

constexpr int64_t kHeader = static_cast<int64_t>(batch::kHeaderSize);

void check_io(ssize_t rc, const std::string& what, const std::string& path) {
  if (rc < 0) {
    int e = errno;
    fail(status_from_errno(e), what + " '" + path + "' failed: " + errno_text(e));
  }
}

// pread that loops over short reads; returns bytes read (less at EOF).
int64_t read_fully(int fd, uint8_t* buf, int64_t len, int64_t pos, const std::string& path) {
  int64_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, buf + done, len - done, pos + done);
    if (n < 0 && errno == EINTR) continue;
    check_io(n, "read of", path);
    if (n == 0) break;
    done += n;
  }
  return done;
}

}  // namespace

std::string Segment::file_name(int64_t base_offset) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020" PRId64, base_offset);
  return buf;
}

std::vector<std::string> Segment::files_of(const std::string& dir, const std::string& stem) {
  std::vector<std::string> out;
  const std::string lead = stem + ".";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(lead) || name.ends_with(".deleted")) continue;
    const std::string rest = name.substr(lead.size());
    if (rest.starts_with("cleaned.") || rest.starts_with("swap.")) continue;
    out.push_back(name);
  }
  if (ec) fail(KEEL_ERR_IO, "cannot list partition directory '" + dir + "': " + ec.message());
  return out;
}

Segment::Segment(const std::string& dir, int64_t base_offset, std::vector<IndexSpec> indexes,
                 std::string stem)
    : dir_(dir),
      prefix_(dir + "/" + (stem.empty() ? file_name(base_offset) : stem)),
      base_offset_(base_offset),
      specs_(std::move(indexes)),
      next_offset_(base_offset) {
  path_ = prefix_ + ".log";
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  check_io(fd_, "open of segment", path_);
  struct stat st {};
  check_io(::fstat(fd_, &st), "stat of segment", path_);
  size_.store(st.st_size);
}

Segment::~Segment() {
  // After rename_aside() the original names belong to the replacement: the
  // index plugins must not delete by them, and only the renamed files go.
  const bool renamed = !renamed_.empty();
  const bool remove = deleted_.load() && !renamed;
  for (auto& idx : indexes_) idx.vt->close(idx.handle, remove ? 1 : 0);
  if (fd_ >= 0) ::close(fd_);
  // Readers that still hold the file keep reading it: unlinking only drops
  // the name.
  if (remove) ::unlink(path_.c_str());
  for (const auto& p : renamed_) ::unlink(p.c_str());
}

void Segment::rename_aside() {
  const std::string stem = prefix_.substr(dir_.size() + 1);
  for (const auto& name : files_of(dir_, stem)) {
    const std::string from = dir_ + "/" + name;
    const std::string to = from + ".deleted";
    if (::rename(from.c_str(), to.c_str()) != 0) {
      int e = errno;
      fail(status_from_errno(e), "rename of replaced segment file '" + from + "' to '" + to + "' failed: " +
                                     errno_text(e) + "; restart the broker to finish the swap");
    }
    renamed_.push_back(to);
  }
}

void Segment::for_each_batch(const std::function<bool(const uint8_t*, size_t)>& visit) const {
  const int64_t limit = size();
  std::vector<uint8_t> buf;
  int64_t pos = 0;
  uint8_t hdr[batch::kHeaderSize];
  while (read_header(pos, limit, hdr)) {
    auto h = batch::parse_header(hdr, sizeof hdr);
    const int64_t total = h ? static_cast<int64_t>(h->batch_length) + 12 : 0;
    if (total < kHeader || pos + total > limit) {
      fail(KEEL_ERR_CORRUPT, "segment '" + path_ + "' has an unreadable batch at position " +
                                 std::to_string(pos) +
                                 "; restart the broker after an unclean stop to verify it");
    }
    buf.resize(static_cast<size_t>(total));
    if (read_fully(fd_, buf.data(), total, pos, path_) != total) {
      fail(KEEL_ERR_IO, "short read of segment '" + path_ + "' at position " + std::to_string(pos));
    }
    if (!visit(buf.data(), buf.size())) return;
    pos += total;
  }
}

bool Segment::read_header(int64_t pos, int64_t limit, uint8_t* out) const {
  if (pos + kHeader > limit) return false;
  return read_fully(fd_, out, kHeader, pos, path_) == kHeader;
}

void Segment::truncate_file(int64_t size) {
  check_io(::ftruncate(fd_, size), "truncate of segment", path_);
  size_.store(size, std::memory_order_release);
}

int64_t Segment::verify_batches() {
  const int64_t file_size = size_.load();
  std::vector<uint8_t> buf;
  int64_t pos = 0;
  int64_t expected_offset = base_offset_;
  while (pos < file_size) {
    uint8_t hdr[batch::kHeaderSize];
    if (!read_header(pos, file_size, hdr)) {
      truncation_reason_ = "torn batch header (" + std::to_string(file_size - pos) + " bytes)";
      return pos;
    }
    auto h = batch::parse_header(hdr, sizeof hdr);
    int64_t total = h ? static_cast<int64_t>(h->batch_length) + 12 : 0;
    if (!h || h->batch_length < kHeader - 12 || pos + total > file_size) {
      truncation_reason_ = h && pos + total > file_size
                               ? "torn batch: needs " + std::to_string(total) + " bytes, " +
                                     std::to_string(file_size - pos) + " present"
                               : "invalid batch length";
      return pos;
    }
    buf.resize(total);
    if (read_fully(fd_, buf.data(), total, pos, path_) != total) {
      truncation_reason_ = "short read";
      return pos;
    }
    std::string why = batch::validate(buf.data(), buf.size());
    if (why.empty() && h->base_offset < expected_offset) {
      why = "batch offset " + std::to_string(h->base_offset) +
            " goes backwards (expected >= " + std::to_string(expected_offset) + ")";
    }
    if (!why.empty()) {
      truncation_reason_ = why;
      return pos;
    }
    expected_offset = h->last_offset() + 1;
    pos += total;
  }
  return pos;
}

SegmentRecovery Segment::recover(bool verify, bool writable) {
  SegmentRecovery result;
  if (verify) {
    int64_t before = size_.load();
    int64_t valid = verify_batches();
    if (valid < before) {
      result.truncated_bytes = before - valid;
      result.truncation_reason = truncation_reason_;
      truncate_file(valid);
    }
  }
  const int64_t log_size = size_.load();

  int64_t replay_from = log_size;
  for (const auto& spec : specs_) {
    IndexInstance inst;
    inst.spec = spec;
    inst.vt = spec.strategy.vt<keel_index_vtable>();
    keel_index_open_args args{};
    args.struct_size = sizeof args;
    args.path_prefix = prefix_.c_str();
    args.base_offset = base_offset_;
    args.log_size = log_size;
    args.writable = writable ? 1 : 0;
    args.config = spec.config;
    keel_error err{};
    keel_status s = inst.vt->open(spec.strategy.host(), &args, &inst.handle, &err);
    if (s != KEEL_OK) {
      fail(s, "index '" + spec.strategy.name + "' of segment '" + path_ + "' failed to open: " + err.message);
    }
    indexes_.push_back(inst);
    replay_from = std::min(replay_from, std::max<int64_t>(0, inst.vt->recovery_position(inst.handle)));
  }
  // Without indexes nothing remembers where batches end; without a time
  // index nothing summarises the timestamps before the replay point, and
  // max_timestamp() (retention, find_time) must cover every batch.
  if (specs_.empty() || index_with(KEEL_INDEX_CAN_LOOKUP_TIME) == nullptr) replay_from = 0;

  // Walk the batch headers the indexes have not seen (and, without indexes,
  // all of them) to learn the segment's last offset and newest timestamp.
  std::vector<int64_t> index_from;
  for (auto& inst : indexes_) index_from.push_back(inst.vt->recovery_position(inst.handle));
  int64_t limit = log_size;
  int64_t pos = replay_from;
  int64_t last_seen = -1;
  int64_t max_ts = -1;
  while (pos < limit) {
    uint8_t hdr[batch::kHeaderSize];
    auto h = read_header(pos, limit, hdr) ? batch::parse_header(hdr, sizeof hdr) : std::nullopt;
    int64_t total = h ? static_cast<int64_t>(h->batch_length) + 12 : 0;
    if (!h || total < kHeader || pos + total > limit) {
      // Only reachable without `verify`: a damaged file behind a clean
      // shutdown marker. Keep what precedes the damage.
      result.truncated_bytes += limit - pos;
      result.truncation_reason = "unreadable batch header at position " + std::to_string(pos);
      truncate_file(pos);
      for (auto& inst : indexes_) inst.vt->truncate(inst.handle, pos, nullptr);
      if (indexes_.empty()) break;  // the walk started at 0: it saw every batch kept
      // The cut may drop the index entries the walk started from, and with
      // them every batch seen so far: walk again from where the truncated
      // indexes need batches, so that they are complete (as truncate()
      // requires) and the segment's last offset is known.
      limit = pos;
      index_from.clear();
      for (auto& inst : indexes_) {
        index_from.push_back(std::max<int64_t>(0, inst.vt->recovery_position(inst.handle)));
        pos = std::min(pos, index_from.back());
      }
      continue;
    }
    BatchMeta meta{h->base_offset, h->last_offset(), h->max_timestamp, static_cast<int32_t>(total)};
    for (size_t i = 0; i < indexes_.size(); ++i) {
      if (pos < index_from[i]) continue;
      keel_batch_info info{
          sizeof(keel_batch_info), meta.base_offset, meta.last_offset, meta.max_timestamp, pos, meta.size};
      keel_error err{};
      const keel_status s = indexes_[i].vt->on_append(indexes_[i].handle, &info, &err);
      if (s != KEEL_OK) {
        // The status is kept: NO_SPACE lets the partition open this segment
        // without its indexes instead of failing the start.
        fail(s == KEEL_ERR_NO_SPACE ? s : KEEL_ERR_IO, "index '" + indexes_[i].spec.strategy.name + "' of '" +
                                                           path_ + "' failed during recovery at position " +
                                                           std::to_string(pos) + ": " + err.message);
      }
    }
    last_seen = meta.last_offset;
    max_ts = std::max(max_ts, meta.max_timestamp);
    ++result.batches_scanned;
    pos += total;
  }
  if (last_seen >= 0) next_offset_.store(last_seen + 1);
  // Batches before the replay point are summarised by a time index, if any.
  if (const IndexInstance* ti = index_with(KEEL_INDEX_CAN_LOOKUP_TIME)) {
    keel_index_entry e{sizeof e, 0, 0, -1};
    if (ti->vt->lookup_time(ti->handle, std::numeric_limits<int64_t>::max(), &e) == KEEL_OK) {
      max_ts = std::max(max_ts, e.timestamp);
    }
  }
  max_timestamp_.store(max_ts);
  if (!writable) seal();
  return result;
}

void Segment::index_append(const BatchMeta& meta, int64_t position) {
  keel_batch_info info{sizeof(keel_batch_info), meta.base_offset, meta.last_offset,
                       meta.max_timestamp,      position,         meta.size};
  for (auto& inst : indexes_) {
    keel_error err{};
    const keel_status s = inst.vt->on_append(inst.handle, &info, &err);
    if (s != KEEL_OK) {
      // NO_SPACE stays NO_SPACE: a full disk is the operator's to fix
      // (KAFKA_STORAGE_ERROR / HTTP 507), not a broker fault.
      fail(s == KEEL_ERR_NO_SPACE ? s : KEEL_ERR_IO,
           "index '" + inst.spec.strategy.name + "' of segment '" + path_ + "' failed at offset " +
               std::to_string(meta.base_offset) + ": " + err.message);
    }
  }
}

void Segment::append(const struct iovec* iov, int iovcnt, const std::vector<BatchMeta>& batches) {
  const int64_t start = size_.load(std::memory_order_relaxed);
  int64_t total = 0;
  for (int i = 0; i < iovcnt; ++i) total += static_cast<int64_t>(iov[i].iov_len);

  // pwritev may write less than asked; continue from where it stopped.
  std::vector<struct iovec> rest(iov, iov + iovcnt);
  size_t first = 0;
  int64_t written = 0;
  while (written < total) {
    ssize_t n = ::pwritev(fd_, rest.data() + first, static_cast<int>(rest.size() - first), start + written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;
      // Leave no partial batch behind: the log must end on a batch boundary.
      if (::ftruncate(fd_, start) != 0) {
        spdlog::error("segment '{}': could not cut a partial write back to {} bytes: {}", path_, start,
                      errno_text(errno));
      }
      fail(status_from_errno(e), "write to segment '" + path_ + "' at position " + std::to_string(start) +
                                     " failed: " + errno_text(e) +
                                     (e == ENOSPC ? "; free disk space or lower retention" : ""));
    }
    written += n;
    size_t advance = static_cast<size_t>(n);
    while (advance > 0 && first < rest.size()) {
      if (advance >= rest[first].iov_len) {
        advance -= rest[first].iov_len;
        ++first;
      } else {
        rest[first].iov_base = static_cast<char*>(rest[first].iov_base) + advance;
        rest[first].iov_len -= advance;
        advance = 0;
      }
    }
  }

  try {
    int64_t pos = start;
    for (const auto& b : batches) {
      index_append(b, pos);
      pos += b.size;
    }
  } catch (...) {
    if (::ftruncate(fd_, start) != 0)
      spdlog::error("segment '{}': could not cut back after index failure", path_);
    for (auto& inst : indexes_) inst.vt->truncate(inst.handle, start, nullptr);
    throw;
  }
  int64_t max_ts = max_timestamp_.load(std::memory_order_relaxed);
  for (const auto& b : batches) max_ts = std::max(max_ts, b.max_timestamp);
  max_timestamp_.store(max_ts, std::memory_order_release);
  next_offset_.store(batches.back().last_offset + 1, std::memory_order_release);
  size_.store(start + total, std::memory_order_release);
}

const Segment::IndexInstance* Segment::index_with(uint32_t capability) const {
  for (const auto& inst : indexes_) {
    if (inst.vt->capabilities & capability) return &inst;
  }
  return nullptr;
}

Segment::Span Segment::read(int64_t offset, int64_t max_bytes) const {
  const int64_t limit = size();
  int64_t pos = 0;
  if (const IndexInstance* oi = index_with(KEEL_INDEX_CAN_LOOKUP_OFFSET)) {
    keel_index_entry e{sizeof e, base_offset_, 0, -1};
    if (oi->vt->lookup_offset(oi->handle, offset, &e) == KEEL_OK && e.position >= 0 && e.position < limit) {
      pos = e.position;
    }
  }
  uint8_t hdr[batch::kHeaderSize];
  // A length below a header's (bytes damaged on disk behind a clean start,
  // which recovery does not re-read) would never advance: stop there.
  while (read_header(pos, limit, hdr)) {
    auto h = batch::parse_header(hdr, sizeof hdr);
    if (h->last_offset() >= offset) break;
    const int64_t total = static_cast<int64_t>(h->batch_length) + 12;
    if (total < kHeader) return {pos, 0};
    pos += total;
  }
  Span span{pos, 0};
  int64_t cursor = pos;
  while (read_header(cursor, limit, hdr)) {
    auto h = batch::parse_header(hdr, sizeof hdr);
    int64_t total = static_cast<int64_t>(h->batch_length) + 12;
    if (total < kHeader) break;
    if (span.length > 0 && span.length + total > max_bytes) break;
    span.length += total;
    span.records += h->records_count;
    cursor += total;
  }
  return span;
}

std::pair<int64_t, int64_t> Segment::find_time(int64_t timestamp) const {
  const int64_t limit = size();
  int64_t pos = 0;
  if (const IndexInstance* ti = index_with(KEEL_INDEX_CAN_LOOKUP_TIME)) {
    keel_index_entry e{sizeof e, base_offset_, 0, -1};
    if (ti->vt->lookup_time(ti->handle, timestamp, &e) == KEEL_OK && e.position >= 0 && e.position < limit) {
      pos = e.position;
    }
  }
  uint8_t hdr[batch::kHeaderSize];
  std::vector<uint8_t> buf;
  while (read_header(pos, limit, hdr)) {
    auto h = batch::parse_header(hdr, sizeof hdr);
    int64_t total = static_cast<int64_t>(h->batch_length) + 12;
    if (total < kHeader) break;  // damaged length: see read()
    if (h->max_timestamp >= timestamp) {
      if (h->log_append_time()) {
        // Every record carries the append time: the first one answers.
        return {h->base_offset, h->max_timestamp};
      }
      buf.resize(total);
      if (read_fully(fd_, buf.data(), total, pos, path_) == total) {
        for (const auto& r : codec::decode_batch(buf.data(), buf.size())) {
          if (r.timestamp >= timestamp) return {r.offset, r.timestamp};
        }
      }
      return {h->base_offset, h->max_timestamp};
    }
    pos += total;
  }
  return {-1, -1};
}

void Segment::probe_space(int64_t bytes) {
  const int64_t end = size();
  struct stat before {};
  check_io(::fstat(fd_, &before), "stat of segment", path_);
  if (::fallocate(fd_, FALLOC_FL_KEEP_SIZE, end, bytes) != 0) {
    const int e = errno;
    if (e == EOPNOTSUPP || e == ENOSYS) return;  // the file system cannot tell ahead
    fail(status_from_errno(e), "reserving " + std::to_string(bytes) + " bytes after the end of segment '" +
                                   path_ +
                                   "' (room for one batch of max_batch_bytes) failed: " + errno_text(e));
  }
  // Give the blocks back: an idle partition should not hold them. A cut to
  // the same size frees blocks allocated beyond it (ext4, xfs, tmpfs).
  check_io(::ftruncate(fd_, end), "release of probed space of segment", path_);
  // The cut stamps the file as modified; time retention reads that stamp.
  const struct timespec times[2] = {{0, UTIME_OMIT}, before.st_mtim};
  check_io(::futimens(fd_, times), "restoring the modification time of segment", path_);
}

void Segment::sync_log() {
  if (::fdatasync(fd_) != 0) {
    int e = errno;
    fail(status_from_errno(e), "fdatasync of segment '" + path_ + "' failed: " + errno_text(e));
  }
}

void Segment::flush() {
  sync_log();
  for (auto& inst : indexes_) {
    keel_error err{};
    if (inst.vt->flush(inst.handle, &err) != KEEL_OK) {
      // An index can always be rebuilt from the log; the log is what counts.
      spdlog::warn("flush of index '{}' of '{}' failed: {}", inst.spec.strategy.name, path_, err.message);
    }
  }
}

void Segment::seal() {
  for (auto& inst : indexes_) {
    keel_error err{};
    if (inst.vt->seal(inst.handle, &err) != KEEL_OK) {
      spdlog::warn("sealing index '{}' of '{}' failed: {}", inst.spec.strategy.name, path_, err.message);
    }
  }
}

int64_t Segment::last_modified_ms() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return 0;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

int64_t Segment::index_entries() const {
  int64_t n = 0;
  for (const auto& inst : indexes_) n += std::max<int64_t>(0, inst.vt->entry_count(inst.handle));
  return n;
}

keel_segment_info Segment::info() const {
  keel_segment_info i{};
  i.struct_size = sizeof i;
  i.base_offset = base_offset_;
  i.next_offset = next_offset();
  i.size_bytes = size();
  i.max_timestamp = max_timestamp();
  i.last_modified_ms = last_modified_ms();
  return i;
}

}  // namespace keel
