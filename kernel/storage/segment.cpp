#include "storage/segment.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <keel/codec.hpp>
#include <keel/record_batch.hpp>
#include <limits>

#include "common/error.hpp"
#include "common/file_util.hpp"
#include "observability/rate_limited_log.hpp"
#include "plugins/plugin_config.hpp"
#include "storage/file_releaser.hpp"

namespace keel {
namespace {

constexpr int64_t kHeader = static_cast<int64_t>(batch::kHeaderSize);

void check_io(ssize_t rc, const std::string& what, const std::string& path) {
  if (rc < 0) {
    int e = errno;
    fail(status_from_errno(e), what + " '" + path + "' failed: " + errno_text(e));
  }
}

// What a lookup answers when the index has no entry: scan from the start.
keel_index_entry empty_entry(int64_t base_offset) {
  keel_index_entry e{};
  e.struct_size = sizeof e;
  e.offset = base_offset;
  e.timestamp = -1;
  return e;
}

keel_batch_info batch_info(const BatchMeta& meta, int64_t position) {
  keel_batch_info info{};
  info.struct_size = sizeof info;
  info.size = meta.size;
  info.base_offset = meta.base_offset;
  info.last_offset = meta.last_offset;
  info.max_timestamp = meta.max_timestamp;
  info.position = position;
  return info;
}

}  // namespace

bool Segment::lookup(const IndexInstance& inst, uint32_t capability, int64_t key, keel_index_entry* e) const {
  keel_error err{};
  const bool by_time = capability == KEEL_INDEX_CAN_LOOKUP_TIME;
  const keel_status s = by_time ? inst.vt->lookup_time(inst.handle, key, e, &err)
                                : inst.vt->lookup_offset(inst.handle, key, e, &err);
  if (s == KEEL_OK) return true;
  // A failing index costs speed, not correctness (the caller scans the log
  // instead); the plugin's reason goes to the log, rate-limited.
  const char* plugin = inst.spec.strategy.library->descriptor->name;
  log_plugin_failure("index", inst.spec.strategy.name, plugin != nullptr ? plugin : "?",
                     std::string(by_time ? "lookup_time(" : "lookup_offset(") + std::to_string(key) + ")",
                     "segment '" + path_ + "'", s, err.message);
  return false;
}

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
                 std::string stem, const std::string& reuse)
    : dir_(dir),
      prefix_(dir + "/" + (stem.empty() ? file_name(base_offset) : stem)),
      base_offset_(base_offset),
      specs_(std::move(indexes)),
      next_offset_(base_offset) {
  path_ = prefix_ + ".log";
  // RENAME_NOREPLACE: a file already at this name is never replaced (its
  // data would be lost); the segment then opens it as it would without a
  // spare, and the spare stays for a later roll.
  bool reusing = false;
  if (!reuse.empty()) {
    if (::renameat2(AT_FDCWD, reuse.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE) == 0) {
      reusing = true;
    } else if (errno != EEXIST && errno != ENOENT) {
      spdlog::warn("cannot reuse spare segment file '{}' as '{}': {}; creating a new file", reuse, path_,
                   errno_text(errno));
    }
  }
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  check_io(fd_, "open of segment", path_);
  struct stat st {};
  check_io(::fstat(fd_, &st), "stat of segment", path_);
  file_size_ = st.st_size;
  stale_until_ = st.st_size;
  // A reused file holds another segment's bytes: this segment's data starts
  // empty, at byte 0.
  size_.store(reusing ? 0 : st.st_size);
  reused_ = reusing;
}

Segment::~Segment() {
  // After rename_aside() the original names belong to the replacement: the
  // index plugins must not delete by them, and only the renamed files go.
  const bool renamed = !renamed_.empty();
  const bool remove = deleted_.load() && !renamed;
  for (auto& idx : indexes_) idx.vt->close(idx.handle, remove ? 1 : 0);
  // No reader is left (this is the last user), so the file's blocks may be
  // written over: recycle it when asked to. A spare already there, or a
  // partition directory deleted meanwhile, and it goes as any other.
  if (remove && !recycle_to_.empty() &&
      ::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, recycle_to_.c_str(), RENAME_NOREPLACE) == 0) {
    if (fd_ >= 0) ::close(fd_);
    return;
  }
  // The name goes now; the blocks go a chunk at a time on the releaser's
  // thread, so that their discards never hold the device for long.
  if (remove && ::unlink(path_.c_str()) == 0) {
    file_releaser::release(fd_);
  } else if (fd_ >= 0) {
    ::close(fd_);
  }
  for (const auto& p : renamed_) file_releaser::remove(p);
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

void Segment::for_each_batch(const std::function<bool(const uint8_t*, size_t)>& visit,
                             const std::function<void(const DamagedRange&)>& on_damage) const {
  const int64_t limit = size();
  std::vector<uint8_t> buf;
  int64_t pos = 0;
  int64_t min_base = base_offset_;
  while (pos < limit) {
    if (auto d = damage_at(pos)) {
      if (!on_damage) fail_damaged(*d, d->first_offset);
      on_damage(*d);
      pos = d->end_position;
      min_base = std::max(min_base, d->last_offset + 1);
      continue;
    }
    std::string why;
    const bool check = !verified_.covers(pos, pos + kHeader);
    auto h = probe_batch(fd_, path_, pos, limit, {min_base, end_offset_}, check, buf, &why);
    if (!h) {
      quarantine(pos, min_base, limit, why);
      continue;  // damage_at(pos) now answers
    }
    const int64_t total = static_cast<int64_t>(h->total_size());
    if (!check) {
      buf.resize(static_cast<size_t>(total));
      if (read_at(fd_, buf.data(), total, pos, path_) != total) {
        fail(KEEL_ERR_IO, "short read of segment '" + path_ + "' at position " + std::to_string(pos));
      }
    } else {
      verified_.add(pos, pos + total);
    }
    if (!visit(buf.data(), buf.size())) return;
    pos += total;
    min_base = h->last_offset() + 1;
  }
}

bool Segment::read_header(int64_t pos, int64_t limit, uint8_t* out) const {
  if (pos + kHeader > limit) return false;
  return read_at(fd_, out, kHeader, pos, path_) == kHeader;
}

void Segment::truncate_file(int64_t size) {
  check_io(::ftruncate(fd_, size), "truncate of segment", path_);
  recent_.cut(size);
  file_size_ = size;
  stale_until_ = std::min(stale_until_, size);
  size_.store(size, std::memory_order_release);
  int64_t wb = written_back_.load();
  while (wb > size && !written_back_.compare_exchange_weak(wb, size)) {
  }
}

bool Segment::unused_from(int64_t pos, int64_t limit, int64_t min_base) const {
  const int64_t expected_end = end_offset_ != INT64_MAX ? end_offset_ : acknowledged_end_;
  uint8_t header[batch::kHeaderSize];
  return min_base >= expected_end && read_header(pos, limit, header) && unused_header(header, base_offset_);
}

void Segment::end_data_at(int64_t pos, bool writable, SegmentRecovery& result) {
  result.unused_bytes = size_.load() - pos;
  if (writable) {
    truncate_file(pos);
  } else {
    size_.store(pos, std::memory_order_release);
  }
}

void Segment::trim_unused() {
  const int64_t end = size();
  if (file_size_ <= end) return;
  set_file_size(end, "cut of the unused rest of segment");
}

void Segment::preallocate(int64_t bytes) {
  if (file_size_ >= bytes) return;
  set_file_size(bytes, "preallocation of segment");
}

void Segment::set_file_size(int64_t bytes, const char* what) {
  // Time retention falls back on the file's modification time for a
  // segment without timestamps: a change of size alone must not make the
  // segment look newer.
  struct stat before {};
  check_io(::fstat(fd_, &before), "stat of segment", path_);
  check_io(::ftruncate(fd_, bytes), what, path_);
  file_size_ = bytes;
  stale_until_ = std::min(stale_until_, bytes);
  const struct timespec times[2] = {{0, UTIME_OMIT}, before.st_mtim};
  check_io(::futimens(fd_, times), "restoring the modification time of segment", path_);
}

std::optional<DamagedRange> Segment::damage_at(int64_t pos) const {
  if (!has_damage_.load(std::memory_order_acquire)) return std::nullopt;
  std::lock_guard lock(damage_mu_);
  for (const auto& d : damaged_) {
    if (pos >= d.position && pos < d.end_position) return d;
  }
  return std::nullopt;
}

std::vector<DamagedRange> Segment::damaged_ranges() const {
  std::lock_guard lock(damage_mu_);
  return damaged_;
}

bool Segment::damaged_tail() const {
  std::lock_guard lock(damage_mu_);
  return !damaged_.empty() && damaged_.back().end_position >= size();
}

DamagedRange Segment::quarantine(int64_t pos, int64_t min_base, int64_t limit, const std::string& why) const {
  if (auto known = damage_at(pos)) return *known;
  batch::Header next{};
  // The declared length may still be right (a flipped payload byte): try
  // the batch it points at before scanning byte by byte.
  int64_t resume = -1;
  std::vector<uint8_t> scratch;
  uint8_t hdr[batch::kHeaderSize];
  if (read_header(pos, limit, hdr)) {
    const int64_t declared = static_cast<int64_t>(batch::parse_header(hdr, sizeof hdr)->batch_length) + 12;
    std::string ignored;
    if (declared >= kHeader && pos + declared < limit) {
      if (auto h = probe_batch(fd_, path_, pos + declared, limit, {min_base, end_offset_}, true, scratch,
                               &ignored)) {
        resume = pos + declared;
        next = *h;
      }
    }
  }
  if (resume < 0) resume = find_next_batch(fd_, path_, pos + 1, limit, {min_base, end_offset_}, &next);
  DamagedRange d;
  d.file = path_;
  d.position = pos;
  d.reason = why;
  d.first_offset = min_base;
  if (resume >= 0) {
    d.end_position = resume;
    d.last_offset = next.base_offset - 1;
  } else {
    d.end_position = limit;
    // Nothing readable follows: the damage reaches the next segment, or at
    // least the end of what was acknowledged.
    d.last_offset = end_offset_ != INT64_MAX ? end_offset_ - 1 : std::max(min_base, acknowledged_end_) - 1;
  }
  {
    std::lock_guard lock(damage_mu_);
    for (const auto& known : damaged_) {
      if (pos >= known.position && pos < known.end_position) return known;  // a racing reader won
    }
    damaged_.push_back(d);
    std::sort(damaged_.begin(), damaged_.end(),
              [](const DamagedRange& a, const DamagedRange& b) { return a.position < b.position; });
    has_damage_.store(true, std::memory_order_release);
  }
  spdlog::error(
      "damaged log data: {}; {} bytes quarantined, the batches before and after are served. Reads of these "
      "offsets fail with a storage error; 'keel-tool verify' lists the damage and 'keel-tool salvage' "
      "copies out what is readable (docs/operations.md)",
      d.describe(), d.end_position - d.position);
  return d;
}

DamagedRange Segment::quarantine_walk(int64_t prev, int64_t prev_min_base, int64_t pos, int64_t min_base,
                                      int64_t limit, const std::string& why) const {
  // A walk of headers trusts each batch's length to find the next one: when
  // that lands on no batch, the length itself may be what is damaged. The
  // CRC of the batch it came from decides which one is.
  if (prev >= 0 && !damage_at(prev) && !verified_.covers(prev, pos)) {
    std::vector<uint8_t> buf;
    std::string prev_why;
    if (!probe_batch(fd_, path_, prev, limit, {prev_min_base, end_offset_}, true, buf, &prev_why)) {
      return quarantine(prev, prev_min_base, limit, prev_why);
    }
  }
  return quarantine(pos, min_base, limit, why);
}

std::optional<batch::Header> Segment::next_header(
    HeaderWalk& w, int64_t limit, const std::function<void(const DamagedRange&)>& skipped) const {
  for (;;) {
    if (auto d = damage_at(w.pos)) {
      if (skipped) skipped(*d);
      w.pos = d->end_position;
      w.min_base = std::max(w.min_base, d->last_offset + 1);
      w.prev = -1;
      continue;
    }
    uint8_t hdr[batch::kHeaderSize];
    if (!read_header(w.pos, limit, hdr)) {
      if (w.pos >= limit) return std::nullopt;
      // A header cut by the end of the data.
      quarantine_walk(w.prev, w.prev_min_base, w.pos, w.min_base, limit,
                      "torn batch header (" + std::to_string(limit - w.pos) + " bytes)");
      continue;
    }
    auto h = batch::parse_header(hdr, sizeof hdr);
    const std::string why = implausible_header(*h, w.pos, limit, {w.min_base, end_offset_});
    if (why.empty()) return h;
    if (w.unused_ends_data && unused_from(w.pos, limit, w.min_base)) {
      w.unused_at = w.pos;
      return std::nullopt;
    }
    const DamagedRange d = quarantine_walk(w.prev, w.prev_min_base, w.pos, w.min_base, limit, why);
    if (d.position < w.pos) {
      w.pos = d.position;
      w.min_base = w.prev_min_base;
    }
  }
}

void Segment::for_each_header(const std::function<bool(const batch::Header&)>& visit) const {
  HeaderWalk w{0, base_offset_};
  const int64_t limit = size();
  while (auto h = next_header(w, limit, {})) {
    if (!visit(*h)) return;
    w.advance(*h);
  }
}

void Segment::HeaderWalk::advance(const batch::Header& h) {
  prev = pos;
  prev_min_base = min_base;
  pos += static_cast<int64_t>(h.total_size());
  min_base = h.last_offset() + 1;
}

void Segment::fail_damaged(const DamagedRange& d, int64_t offset) const {
  fail(KEEL_ERR_CORRUPT, "offset " + std::to_string(offset) + " is in damaged log data: " + d.describe() +
                             "; consumers can skip to offset " + std::to_string(d.last_offset + 1) +
                             " (see docs/operations.md)");
}

void Segment::verify_batches(const RecoverOptions& o, SegmentRecovery& result) {
  const int64_t file_size = size_.load();
  std::vector<uint8_t> buf;
  int64_t pos = 0;
  int64_t min_base = base_offset_;
  while (pos < file_size) {
    std::string why;
    auto h = probe_batch(fd_, path_, pos, file_size, {min_base, end_offset_}, true, buf, &why);
    if (h) {
      pos += static_cast<int64_t>(h->total_size());
      min_base = h->last_offset() + 1;
      continue;
    }
    if (unused_from(pos, file_size, min_base)) {
      end_data_at(pos, o.writable, result);
      return;
    }
    batch::Header ignored{};
    if (min_base >= o.cut_from_offset &&
        (o.end_offset == INT64_MAX ||
         find_next_batch(fd_, path_, pos + 1, file_size, {min_base, end_offset_}, &ignored) < 0)) {
      // Past the recovery point of an unclean stop: a torn write, or, in a
      // closed segment, the tail its roll had not synced yet (nothing
      // readable follows; the caller drops the segments after it). Damage
      // with batches after it in a closed segment is quarantined: a lost
      // write leaves nothing readable behind it.
      result.truncated_bytes = file_size - pos;
      result.truncation_reason = why;
      truncate_file(pos);
      return;
    }
    const DamagedRange d = quarantine(pos, min_base, file_size, why);
    pos = d.end_position;
    min_base = d.last_offset + 1;
  }
}

bool Segment::batch_at(int64_t position, int64_t base, int64_t limit) const {
  uint8_t hdr[batch::kHeaderSize];
  if (position < 0 || !read_header(position, limit, hdr)) return false;
  auto h = batch::parse_header(hdr, sizeof hdr);
  if (!implausible_header(*h, position, limit, {base_offset_, end_offset_}).empty()) return false;
  return base < 0 || h->base_offset == base;
}

int64_t Segment::open_indexes(bool writable) {
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
      // The settings' own account (which key, where, what type) follows.
      fail(s, "index '" + spec.strategy.name + "' of segment '" + path_ + "' failed to open: " + err.message +
                  (spec.config ? problem_lines(config_problems(*spec.config)) : std::string()));
    }
    indexes_.push_back(inst);
    // As Kafka's sanity check: the newest entry must point at the batch it
    // names. An index that disagrees (damaged file) is emptied and rebuilt
    // from the log rather than trusted.
    keel_index_entry e = empty_entry(base_offset_);
    bool sane = true;
    std::string entry;
    if ((inst.vt->capabilities & KEEL_INDEX_CAN_LOOKUP_OFFSET) &&
        lookup(inst, KEEL_INDEX_CAN_LOOKUP_OFFSET, INT64_MAX, &e) && e.position > 0) {
      // The newest entry and a few before it: three reads catch an index
      // that is wrong throughout, at a cost that does not grow with it.
      const int64_t newest = e.offset;
      for (int64_t probe :
           {newest, base_offset_ + (newest - base_offset_) / 2, base_offset_ + (newest - base_offset_) / 4}) {
        if (!lookup(inst, KEEL_INDEX_CAN_LOOKUP_OFFSET, probe, &e) || e.position <= 0) continue;
        if (!batch_at(e.position, e.offset, log_size)) {
          sane = false;
          entry = "offset " + std::to_string(e.offset);
          break;
        }
      }
    } else if ((inst.vt->capabilities & KEEL_INDEX_CAN_LOOKUP_TIME) &&
               lookup(inst, KEEL_INDEX_CAN_LOOKUP_TIME, INT64_MAX, &e) && e.position > 0) {
      sane = batch_at(e.position, -1, log_size);
      entry = "timestamp " + std::to_string(e.timestamp);
    }
    if (!sane) {
      spdlog::warn(
          "index '{}' of segment '{}' disagrees with the log (its entry for {} points at position {}, "
          "which holds no such batch); rebuilding it from the log",
          spec.strategy.name, path_, entry, e.position);
      inst.vt->truncate(inst.handle, 0, nullptr);
    }
    replay_from = std::min(replay_from, std::max<int64_t>(0, inst.vt->recovery_position(inst.handle)));
  }
  return replay_from;
}

SegmentRecovery Segment::recover(const RecoverOptions& o) {
  SegmentRecovery result;
  end_offset_ = o.end_offset;
  acknowledged_end_ = o.acknowledged_end;
  if (o.verify) {
    verify_batches(o, result);
    verified_.verified_from(0);
  } else {
    // Read later: the first read of each batch checks its CRC.
    verified_.verified_from(size_.load());
  }
  const int64_t log_size = size_.load();
  int64_t replay_from = open_indexes(o.writable);
  // Without indexes nothing remembers where batches end; without a time
  // index nothing summarises the timestamps before the replay point, and
  // max_timestamp() (retention, find_time) must cover every batch.
  if (specs_.empty() || index_with(KEEL_INDEX_CAN_LOOKUP_TIME) == nullptr) replay_from = 0;

  // Walk the batch headers the indexes have not seen (and, without indexes,
  // all of them) to learn the segment's last offset and newest timestamp.
  // Damage met on the way (a clean stop, or below the recovery point) is
  // quarantined, never cut: those bytes were flushed and acknowledged.
  std::vector<int64_t> index_from;
  for (auto& inst : indexes_) index_from.push_back(inst.vt->recovery_position(inst.handle));
  HeaderWalk w{replay_from, base_offset_};
  w.unused_ends_data = true;
  int64_t last_seen = -1;
  int64_t max_ts = -1;
  while (auto h = next_header(
             w, log_size, [&](const DamagedRange& d) { last_seen = std::max(last_seen, d.last_offset); })) {
    index_replay(*h, w.pos, index_from);
    last_seen = h->last_offset();
    max_ts = std::max(max_ts, h->max_timestamp);
    ++result.batches_scanned;
    w.advance(*h);
  }
  if (w.unused_at >= 0) end_data_at(w.unused_at, o.writable, result);
  // Damage before the replay point can still hide the newest offsets.
  for (const auto& d : damaged_ranges()) last_seen = std::max(last_seen, d.last_offset);
  if (last_seen >= 0) next_offset_.store(std::max(next_offset_.load(), last_seen + 1));
  // Batches before the replay point are summarised by a time index, if any.
  if (const IndexInstance* ti = index_with(KEEL_INDEX_CAN_LOOKUP_TIME)) {
    keel_index_entry e = empty_entry(0);
    if (lookup(*ti, KEEL_INDEX_CAN_LOOKUP_TIME, std::numeric_limits<int64_t>::max(), &e)) {
      max_ts = std::max(max_ts, e.timestamp);
    }
  }
  max_timestamp_.store(max_ts);
  if (!o.writable) seal();
  return result;
}

void Segment::index_replay(const batch::Header& h, int64_t pos, const std::vector<int64_t>& index_from) {
  const BatchMeta meta{h.base_offset, h.last_offset(), h.max_timestamp, static_cast<int32_t>(h.total_size())};
  for (size_t i = 0; i < indexes_.size(); ++i) {
    if (pos < index_from[i]) continue;
    const keel_batch_info info = batch_info(meta, pos);
    keel_error err{};
    const keel_status s = indexes_[i].vt->on_append(indexes_[i].handle, &info, &err);
    if (s != KEEL_OK) {
      // The status is kept: NO_SPACE lets the partition open this segment
      // without its indexes instead of failing the start.
      fail(s == KEEL_ERR_NO_SPACE ? s : KEEL_ERR_IO,
           "index '" + indexes_[i].spec.strategy.name + "' of '" + path_ +
               "' failed catching up with the log at position " + std::to_string(pos) + ": " + err.message);
    }
  }
}

Segment::Cut Segment::find_cut(int64_t offset) const {
  const int64_t limit = size();
  Cut cut{limit, next_offset(), -1};
  HeaderWalk w{0, base_offset_};
  bool in_damage = false;
  for (;;) {
    auto h = next_header(w, limit, [&](const DamagedRange& d) {
      // Called before the walk moves past `d`: w.min_base is still the
      // offset after the last batch kept.
      if (!in_damage && d.last_offset >= offset) {
        in_damage = true;
        cut.position = d.position;
        cut.next_offset = w.min_base;
      }
    });
    if (in_damage) return cut;
    if (!h) return cut;
    if (h->last_offset() >= offset) {
      cut.position = w.pos;
      cut.next_offset = w.min_base;
      return cut;
    }
    cut.max_timestamp = std::max(cut.max_timestamp, h->max_timestamp);
    w.advance(*h);
  }
}

void Segment::truncate(const Cut& cut) {
  if (cut.position >= size()) return;
  truncate_file(cut.position);
  next_offset_.store(cut.next_offset, std::memory_order_release);
  max_timestamp_.store(cut.max_timestamp, std::memory_order_release);
  verified_.truncate(cut.position);
  {
    std::lock_guard lock(damage_mu_);
    std::erase_if(damaged_, [&](const DamagedRange& d) { return d.position >= cut.position; });
    for (auto& d : damaged_) d.end_position = std::min(d.end_position, cut.position);
    has_damage_.store(!damaged_.empty(), std::memory_order_release);
  }
  // The plugin's truncate, then the replay its contract asks for: the
  // batches from its recovery position up to the cut, as recover() does.
  std::vector<int64_t> index_from;
  for (auto& inst : indexes_) {
    keel_error err{};
    const keel_status s = inst.vt->truncate(inst.handle, cut.position, &err);
    if (s != KEEL_OK) {
      fail(KEEL_ERR_IO, "index '" + inst.spec.strategy.name + "' of segment '" + path_ +
                            "' failed to truncate to position " + std::to_string(cut.position) + ": " +
                            err.message + "; restart the broker to rebuild it from the log");
    }
    index_from.push_back(std::max<int64_t>(0, inst.vt->recovery_position(inst.handle)));
  }
  if (!index_from.empty()) {
    HeaderWalk w{*std::min_element(index_from.begin(), index_from.end()), base_offset_};
    while (auto h = next_header(w, cut.position, {})) {
      index_replay(*h, w.pos, index_from);
      w.advance(*h);
    }
  }
  flush();
}

void Segment::index_append(const BatchMeta& meta, int64_t position) {
  const keel_batch_info info = batch_info(meta, position);
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
  // In a reused file, zeros after the new data (the next append writes
  // over them): after a crash, recovery then finds the data's end at a
  // zero header instead of inside an older segment's batch, which would
  // look like a torn write. At least a header's worth, and on to the end of
  // a page: the first write into each page then covers all of it, so the
  // kernel never reads the old (often long evicted) page to merge a partial
  // write, which cost ~70 us on every fourth 1 KiB append here. Past the
  // old bytes (a preallocated hole) nothing is written: a hole reads as
  // zeros without a disk read, and writing zeros there would take a block
  // before the data needs it (a full disk would refuse an append whose
  // data still fits).
  static constexpr int64_t kPage = 4096;
  static constexpr uint8_t kZeros[kPage + batch::kHeaderSize] = {};
  const int64_t end = start + total;
  const int64_t zeros_to =
      end < stale_until_ ? std::min(file_size_, (end + kHeader + kPage - 1) / kPage * kPage) : end;
  const int64_t terminator = zeros_to - end >= kHeader ? zeros_to - end : 0;
  if (terminator > 0) rest.push_back({const_cast<uint8_t*>(kZeros), static_cast<size_t>(terminator)});
  size_t first = 0;
  int64_t written = 0;
  while (written < total + terminator) {
    ssize_t n = ::pwritev(fd_, rest.data() + first, static_cast<int>(rest.size() - first), start + written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;
      // Leave no partial batch behind: the log must end on a batch boundary.
      file_size_ = start;
      stale_until_ = std::min(stale_until_, start);
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
    file_size_ = start;
    stale_until_ = std::min(stale_until_, start);
    if (::ftruncate(fd_, start) != 0)
      spdlog::error("segment '{}': could not cut back after index failure", path_);
    for (auto& inst : indexes_) inst.vt->truncate(inst.handle, start, nullptr);
    throw;
  }
  int64_t max_ts = max_timestamp_.load(std::memory_order_relaxed);
  for (const auto& b : batches) max_ts = std::max(max_ts, b.max_timestamp);
  max_timestamp_.store(max_ts, std::memory_order_release);
  int64_t pos = start;
  for (const auto& b : batches) {
    recent_.add({b.base_offset, b.last_offset, pos, pos + b.size});
    pos += b.size;
  }
  next_offset_.store(batches.back().last_offset + 1, std::memory_order_release);
  file_size_ = std::max(file_size_, start + total);
  size_.store(start + total, std::memory_order_release);
}

const Segment::IndexInstance* Segment::index_with(uint32_t capability) const {
  for (const auto& inst : indexes_) {
    if (inst.vt->capabilities & capability) return &inst;
  }
  return nullptr;
}

Segment::Span Segment::read(int64_t offset, int64_t max_bytes, int64_t limit_offset) const {
  const int64_t limit = size();
  int64_t pos = 0;
  int64_t min_base = base_offset_;
  const auto recent = recent_.find(offset, limit);
  if (recent && !damage_at(recent->position)) {
    // A batch this process appended: its position needs no check on disk.
    pos = recent->position;
    min_base = recent->base_offset;
  } else if (const IndexInstance* oi = index_with(KEEL_INDEX_CAN_LOOKUP_OFFSET)) {
    keel_index_entry e = empty_entry(base_offset_);
    // An entry that points into damage or at no batch of its offset is
    // ignored: the walk from the start is slower but right.
    // A few entries back before giving up: damage in an index file is
    // usually local.
    int64_t target = offset;
    for (int tries = 0; tries < 4; ++tries) {
      if (!lookup(*oi, KEEL_INDEX_CAN_LOOKUP_OFFSET, target, &e) || e.position <= 0) break;
      if (e.position < limit && !damage_at(e.position) && batch_at(e.position, e.offset, limit)) {
        pos = e.position;
        min_base = e.offset;
        break;
      }
      if (!index_warned_.exchange(true)) {
        spdlog::warn(
            "index '{}' of segment '{}' points offset {} at position {}, which holds no such batch; "
            "reads of this segment skip such entries (slower). Delete the segment's index files and "
            "restart to rebuild them.",
            oi->spec.strategy.name, path_, e.offset, e.position);
      }
      target = e.offset - 1;
    }
  }
  HeaderWalk w{pos, min_base};
  for (;;) {
    auto h = next_header(w, limit, [&](const DamagedRange& d) {
      if (d.last_offset >= offset) fail_damaged(d, offset);
    });
    if (!h) return {w.pos, 0};
    if (h->last_offset() >= offset) break;
    w.advance(*h);
  }
  pos = w.pos;
  min_base = w.min_base;
  int64_t prev_min_base = w.prev_min_base;
  uint8_t hdr[batch::kHeaderSize];
  Span span{pos, 0};
  int64_t cursor = pos;
  int64_t last_total = 0;
  int64_t last_records = 0;
  while (!damage_at(cursor) && read_header(cursor, limit, hdr)) {
    auto h = batch::parse_header(hdr, sizeof hdr);
    const std::string why = implausible_header(*h, cursor, limit, {min_base, end_offset_});
    if (!why.empty()) {
      const int64_t last = span.length > 0 ? cursor - last_total : -1;
      const DamagedRange d = quarantine_walk(last, prev_min_base, cursor, min_base, limit, why);
      if (d.position < cursor) {
        // The span's last batch is the damaged one.
        span.length -= last_total;
        span.records -= last_records;
        if (span.length == 0) fail_damaged(d, offset);
      }
      break;
    }
    // A batch reaching the limit (the high watermark) is not readable yet,
    // even when the limit falls inside it.
    if (h->last_offset() >= limit_offset) break;
    const int64_t total = static_cast<int64_t>(h->total_size());
    if (span.length > 0 && span.length + total > max_bytes) break;
    span.length += total;
    span.records += h->records_count;
    last_total = total;
    last_records = h->records_count;
    prev_min_base = min_base;
    cursor += total;
    min_base = h->last_offset() + 1;
  }
  if (span.length > 0 && !verified_.covers(span.position, span.position + span.length)) {
    span = verify_span(span, offset);
  }
  return span;
}

Segment::Span Segment::verify_span(Span span, int64_t offset) const {
  std::vector<uint8_t> buf(static_cast<size_t>(span.length));
  if (read_at(fd_, buf.data(), span.length, span.position, path_) != span.length) {
    fail(KEEL_ERR_IO, "short read of segment '" + path_ + "' at position " + std::to_string(span.position));
  }
  Span good{span.position, 0, 0};
  size_t at = 0;
  while (at < buf.size()) {
    auto h = batch::parse_header(buf.data() + at, buf.size() - at);
    const std::string why = batch::validate(buf.data() + at, buf.size() - at);
    if (!why.empty()) {
      const int64_t pos = span.position + static_cast<int64_t>(at);
      const DamagedRange d = quarantine(pos, h ? h->base_offset : offset, size(), why);
      if (good.length == 0) fail_damaged(d, offset);
      break;
    }
    good.length += static_cast<int64_t>(h->total_size());
    good.records += h->records_count;
    at += h->total_size();
  }
  verified_.add(good.position, good.position + good.length);
  return good;
}

std::pair<int64_t, int64_t> Segment::find_time(int64_t timestamp) const {
  const int64_t limit = size();
  int64_t pos = 0;
  if (const IndexInstance* ti = index_with(KEEL_INDEX_CAN_LOOKUP_TIME)) {
    keel_index_entry e = empty_entry(base_offset_);
    if (lookup(*ti, KEEL_INDEX_CAN_LOOKUP_TIME, timestamp, &e) && e.position > 0 && e.position < limit &&
        !damage_at(e.position) && batch_at(e.position, -1, limit)) {
      pos = e.position;
    }
  }
  std::vector<uint8_t> buf;
  // Damaged bytes hold no timestamps anyone can read: the walk skips them.
  HeaderWalk w{pos, base_offset_};
  while (auto h = next_header(w, limit, {})) {
    pos = w.pos;
    const int64_t total = static_cast<int64_t>(h->total_size());
    if (h->max_timestamp >= timestamp) {
      if (h->log_append_time()) {
        // Every record carries the append time: the first one answers.
        return {h->base_offset, h->max_timestamp};
      }
      buf.resize(static_cast<size_t>(total));
      if (read_at(fd_, buf.data(), total, pos, path_) == total &&
          batch::validate(buf.data(), buf.size()).empty()) {
        for (const auto& r : codec::decode_batch(buf.data(), buf.size())) {
          if (r.timestamp >= timestamp) return {r.offset, r.timestamp};
        }
      }
      return {h->base_offset, h->max_timestamp};
    }
    w.advance(*h);
  }
  return {-1, -1};
}

void Segment::probe_space(int64_t bytes) {
  const int64_t end = size();
  // A reused file's blocks are already held (and the cut below would drop
  // them); a preallocated file's hole is probed before it is made
  // (PartitionLog::open).
  if (file_size_ > end) return;
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
  if (name_synced_.load(std::memory_order_acquire)) return;
  // Checked, unlike fsync_dir(): a sync that cannot promise the name cannot
  // promise the data either.
  if (const int e = fsync_dir_errno(dir_); e != 0) {
    fail(status_from_errno(e), "fsync of partition directory '" + dir_ + "' (for the name of new segment '" +
                                   path_ + "') failed: " + errno_text(e));
  }
  name_synced_.store(true, std::memory_order_release);
}

void Segment::write_back(int64_t to) {
  to &= ~int64_t{4095};
  const int64_t from = written_back_.load();
  if (to <= from) return;
  // WAIT_BEFORE over the window the previous call started (the ones before
  // it were waited for by earlier calls, so from 0 would only walk more
  // pages); then WRITE starts the new range without waiting for it. Neither
  // waits for the device cache (that is fdatasync's job), and neither
  // touches the metadata.
  const int64_t wait_from = std::min(last_window_start_, from);
  last_window_start_ = from;
  if (from > wait_from &&
      ::sync_file_range(fd_, wait_from, from - wait_from, SYNC_FILE_RANGE_WAIT_BEFORE) != 0) {
    spdlog::debug("segment '{}': sync_file_range (wait) failed: {}", path_, errno_text(errno));
  }
  // A chunk per call: submitting a range costs CPU in the file system,
  // and a kernel without preemption (PREEMPT_NONE, common on servers) runs
  // all of one call before anything else on the core. After a long sync
  // kept this thread away, the range is the whole backlog (~150 MB after a
  // 0.5 s sealed sync; the event loop on the same core once waited 13.8 ms
  // on one call); a syscall's return lets it in.
  static constexpr int64_t kChunk = 1 << 20;
  for (int64_t at = from; at < to; at += kChunk) {
    if (::sync_file_range(fd_, at, std::min(kChunk, to - at), SYNC_FILE_RANGE_WRITE) != 0) {
      spdlog::debug("segment '{}': sync_file_range (write) failed: {}", path_, errno_text(errno));
      break;
    }
  }
  // A truncation meanwhile lowered the mark: keep its lower value.
  int64_t expected = from;
  written_back_.compare_exchange_strong(expected, to);
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
  recent_.clear();
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
