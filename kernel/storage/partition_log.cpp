#include "storage/partition_log.hpp"

#include <spdlog/spdlog.h>
#include <sys/uio.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <keel/codec.hpp>
#include <keel/record_batch.hpp>

#include "common/error.hpp"
#include "common/file_util.hpp"
#include "producers/producer_snapshot.hpp"
#include "storage/batch_validator.hpp"
#include "storage/file_releaser.hpp"
#include "storage/log_rewriter.hpp"
#include "storage/spare_segment.hpp"

namespace keel {
namespace fs = std::filesystem;

namespace {

// Kafka keeps offsets relative to a segment's base in 32 bits.
constexpr int64_t kMaxRelativeOffset = INT32_MAX;

// Files of the partition directory holding one offset ("0\n<offset>\n").
constexpr const char* kRecordsStartFile = "log-start-offset";
constexpr const char* kHighWatermarkFile = "high-watermark";
// Written by truncate_to before it cuts: the log end it leaves. The
// broker's recovery checkpoint may still name a higher flushed offset until
// its next write; open() must not take the cut offsets for lost ones.
constexpr const char* kTruncatedFile = "truncated-to";
// Written by reset_to before it removes anything: the offset the log
// starts again at. open() finishes a reset that finds it (a crash came in
// between), so that the old segments never come back.
constexpr const char* kResetFile = "reset-to";

// A segment's files ("<base>.log", its indexes) and the producer snapshots
// ("<offset>.snapshot"): a 20-digit stem and an extension.
bool is_offset_named(const std::string& name) {
  return name.size() > 21 && name[20] == '.' &&
         std::all_of(name.begin(), name.begin() + 20, [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

PartitionLog::PartitionLog(std::string topic, int32_t partition, std::string dir, LogOptions options,
                           const Clock* clock)
    : topic_(std::move(topic)),
      partition_(partition),
      dir_(std::move(dir)),
      options_(std::move(options)),
      clock_(clock),
      segment_bytes_(options_.segment_bytes),
      segment_ms_(options_.segment_ms),
      max_batch_bytes_(options_.max_batch_bytes),
      requires_keys_(options_.requires_keys),
      gaps_expected_(options_.gaps_expected),
      recycle_segments_(options_.recycle_segments),
      preallocate_(options_.preallocate),
      epochs_(dir_) {}

void PartitionLog::set_live_options(const LiveLogOptions& o) {
  segment_bytes_ = o.segment_bytes;
  segment_ms_ = o.segment_ms;
  max_batch_bytes_ = o.max_batch_bytes;
  requires_keys_ = o.requires_keys;
  gaps_expected_ = o.gaps_expected;
  recycle_segments_ = o.recycle_segments;
  preallocate_ = o.preallocate;
}

LiveLogOptions PartitionLog::live_options() const {
  return LiveLogOptions{segment_bytes_.load(), segment_ms_.load(),    max_batch_bytes_.load(),
                        requires_keys_.load(), gaps_expected_.load(), recycle_segments_.load(),
                        preallocate_.load()};
}

PartitionLog::~PartitionLog() { fire_all_watches(); }

std::shared_ptr<Segment> PartitionLog::new_segment(int64_t base_offset, bool prepare, bool sync_name) {
  // A spare left by retention becomes the new segment's file. Taken whether
  // or not the topic still recycles: a spare is worth using once made.
  const std::string spare = spare_segment::take(dir_, base_offset);
  auto seg = std::make_shared<Segment>(dir_, base_offset, options_.indexes, "", spare);
  spare_requested_ = false;  // a new active segment asks anew
  seg->recover(false, true);
  seg->set_created_ms(clock_->now_ms());
  if (prepare) preallocate_active(*seg);
  // The new file's name must survive a power cut before anything written
  // to it is promised durable: fsync of the file alone does not promise
  // that. A roll leaves it to the segment's first sync.
  if (sync_name) {
    fsync_dir(dir_);
  } else {
    seg->defer_name_sync();
  }
  return seg;
}

void PartitionLog::preallocate_active(Segment& seg) {
  if (!preallocate_.load()) return;
  try {
    seg.preallocate(segment_bytes_.load());
  } catch (const Error& e) {
    spdlog::warn("{}: {}; the segment grows with its appends instead", name(), e.what());
  }
}

void PartitionLog::drop_unsynced_after(const Segment& kept, const std::vector<int64_t>& bases, size_t cut,
                                       int64_t recovery_point) {
  if (cut + 1 >= bases.size()) return;
  spdlog::warn(
      "{}: '{}' was cut short at offset {}, past the recovery point {}: its tail was never synced before "
      "the unclean stop. The {} segment(s) after it, from offset {}, held only writes never synced either "
      "and are removed; the log goes on at offset {}",
      name(), kept.path(), kept.next_offset(), recovery_point, bases.size() - cut - 1, bases[cut + 1],
      kept.next_offset());
  for (size_t i = cut + 1; i < bases.size(); ++i) {
    for (const auto& file : Segment::files_of(dir_, Segment::file_name(bases[i]))) {
      file_releaser::remove(dir_ + "/" + file);
    }
  }
  fsync_dir(dir_);
}

void PartitionLog::open(bool clean, int64_t recovery_point) {
  std::error_code ec;
  if (fs::create_directories(dir_, ec)) fsync_dir(fs::path(dir_).parent_path().string());
  if (ec) fail(KEEL_ERR_IO, "cannot create partition directory '" + dir_ + "': " + ec.message());
  // Before listing segments: an interrupted rewrite leaves files that must
  // be rolled back or forward first.
  recover_interrupted_rewrites(dir_, name());
  if (auto reset = read_offset_file(kResetFile, "the log is opened as it is"))
    finish_interrupted_reset(*reset);
  // A truncation newer than the broker's checkpoint: the offsets it cut are
  // gone on purpose, not lost. Once the checkpoint is at or below the mark,
  // every later checkpoint is written after the cut: the mark goes.
  if (auto cut = read_offset_file(kTruncatedFile, "the recovery checkpoint as it is")) {
    if (recovery_point > *cut) {
      spdlog::info(
          "{}: the log was truncated to offset {} after the recovery checkpoint ({}) was written; "
          "recovering from {}",
          name(), *cut, recovery_point, *cut);
      recovery_point = *cut;
    } else {
      std::error_code ec;
      fs::remove(dir_ + "/" + kTruncatedFile, ec);
    }
  }

  std::vector<int64_t> bases;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    const std::string name = entry.path().filename().string();
    if (name.size() == 24 && name.ends_with(".log") &&
        std::all_of(name.begin(), name.begin() + 20, [](char c) { return c >= '0' && c <= '9'; })) {
      bases.push_back(std::stoll(name.substr(0, 20)));
    }
    if (name.starts_with("spare-")) may_hold_spares_ = true;  // a pass trims them if unwanted
  }
  // A spare whose preparation a stop interrupted: its blocks go back.
  if (may_hold_spares_) spare_segment::remove_unfinished(dir_);
  std::sort(bases.begin(), bases.end());
  // Only an unclean stop can leave one: a clean stop syncs every segment,
  // and with it the name of the last one a roll made.
  if (may_hold_spares_ && !clean) spare_segment::drop_overwritten(dir_);

  // After an unclean stop, everything from the segment holding the recovery
  // point on may hold torn or unsynced writes: verify it batch by batch.
  // Past the recovery point, damage at the end of the last segment is a
  // torn write and is cut. So is a lost tail of the segment before it: a
  // roll does not wait for the sealed segment's sync (sync_sealed), the page
  // cache may write the newer segment back first, and a roll syncs any
  // older sealed segment still waiting before it seals the next, so no
  // other segment can be unsynced. A segment cut there ends the log, as in
  // Kafka's recovery: the last segment holds only writes that were never
  // synced either (the flushed offset never passes an unsynced segment), so
  // it goes. Everywhere else, and below the recovery point, damage hides
  // acknowledged, flushed data and is quarantined, never cut, so that the
  // segments after it stay and no offset is ever handed out twice.
  size_t verify_from = bases.size();
  if (!clean) {
    verify_from = 0;
    for (size_t i = 0; i < bases.size(); ++i) {
      if (bases[i] <= recovery_point) verify_from = i;
    }
  }

  std::vector<std::shared_ptr<Segment>> segs;
  bool tail_sealed = false;  // the last segment kept was opened as a closed one
  for (size_t i = 0; i < bases.size(); ++i) {
    const bool last = i + 1 == bases.size();
    RecoverOptions o;
    o.verify = i >= verify_from;
    // The last segment, and the one before it (its roll's sync may not
    // have run).
    o.cut_from_offset = !clean && i + 2 >= bases.size() ? recovery_point : INT64_MAX;
    o.end_offset = last ? INT64_MAX : bases[i + 1];
    o.acknowledged_end = recovery_point;
    o.writable = last;
    std::shared_ptr<Segment> seg;
    SegmentRecovery r;
    try {
      seg = std::make_shared<Segment>(dir_, bases[i], options_.indexes);
      r = seg->recover(o);
    } catch (const Error& e) {
      if (e.code() != KEEL_ERR_NO_SPACE) throw;
      // [disk-full] No room to bring the indexes up to date: open the
      // segment without them (reads scan it). The active one is replaced by
      // an indexed segment on the first append that finds room.
      note_no_space(e.what());
      seg = std::make_shared<Segment>(dir_, bases[i], std::vector<IndexSpec>{});
      o.writable = false;
      r = seg->recover(o);
      active_unindexed_ = last;
    }
    if (r.batches_scanned > 0 || r.truncated_bytes > 0) {
      spdlog::debug("{}: segment {} scanned {} batches on open", name(), seg->path(), r.batches_scanned);
    }
    if (r.truncated_bytes > 0) {
      spdlog::warn(
          "{}: recovery cut {} bytes from the end of '{}' ({}); the log now ends at offset {}. These bytes "
          "were written after the last flush (recovery point {}) of an unclean stop{}.",
          name(), r.truncated_bytes, seg->path(), r.truncation_reason, seg->next_offset(), recovery_point,
          recycle_segments_.load() ? ", or are the unused rest of a reused segment file (recycle_segments)"
                                   : "");
    }
    if (r.unused_bytes > 0) {
      spdlog::info(
          "{}: the data of '{}' ends at byte {}, offset {}; the {} bytes after it are the unused rest "
          "of a reused segment file (recycle_segments), cut off",
          name(), seg->path(), seg->size(), seg->next_offset(), r.unused_bytes);
    }
    // The segment before the last lost its unsynced tail: cut as a torn
    // write, or ending on a batch boundary (or empty) before the last
    // segment's base, past the recovery point. Compacted topics end
    // segments early on purpose; theirs is left to find_gaps.
    const bool lost_tail =
        !clean && i + 2 == bases.size() && i >= verify_from &&
        (r.truncated_bytes > 0 || (!gaps_expected_.load() && seg->next_offset() < bases[i + 1] &&
                                   seg->next_offset() >= recovery_point));
    segs.push_back(std::move(seg));
    if (lost_tail) {
      drop_unsynced_after(*segs.back(), bases, i, recovery_point);
      tail_sealed = true;
      break;
    }
  }
  find_gaps(segs);
  if (segs.empty()) {
    if (recovery_point > 0) {
      spdlog::error(
          "{}: no segment file in '{}', yet the recovery checkpoint says offsets below {} were stored; "
          "they are lost (restore the directory from a copy if there is one). The log goes on at {} "
          "so that no offset is handed out twice.",
          name(), dir_, recovery_point, recovery_point);
    }
    segs.push_back(new_segment(std::max<int64_t>(0, recovery_point), false));
  }
  // Appends go after the last readable batch: not after damaged bytes, and
  // never below an offset already acknowledged.
  const auto& tail = segs.back();
  const int64_t end = tail->next_offset();
  if (tail->damaged_tail() || end < recovery_point || tail_sealed) {
    if (end < recovery_point) {
      DamagedRange g;
      g.file = tail->path();
      g.position = g.end_position = tail->size();
      g.first_offset = end;
      g.last_offset = recovery_point - 1;
      g.reason =
          "acknowledged (below the recovery checkpoint) but missing: the file was cut short or emptied";
      spdlog::error(
          "{}: offsets {}..{} are missing from the end of '{}', which the recovery checkpoint says "
          "were flushed; the log goes on at {} so that no offset is handed out twice",
          name(), end, recovery_point - 1, tail->path(), recovery_point);
      gaps_.push_back(std::move(g));
    }
    // A file name is its base offset: a segment whose damage starts at its
    // base makes the next one start one offset later.
    const int64_t next = std::max({end, recovery_point, tail->size() > 0 ? tail->base_offset() + 1 : 0});
    if (tail->size() == 0) {
      tail->mark_deleted();  // an empty active segment below `next`: replaced
      segs.pop_back();
    } else if (!tail_sealed) {
      tail->seal();
    }
    segs.push_back(new_segment(next, false));
  }
  segs.back()->set_created_ms(clock_->now_ms());
  bool synced = clean;
  try {
    if (!clean) {
      // What recovery kept is now durable. After a kill (not a power cut)
      // the page cache may still hold sealed segments' unsynced writes,
      // which recovery read as intact: sync them before the flushed offset,
      // and the checkpoint after it, say they are on disk.
      for (size_t i = verify_from; i + 1 < segs.size(); ++i) segs[i]->sync_log();
      segs.back()->flush();
    }
    synced = true;
    // [disk-full] Say at start-up, once, that this partition cannot take
    // writes, rather than on the first produce.
    if (!active_unindexed_) segs.back()->probe_space(max_batch_bytes_.load());
    // After the probe, which only probes a file without a hole. An
    // unindexed active segment is replaced by an indexed one of the same
    // name once it is indexed: it stays as it is.
    if (!active_unindexed_) preallocate_active(*segs.back());
  } catch (const Error& e) {
    if (e.code() != KEEL_ERR_NO_SPACE) throw;
    note_no_space(e.what());
  }

  records_start_.store(
      read_offset_file(kRecordsStartFile, "the log starts at its first segment").value_or(0));
  log_end_.store(segs.back()->next_offset());
  if (records_start_.load() > log_end_.load()) {
    // Only a disk that lost synced data gets here (delete_records syncs the
    // log before it saves the start): never read past the end.
    spdlog::error("{}: the saved log start offset {} is past the log end {}; the log starts at its end",
                  name(), records_start_.load(), log_end_.load());
    records_start_.store(log_end_.load());
  }
  {
    std::lock_guard lock(segments_mu_);
    segments_ = std::move(segs);
    publish_start_locked();
    has_gaps_.store(!gaps_.empty());
  }
  // Without replication the high watermark is the log end. With it, the
  // checkpoint (never past the end); without one, the log start: consumers
  // wait until the leader's answers say what the followers have.
  int64_t hw = log_end_.load();
  if (replicated()) {
    std::lock_guard lock(hw_file_mu_);
    auto saved = read_offset_file(kHighWatermarkFile, "the log start offset");
    hw = std::clamp(saved.value_or(log_start_.load()), log_start_.load(), log_end_.load());
    hw_checkpointed_ = saved.value_or(-1);
  }
  hw_.store(hw);
  // Unsynced, only what the last run synced is known to be on disk; the
  // flusher syncs the rest once it can.
  flushed_.store(synced ? log_end_.load() : std::min(recovery_point, log_end_.load()));
  last_flush_ms_.store(clock_->now_ms());
  spdlog::info("{}: opened {} segment(s), offsets {}..{}, high watermark {} ({})", name(), segments_.size(),
               log_start_.load(), log_end_.load(), hw,
               clean ? "clean start" : "checked after an unclean stop");
  load_leader_epochs();
  load_producers();
  opened_.store(true);
}

void PartitionLog::finish_interrupted_reset(int64_t offset) {
  // After recover_interrupted_rewrites: no rewrite's file is left to be
  // taken for a segment's. Whatever of the old log is here goes.
  int removed = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    const std::string file = entry.path().filename().string();
    if (!is_offset_named(file)) continue;
    std::error_code ec;
    if (!fs::remove(entry.path(), ec) && ec) {
      fail(KEEL_ERR_IO, name() + ": finishing the interrupted reset to offset " + std::to_string(offset) +
                            ": cannot remove '" + entry.path().string() + "': " + ec.message() +
                            "; remove it by hand, or the whole partition directory of a follower");
    }
    ++removed;
  }
  std::error_code ec;
  fs::remove(epochs_.path(), ec);  // open() rebuilds it from the (no) batches
  fsync_dir(dir_);
  write_file_atomically(dir_ + "/" + kRecordsStartFile, "0\n" + std::to_string(offset) + "\n");
  new_segment(offset, false);  // open() goes on to list it
  fs::remove(dir_ + "/" + kResetFile, ec);
  fsync_dir(dir_);
  spdlog::warn("{}: finished a reset to offset {} that a stop interrupted: {} file(s) of the old log removed",
               name(), offset, removed);
}

void PartitionLog::load_leader_epochs() {
  std::string problem;
  if (!epochs_.load(&problem)) {
    std::vector<std::shared_ptr<Segment>> segs;
    {
      std::lock_guard lock(segments_mu_);
      segs = segments_;
    }
    int64_t batches = 0;
    for (const auto& seg : segs) {
      seg->for_each_header([&](const batch::Header& h) {
        ++batches;
        // -1: written by a producer before epochs were stamped.
        if (h.partition_leader_epoch >= 0) epochs_.assign(h.partition_leader_epoch, h.base_offset, false);
        return true;
      });
    }
    const auto entries = epochs_.entries();
    // A new partition has no checkpoint yet and nothing to rebuild.
    if (batches > 0 || problem != "it is missing") {
      spdlog::log(problem == "it is missing" ? spdlog::level::info : spdlog::level::warn,
                  "{}: leader epoch checkpoint '{}': {}; rebuilt it from the headers of {} batch(es): {} "
                  "epoch(s), latest {}",
                  name(), epochs_.path(), problem, batches, entries.size(),
                  entries.empty() ? -1 : entries.back().epoch);
    }
    try {
      epochs_.save();
    } catch (const Error& e) {
      spdlog::warn("{}: {}; the next start rebuilds the leader epochs again", name(), e.what());
    }
  }
  try {
    // Recovery may have cut batches the checkpoint already named (it is
    // written before the batch that starts an epoch).
    epochs_.truncate_from_end(log_end_.load());
    epochs_.truncate_from_start(log_start_.load());
  } catch (const Error& e) {
    spdlog::warn("{}: cutting the leader epoch checkpoint to offsets {}..{} failed: {}", name(),
                 log_start_.load(), log_end_.load(), e.what());
  }
}

void PartitionLog::trim_leader_epochs(int64_t start) {
  try {
    epochs_.truncate_from_start(start);
  } catch (const Error& e) {
    spdlog::warn("{}: dropping the leader epochs below the new log start {} failed: {}; they stay", name(),
                 start, e.what());
  }
}

EpochEndOffset PartitionLog::end_offset_for_epoch(int32_t requested, int32_t leader_epoch) const {
  std::vector<EpochEntry> entries = epochs_.entries();
  const int64_t end = log_end_offset();
  if (leader_epoch >= 0 && (entries.empty() || leader_epoch > entries.back().epoch)) {
    entries.push_back({leader_epoch, end});
  }
  return end_offset_for(entries, requested, end);
}

namespace {
constexpr int64_t kAnnouncedReplayBytes = int64_t{256} << 20;
}  // namespace

void PartitionLog::load_producers() {
  const int64_t end = log_end_.load();
  const auto started = std::chrono::steady_clock::now();
  int64_t from = log_start_.load();
  std::string source = "no snapshot";
  auto snapshots = list_producer_snapshots(dir_);
  for (auto it = snapshots.rbegin(); it != snapshots.rend(); ++it) {
    const std::string path = producer_snapshot_path(dir_, *it);
    if (*it > end) {
      // Written for batches that recovery did not keep: it describes a log
      // that no longer exists.
      spdlog::warn("{}: removing producer snapshot '{}': it is past the log end {}", name(), path, end);
      std::error_code ec;
      fs::remove(path, ec);
      continue;
    }
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::string why;
    auto producers = in ? decode_producer_snapshot(bytes, *it, &why) : std::nullopt;
    if (!in) why = "cannot be read";
    if (!producers) {
      spdlog::warn("{}: producer snapshot '{}' is unusable ({}); trying an older one, else the log", name(),
                   path, why);
      continue;
    }
    producers_.restore(std::move(*producers));
    from = *it;
    source = "snapshot '" + path + "'";
    break;
  }
  int64_t replayed = 0;
  std::vector<std::shared_ptr<Segment>> segs;
  {
    std::lock_guard lock(segments_mu_);
    segs = segments_;
  }
  int64_t to_read = 0;
  for (const auto& seg : segs) {
    if (seg->next_offset() > from) to_read += seg->size();
  }
  // Reading headers runs at a few GB/s of log, but the first start after an
  // upgrade from 1.x has no snapshot anywhere: say what the wait is for.
  if (to_read >= kAnnouncedReplayBytes) {
    spdlog::info(
        "{}: rebuilding idempotent producer state from {} ({} MiB of batch headers from offset {}); "
        "a snapshot written at the next roll or shutdown makes this quick next time",
        name(), source, to_read >> 20, from);
  }
  for (const auto& seg : segs) {
    if (seg->next_offset() <= from) continue;
    seg->for_each_header([&](const batch::Header& h) {
      if (h.last_offset() >= from) {
        producers_.replay(h);
        ++replayed;
      }
      return true;
    });
  }
  const size_t expired = producers_.expire(clock_->now_ms(), options_.producer_id_expiration_ms);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
          .count();
  if (!producers_.producers().empty() || replayed > 0 || expired > 0) {
    spdlog::info(
        "{}: idempotent producer state: {} producer(s) from {} and {} batch(es) replayed from offset {} "
        "({} expired) in {} ms",
        name(), producers_.producers().size(), source, replayed, from, expired, ms);
  }
}

void PartitionLog::snapshot_producers_locked() {
  const int64_t end = log_end_.load();
  store_snapshot({end, encode_producer_snapshot(end, producers_.producers())});
}

void PartitionLog::store_snapshot(const PendingSnapshot& snap) {
  try {
    store_producer_snapshot(dir_, snap.offset, snap.bytes);
  } catch (const Error& e) {
    spdlog::warn(
        "{}: writing the producer snapshot at offset {} failed ({}); the next start replays the log "
        "from an older snapshot instead",
        name(), snap.offset, e.what());
  }
}

void PartitionLog::drop_pending_snapshot_after(int64_t end) {
  std::lock_guard lock(segments_mu_);
  if (pending_snapshot_ && pending_snapshot_->offset > end) pending_snapshot_.reset();
}

size_t PartitionLog::expire_producers(int64_t now_ms) {
  std::lock_guard lock(append_mu_);
  const size_t n = producers_.expire(now_ms, options_.producer_id_expiration_ms);
  if (n > 0)
    spdlog::info("{}: forgot {} idempotent producer(s) silent for producer_id_expiration_ms", name(), n);
  return n;
}

size_t PartitionLog::producer_count() const {
  std::lock_guard lock(append_mu_);
  return producers_.producers().size();
}

int64_t PartitionLog::max_producer_id() const {
  std::lock_guard lock(append_mu_);
  return producers_.max_producer_id();
}

void PartitionLog::find_gaps(const std::vector<std::shared_ptr<Segment>>& segs) {
  gaps_.clear();
  // Compaction leaves offsets out between segments on purpose.
  if (gaps_expected_.load()) return;
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    const int64_t end = segs[i]->next_offset();
    const int64_t next = segs[i + 1]->base_offset();
    if (end >= next) continue;
    DamagedRange g;
    g.file = segs[i]->path();
    g.position = g.end_position = segs[i]->size();
    g.first_offset = end;
    g.last_offset = next - 1;
    g.reason = segs[i]->size() == 0
                   ? "the segment file is empty"
                   : "no segment file holds them: a file after this one is missing or this one "
                     "was cut short";
    spdlog::error(
        "{}: offsets {}..{} are missing between '{}' and '{}' ({}); reads of them fail with a storage "
        "error, the segments around them are served",
        name(), end, next - 1, segs[i]->path(), segs[i + 1]->path(), g.reason);
    gaps_.push_back(std::move(g));
  }
}

std::vector<DamagedRange> PartitionLog::damaged_ranges() const {
  std::vector<DamagedRange> out;
  std::vector<std::shared_ptr<Segment>> segs;
  std::vector<DamagedRange> gaps;
  {
    std::lock_guard lock(segments_mu_);
    segs = segments_;
    gaps = gaps_;
  }
  for (const auto& s : segs) {
    for (auto& d : s->damaged_ranges()) out.push_back(std::move(d));
  }
  for (const auto& g : gaps) {
    if (g.last_offset >= log_start_offset()) out.push_back(g);
  }
  return out;
}

std::shared_ptr<Segment> PartitionLog::active() const {
  std::lock_guard lock(segments_mu_);
  return segments_.empty() ? nullptr : segments_.back();
}

std::shared_ptr<Segment> PartitionLog::segment_for(int64_t offset) const {
  std::lock_guard lock(segments_mu_);
  auto it =
      std::upper_bound(segments_.begin(), segments_.end(), offset,
                       [](int64_t off, const std::shared_ptr<Segment>& s) { return off < s->base_offset(); });
  if (it == segments_.begin()) return segments_.empty() ? nullptr : segments_.front();
  return *std::prev(it);
}

void PartitionLog::roll_locked() {
  const int64_t t0 = monotonic_ns();
  // At most one sealed segment waits for its sync, the one before the
  // active segment: recovery looks for a lost tail there and nowhere else
  // (open()). The flusher has almost always synced it by the next roll;
  // if not, this roll waits for it (under flush_mu_: an index's flush is
  // never run twice at once). Checked first, so that a roll with nothing
  // waiting never waits for a flush of the active segment in progress.
  bool waiting = false;
  {
    std::lock_guard lock(segments_mu_);
    waiting = waiting_locked() != nullptr;
  }
  if (waiting) sync_sealed();
  const int64_t t_wait = monotonic_ns();
  // Every append of the partition waits for the roll, so a roll is a swap:
  // nothing in it waits for a journal commit (no fsync, fdatasync or
  // shrinking truncate; docs/performance.md, "The roll as a swap"). The new
  // segment's directory fsync waits for its first sync; the old one's cut
  // to its data, its indexes' seal and the producer snapshot wait for its
  // sync on the flusher thread (sync_waiting). Nothing is promised durable
  // before those syncs: the flushed offset stays below the old segment
  // until its sync.
  auto old = active();
  auto fresh = new_segment(log_end_.load(), true, false);
  ++rolls_since_pass_;
  const int64_t t_new = monotonic_ns();
  // The state of every batch before the new segment: a later start replays
  // from here, not from the log start. Encoded now, written once the old
  // segment is synced, so that it never names offsets a crash can lose.
  const int64_t end = log_end_.load();
  PendingSnapshot snap{end, encode_producer_snapshot(end, producers_.producers())};
  {
    // In one step: a flush that sees the new active segment also sees the
    // old one waiting for its sync, and the sync that ends that wait takes
    // this snapshot (never a newer roll's).
    std::lock_guard lock(segments_mu_);
    segments_.push_back(fresh);
    unsynced_ = old;
    pending_snapshot_ = std::move(snap);
  }
  sealed_unsynced_.store(true);
  // A partition that fills segments wants the next one's blocks ready a
  // whole segment ahead.
  want_spare_locked(old->size());
  const int64_t t_end = monotonic_ns();
  const auto ms = [](int64_t from, int64_t to) { return static_cast<double>(to - from) / 1e6; };
  spdlog::info(
      "{}: rolled to new segment '{}'{} at offset {} in {:.1f} ms (waiting for the previous roll's sync "
      "{:.1f} ms, creating the new one {:.1f} ms, producer state {:.1f} ms); the old one is sealed and "
      "synced in the background",
      name(), fresh->path(), fresh->reused() ? " (written over a spare file)" : "", log_end_.load(),
      ms(t0, t_end), ms(t0, t_wait), ms(t_wait, t_new), ms(t_new, t_end));
}

std::shared_ptr<Segment> PartitionLog::waiting_locked() const {
  auto s = unsynced_.lock();
  if (!s || std::find(segments_.begin(), segments_.end(), s) == segments_.end()) return nullptr;
  return s;
}

void PartitionLog::raise_flushed(int64_t to) {
  int64_t prev = flushed_.load();
  while (prev < to && !flushed_.compare_exchange_weak(prev, to)) {
  }
}

void PartitionLog::sync_waiting() {
  std::shared_ptr<Segment> sealed;
  {
    std::lock_guard lock(segments_mu_);
    sealed = waiting_locked();
  }
  if (!sealed) return;
  // What the roll left off the append path (roll_locked), before the sync
  // that makes it durable. Both are idempotent: a failed sync repeats them.
  // A reused or preallocated file's unused rest goes, so that a closed
  // segment's file holds its batches only.
  const int64_t t0 = monotonic_ns();
  try {
    sealed->trim_unused();
  } catch (const Error& e) {
    // Not a failed sync: the rest reads as unused, as after a crash.
    spdlog::warn("{}: {}; the closed segment keeps its unused rest, which reads skip", name(), e.what());
  }
  sealed->seal();
  const int64_t t_seal = monotonic_ns();
  sealed->flush();
  const int64_t t_sync = monotonic_ns();
  int64_t active_base = 0;
  std::optional<PendingSnapshot> snap;
  {
    // No roll replaces it meanwhile: a roll that finds it waiting syncs it
    // first, under flush_mu_, which the callers hold.
    std::lock_guard lock(segments_mu_);
    if (unsynced_.lock() == sealed) {
      unsynced_.reset();
      snap.swap(pending_snapshot_);
    }
    active_base = segments_.back()->base_offset();
  }
  raise_flushed(std::min(active_base, log_end_.load()));
  // Under flush_mu_: close(Discard) waits for it before the directory goes.
  if (snap) store_snapshot(*snap);
  const int64_t t_end = monotonic_ns();
  const auto ms = [](int64_t from, int64_t to) { return static_cast<double>(to - from) / 1e6; };
  spdlog::info(
      "{}: sealed and synced '{}' in {:.1f} ms (sealing its indexes {:.1f} ms, fdatasync {:.1f} ms, producer "
      "snapshot {:.1f} ms)",
      name(), sealed->path(), ms(t0, t_end), ms(t0, t_seal), ms(t_seal, t_sync), ms(t_sync, t_end));
}

void PartitionLog::sync_sealed() {
  std::lock_guard flush_lock(flush_mu_);
  // After a failed sync a retry here could "succeed" without the dropped
  // pages and raise the flushed offset, which the recovery checkpoint
  // trusts: recovery would then not check the range that never reached the
  // disk.
  refuse_after_failed_sync();
  try {
    sync_waiting();
  } catch (const Error& e) {
    remember_failed_sync(e);
    // Claimable again: the next maintenance pass queues another try, which
    // refuse_after_failed_sync() answers.
    sealed_unsynced_.store(true);
    throw;
  }
}

void PartitionLog::remember_failed_sync(const std::exception& e) {
  std::lock_guard lock(sync_failure_mu_);
  if (!sync_failure_.empty()) return;
  sync_failure_ = e.what();
  sync_failed_.store(true, std::memory_order_release);
  spdlog::error(
      "{}: {}; the kernel may have dropped the pages that sync covered, and a later sync would report "
      "success "
      "without writing them, so this partition takes no more writes and no sync of it succeeds until the "
      "broker restarts (recovery then checks the log against its CRCs). Check the disk (dmesg) first.",
      name(), sync_failure_);
}

void PartitionLog::refuse_after_failed_sync() const {
  if (!sync_failed_.load(std::memory_order_acquire)) return;
  std::lock_guard lock(sync_failure_mu_);
  fail(KEEL_ERR_IO, name() + ": an earlier fdatasync failed (" + sync_failure_ +
                        "); nothing written since can be made durable here, so the partition refuses writes "
                        "until the broker restarts. Check the disk (dmesg), then restart the broker.");
}

bool PartitionLog::segment_awaiting_sync() const {
  std::lock_guard lock(segments_mu_);
  return waiting_locked() != nullptr;
}

AppendResult PartitionLog::append(const uint8_t* data, size_t len, int32_t leader_epoch) {
  // Validation reads every byte (CRC, records): do it before taking the
  // lock, all of it before anything is written.
  std::vector<batch::Header> headers;
  std::vector<size_t> starts;
  size_t pos = 0;
  AppendResult result;
  const BatchRules rules{requires_keys_.load()};
  const int64_t max_batch_bytes = max_batch_bytes_.load();
  while (pos < len) {
    const auto refuse = [&](keel_status status, int32_t record, const std::string& why) {
      fail(status, "rejected batch #" + std::to_string(headers.size()) +
                       (record >= 0 ? ", record #" + std::to_string(record) : std::string()) + " for " +
                       name() + " at byte " + std::to_string(pos) + " of the request: " + why +
                       "; nothing of this request was written");
    };
    std::string why = batch::validate(data + pos, len - pos);
    if (!why.empty()) refuse(KEEL_ERR_CORRUPT, -1, why);
    auto h = *batch::parse_header(data + pos, len - pos);
    if (static_cast<int64_t>(h.total_size()) > max_batch_bytes) {
      fail(KEEL_ERR_TOO_LARGE, "batch of " + std::to_string(h.total_size()) + " bytes for " + name() +
                                   " exceeds max_batch_bytes (" + std::to_string(max_batch_bytes) +
                                   "); send smaller batches or raise the topic's max_batch_bytes");
    }
    const BatchProblem problem = check_produced_batch(h, data + pos, rules);
    if (!problem.ok()) refuse(problem.status, problem.record, problem.what);
    headers.push_back(h);
    starts.push_back(pos);
    result.records += h.records_count;
    pos += h.total_size();
  }
  if (headers.empty()) fail(KEEL_ERR_INVALID_ARGUMENT, "empty produce for " + name() + ": no record batch");
  BatchIdentity id;
  std::string why;
  if (!identity_of(headers, &id, &why)) {
    fail(KEEL_ERR_INVALID_ARGUMENT, "rejected produce for " + name() + ": " + why + "; nothing was written");
  }

  std::unique_lock lock(append_mu_);
  if (closed_) fail(KEEL_ERR_UNAVAILABLE, name() + " is closed (broker shutting down or topic deleted)");
  refuse_after_failed_sync();
  if (id.idempotent()) {
    // Under the append lock: the check and the append it allows are one
    // step, whatever thread or transport the batch came from.
    const ProducerState::Check check = producers_.check(id);
    if (check.verdict != ProducerState::Verdict::kAppend) {
      result.idempotence = check.verdict;
      result.log_start_offset = log_start_offset();
      result.records = 0;
      if (check.verdict == ProducerState::Verdict::kDuplicate) {
        result.base_offset = check.original.first_offset;
        result.last_offset = check.original.last_offset;
      } else {
        result.refusal = name() + ": producer " + std::to_string(id.producer_id) + " epoch " +
                         std::to_string(id.epoch) + ", sequences " + std::to_string(id.first_seq) + ".." +
                         std::to_string(id.last_seq) + ": " + check.why + "; nothing was written";
      }
      return result;
    }
  }
  write_locked(data, len, headers, starts, leader_epoch, &result, false);
  // Only once the batch is in the log: a failed write leaves the state as
  // it was, so the client's retry is let in.
  if (id.idempotent()) producers_.record(id, result.base_offset, result.last_offset);
  finish_append(lock, headers.size(), len, &result);
  return result;
}

void PartitionLog::write_locked(const uint8_t* data, size_t len, const std::vector<batch::Header>& headers,
                                const std::vector<size_t>& starts, int32_t leader_epoch, AppendResult* result,
                                bool as_stored) {
  try {
    append_locked(data, len, headers, starts, leader_epoch, result, as_stored);
  } catch (const Error& e) {
    if (e.code() != KEEL_ERR_NO_SPACE) throw;
    note_no_space(e.what());
    // Spare files are room held for later rolls: a write that needs it now
    // comes first. The producer's retry finds it.
    if (const int64_t freed = release_spares_locked(); freed > 0) {
      spdlog::warn("{}: disk full: deleted its spare segment files ({} bytes) to make room", name(), freed);
    }
    throw;
  }
}

void PartitionLog::finish_append(std::unique_lock<std::mutex>& lock, size_t batches, size_t len,
                                 AppendResult* result) {
  if (no_space_.exchange(false)) {
    spdlog::info("{}: disk space is back: writes to '{}' succeed again", name(), dir_);
  }
  lock.unlock();
  result->batches = static_cast<int32_t>(batches);
  result->bytes = static_cast<int64_t>(len);
  result->log_start_offset = log_start_offset();
  notify_watches(WatchFired::kAppend);
}

AppendResult PartitionLog::append_replica(const uint8_t* data, size_t len) {
  // Checked before the lock, all of it before anything is written, as
  // append() does; the produce-only rules (check_produced_batch) are the
  // leader's, which applied them when it took the batches.
  std::vector<batch::Header> headers;
  std::vector<size_t> starts;
  AppendResult result;
  size_t pos = 0;
  while (pos < len) {
    const std::string why = batch::validate(data + pos, len - pos);
    if (!why.empty()) {
      fail(KEEL_ERR_CORRUPT, name() + ": replicated batch #" + std::to_string(headers.size()) + " at byte " +
                                 std::to_string(pos) + " of the fetched data: " + why +
                                 "; nothing of it was written (fetch again from offset " +
                                 std::to_string(log_end_offset()) + ")");
    }
    const auto h = *batch::parse_header(data + pos, len - pos);
    if (!headers.empty() && h.base_offset != headers.back().last_offset() + 1) {
      fail(KEEL_ERR_INVALID_ARGUMENT, name() + ": replicated batch #" + std::to_string(headers.size()) +
                                          " starts at offset " + std::to_string(h.base_offset) +
                                          " but the batch before it ends at offset " +
                                          std::to_string(headers.back().last_offset()) +
                                          "; batches must be contiguous, nothing of them was written");
    }
    headers.push_back(h);
    starts.push_back(pos);
    result.records += h.records_count;
    pos += h.total_size();
  }

  std::unique_lock lock(append_mu_);
  if (closed_) fail(KEEL_ERR_UNAVAILABLE, name() + " is closed (broker shutting down or topic deleted)");
  refuse_after_failed_sync();
  const int64_t end = log_end_.load();
  if (headers.empty()) {
    result.base_offset = end;
    result.last_offset = end - 1;
    result.log_start_offset = log_start_offset();
    return result;
  }
  if (headers.front().base_offset != end) {
    fail(KEEL_ERR_INVALID_ARGUMENT,
         name() + ": replicated batches start at offset " + std::to_string(headers.front().base_offset) +
             " but the log ends at offset " + std::to_string(end) + " (" +
             (headers.front().base_offset < end ? "an overlap" : "a gap") +
             "); a follower fetches from its log end, after truncate_to when the leader's log diverged. "
             "Nothing was written");
  }
  write_locked(data, len, headers, starts, -1, &result, true);
  // As recovery replays them: the log is the truth, so that this replica,
  // once leader, answers a producer's retry with the original offsets.
  for (const auto& h : headers) producers_.replay(h);
  finish_append(lock, headers.size(), len, &result);
  return result;
}

int64_t PartitionLog::truncate_to(int64_t offset, const std::string& reason) {
  std::unique_lock lock(append_mu_);
  if (closed_) fail(KEEL_ERR_UNAVAILABLE, name() + " is closed (broker shutting down or topic deleted)");
  refuse_after_failed_sync();
  // No DeleteRecords moves the start meanwhile, and no flush of the old end
  // can land after the flushed offset is clamped below.
  std::lock_guard start_lock(start_mu_);
  std::lock_guard flush_lock(flush_mu_);
  const int64_t start = log_start_offset();
  const int64_t old_end = log_end_.load();
  if (offset < start || offset > old_end) {
    fail(KEEL_ERR_OUT_OF_RANGE, name() + ": cannot truncate to offset " + std::to_string(offset) +
                                    ": it is outside the log's range [" + std::to_string(start) + ", " +
                                    std::to_string(old_end) + "]");
  }
  if (offset == old_end) return 0;

  std::vector<std::shared_ptr<Segment>> segs;
  {
    std::lock_guard seg_lock(segments_mu_);
    segs = segments_;
  }
  // The segment holding `offset`: the last one starting at or below it.
  size_t holder = 0;
  while (holder + 1 < segs.size() && segs[holder + 1]->base_offset() <= offset) ++holder;
  Segment::Cut cut = segs[holder]->find_cut(offset);
  // A batch holding the log start is cut whole only if that keeps the log
  // start readable; else the log restarts, empty, at `offset` (Kafka's
  // truncate-fully-and-start-at).
  const bool restart = cut.next_offset < start;
  const int64_t new_end = restart ? offset : cut.next_offset;

  // The mark first: once any file is cut, a crash must not make open() take
  // the cut offsets for lost ones (the broker's checkpoint may name them).
  write_file_atomically(dir_ + "/" + kTruncatedFile, "0\n" + std::to_string(new_end) + "\n");

  // Segments above the holder (all of them on a restart) go. Renamed aside,
  // not just unlinked: readers keep their open files, and a segment made
  // later at the same base never shares a name with one about to be
  // deleted.
  const size_t keep = restart ? 0 : holder + 1;
  std::vector<std::shared_ptr<Segment>> doomed(segs.begin() + static_cast<std::ptrdiff_t>(keep), segs.end());
  // A closed holder cut to nothing goes too; one cut part-way stays closed
  // and a new active segment follows it. The active holder is cut in place.
  const bool holder_active = holder + 1 == segs.size();
  if (!restart && !holder_active && cut.position == 0) doomed.insert(doomed.begin(), segs[holder]);
  for (auto& s : doomed) {
    s->rename_aside();
    s->mark_deleted();
  }
  if (!doomed.empty()) fsync_dir(dir_);
  std::shared_ptr<Segment> holder_seg = segs[holder];
  const bool holder_doomed = restart || (!holder_active && cut.position == 0);
  if (!holder_doomed) holder_seg->truncate(cut);
  std::shared_ptr<Segment> fresh;
  if (holder_doomed || !holder_active) fresh = new_segment(new_end);
  {
    std::lock_guard seg_lock(segments_mu_);
    std::erase_if(segments_, [&](const std::shared_ptr<Segment>& s) {
      return std::find(doomed.begin(), doomed.end(), s) != doomed.end();
    });
    if (fresh) segments_.push_back(fresh);
    publish_start_locked();
    // Offsets missing past the new end are no longer missing: later ones
    // will be appended there.
    std::erase_if(gaps_, [&](const DamagedRange& g) { return g.first_offset >= new_end; });
    for (auto& g : gaps_) g.last_offset = std::min(g.last_offset, new_end - 1);
    has_gaps_.store(!gaps_.empty());
  }
  {
    std::lock_guard hw_lock(hw_mu_);
    log_end_.store(new_end, std::memory_order_release);
    const int64_t hw = replicated() ? std::min(hw_.load(), new_end) : new_end;
    hw_.store(std::max(hw, log_start_offset()), std::memory_order_release);
  }
  int64_t flushed = flushed_.load();
  while (flushed > new_end && !flushed_.compare_exchange_weak(flushed, new_end)) {
  }
  // The producer state of what stays: snapshots past the new end are
  // removed (and the removal synced, or a crash could bring one back to
  // describe offsets appended after this), the rest replayed.
  drop_pending_snapshot_after(new_end);  // it would name offsets cut here
  producers_.restore({});
  load_producers();
  fsync_dir(dir_);
  // Last: the cache may name an epoch whose first batch is gone, never
  // miss one the log holds.
  epochs_.truncate_from_end(new_end);
  spdlog::info("{}: truncated from {} to {} ({})", name(), old_end, new_end, reason);
  return old_end - new_end;
}

int64_t PartitionLog::reset_to(int64_t offset, const std::string& reason) {
  if (offset < 0) {
    fail(KEEL_ERR_INVALID_ARGUMENT,
         name() + ": cannot reset the log to offset " + std::to_string(offset) + ": offsets are >= 0");
  }
  const int64_t removed = reset_locked(offset, reason);
  // The log end and high watermark moved up: their watches are due.
  notify_watches();
  return removed;
}

int64_t PartitionLog::reset_locked(int64_t offset, const std::string& reason) {
  std::lock_guard lock(append_mu_);
  if (closed_) fail(KEEL_ERR_UNAVAILABLE, name() + " is closed (broker shutting down or topic deleted)");
  refuse_after_failed_sync();
  // As truncate_to: no DeleteRecords or flush of the old log meanwhile.
  std::lock_guard start_lock(start_mu_);
  std::lock_guard flush_lock(flush_mu_);
  const int64_t old_start = log_start_offset();
  const int64_t old_end = log_end_.load();
  // Below the old end, the broker's recovery checkpoint may name offsets
  // above `offset` until its next write (see kTruncatedFile).
  if (offset < old_end)
    write_file_atomically(dir_ + "/" + kTruncatedFile, "0\n" + std::to_string(offset) + "\n");
  // The point of no return: from here a crash is finished by open().
  write_file_atomically(dir_ + "/" + kResetFile, "0\n" + std::to_string(offset) + "\n");
  rewrite_step("reset-marked");

  std::vector<std::shared_ptr<Segment>> doomed;
  {
    std::lock_guard seg_lock(segments_mu_);
    doomed = segments_;
  }
  // Renamed aside, as truncate_to does: readers keep their open files, and
  // the new segment may take an old one's name.
  for (auto& s : doomed) {
    s->rename_aside();
    s->mark_deleted();
  }
  for (int64_t snapshot : list_producer_snapshots(dir_)) {
    std::error_code ec;
    fs::remove(producer_snapshot_path(dir_, snapshot), ec);
  }
  fsync_dir(dir_);
  rewrite_step("reset-segments-removed");
  write_file_atomically(dir_ + "/" + kRecordsStartFile, "0\n" + std::to_string(offset) + "\n");
  rewrite_step("reset-start-saved");
  epochs_.truncate_from_end(0);  // every epoch: the leader's batches start them again
  auto fresh = new_segment(offset);
  rewrite_step("reset-segment-created");
  {
    std::lock_guard seg_lock(segments_mu_);
    segments_ = {fresh};
    records_start_.store(offset);
    publish_start_locked();
    gaps_.clear();
    has_gaps_.store(false);
  }
  {
    std::lock_guard hw_lock(hw_mu_);
    log_end_.store(offset, std::memory_order_release);
    hw_.store(offset, std::memory_order_release);
  }
  flushed_.store(offset);
  drop_pending_snapshot_after(-1);  // every offset it names is gone
  producers_.restore({});
  active_unindexed_ = false;  // new_segment made it with its indexes
  std::error_code ec;
  fs::remove(dir_ + "/" + kResetFile, ec);
  fsync_dir(dir_);
  spdlog::info("{}: reset to offset {} ({}); {} offsets of older data removed", name(), offset, reason,
               old_end - old_start);
  return old_end - old_start;
}

void PartitionLog::set_replicated(bool on) {
  {
    std::lock_guard lock(hw_mu_);
    replicated_.store(on, std::memory_order_release);
    if (!on) hw_.store(log_end_.load(), std::memory_order_release);
  }
  notify_watches();
}

void PartitionLog::set_high_watermark(int64_t hw) {
  {
    std::lock_guard lock(hw_mu_);
    hw = std::max(std::min(hw, log_end_offset()), log_start_offset());
    hw_.store(hw, std::memory_order_release);
  }
  // Log-end watches are the append's to fire (WatchFired::kAppend): a
  // follower's parked fetch is then answered on the appending thread, not
  // woken from here, where callers hold their locks.
  notify_watches(WatchFired::kOther, false);
}

void PartitionLog::checkpoint_high_watermark() {
  if (!replicated()) return;
  std::lock_guard lock(hw_file_mu_);
  const int64_t hw = high_watermark();
  if (hw == hw_checkpointed_) return;
  try {
    write_file_atomically(dir_ + "/" + kHighWatermarkFile, "0\n" + std::to_string(hw) + "\n");
    hw_checkpointed_ = hw;
  } catch (const Error& e) {
    spdlog::warn("{}: writing the high watermark checkpoint ({}) failed: {}; the next checkpoint tries again",
                 name(), hw, e.what());
  }
}

void PartitionLog::note_no_space(const std::string& what) {
  // Every partition's spares are room a write needs now: the spare maker
  // frees them on its thread (their append locks are never taken under
  // this one), once for all the writes that fail before it starts.
  if (spare_hooks_.no_space) spare_hooks_.no_space();
  if (no_space_.exchange(true)) return;  // one line per episode, not per produce
  spdlog::error(
      "{}: disk full: {}. Producing to {} fails with KAFKA_STORAGE_ERROR (HTTP 507) until there is room; "
      "consumers still read everything stored. Free space on the file system holding '{}' or lower the "
      "topic's retention; the partition takes writes again with the first produce that fits.",
      name(), what, name(), dir_);
}

void PartitionLog::index_active_locked() {
  auto old = active();
  if (old->size() > 0) {
    // The unindexed segment stays as a closed one (reads scan it); the next
    // start indexes it.
    roll_locked();
  } else {
    // Nothing in it: an indexed segment with the same base takes its place.
    // The unindexed one owns no index files, so the two never share one.
    auto fresh = new_segment(old->base_offset());
    std::lock_guard lock(segments_mu_);
    segments_.back() = fresh;
  }
  active_unindexed_ = false;
}

void PartitionLog::append_locked(const uint8_t* data, size_t len, const std::vector<batch::Header>& headers,
                                 const std::vector<size_t>& starts, int32_t leader_epoch,
                                 AppendResult* result, bool as_stored) {
  if (active_unindexed_) index_active_locked();
  // Each batch's first 16 bytes are written from here: its offset, its
  // length (the producer's) and its leader epoch; the rest from `data`.
  std::vector<uint8_t> offsets(16 * headers.size());
  std::vector<struct iovec> iov(2 * headers.size());
  std::vector<BatchMeta> metas(headers.size());
  int64_t span = 0;
  for (const auto& h : headers) span += static_cast<int64_t>(h.last_offset_delta) + 1;
  auto seg = active();
  const int64_t now = clock_->now_ms();
  if (seg->size() > 0 && (seg->size() + static_cast<int64_t>(len) > segment_bytes_.load() ||
                          now - seg->created_ms() >= segment_ms_.load() ||
                          log_end_.load() + span - seg->base_offset() > kMaxRelativeOffset)) {
    roll_locked();
    seg = active();
  }

  int64_t next = log_end_.load(std::memory_order_relaxed);
  result->base_offset = next;
  // Before the batch: the checkpoint may name an epoch whose first batch a
  // crash lost (open() cuts it), never miss one the log holds.
  if (!as_stored && leader_epoch >= 0 && leader_epoch > epochs_.latest_epoch()) {
    epochs_.assign(leader_epoch, next);
  }
  for (size_t i = 0; i < headers.size(); ++i) {
    const auto& h = headers[i];
    if (as_stored) {
      // The leader's bytes, offsets and epochs as they are.
      if (h.partition_leader_epoch >= 0 && h.partition_leader_epoch > epochs_.latest_epoch()) {
        epochs_.assign(h.partition_leader_epoch, h.base_offset);
      }
      iov[2 * i] = {const_cast<uint8_t*>(data + starts[i]), h.total_size()};
      iov[2 * i + 1] = {nullptr, 0};
      metas[i] =
          BatchMeta{h.base_offset, h.last_offset(), h.max_timestamp, static_cast<int32_t>(h.total_size())};
      next = h.last_offset() + 1;
      continue;
    }
    uint8_t* head = &offsets[16 * i];
    std::memcpy(head, data + starts[i], 16);
    batch::set_base_offset(head, next);
    if (leader_epoch >= 0) batch::set_partition_leader_epoch(head, leader_epoch);
    iov[2 * i] = {head, 16};
    iov[2 * i + 1] = {const_cast<uint8_t*>(data + starts[i] + 16), h.total_size() - 16};
    metas[i] =
        BatchMeta{next, next + h.last_offset_delta, h.max_timestamp, static_cast<int32_t>(h.total_size())};
    next += static_cast<int64_t>(h.last_offset_delta) + 1;
  }
  seg->append(iov.data(), static_cast<int>(iov.size()), metas);
  appended_bytes_.fetch_add(static_cast<int64_t>(len), std::memory_order_relaxed);
  log_end_.store(next, std::memory_order_release);
  if (!replicated()) hw_.store(next, std::memory_order_release);
  result->last_offset = next - 1;
  if (!spare_requested_) want_spare_locked(seg->size());
}

ReadResult PartitionLog::read(int64_t offset, int64_t max_bytes) const {
  return read_below(offset, max_bytes, high_watermark());
}

ReadResult PartitionLog::read_to_end(int64_t offset, int64_t max_bytes) const {
  return read_below(offset, max_bytes, INT64_MAX);
}

ReadResult PartitionLog::read_below(int64_t offset, int64_t max_bytes, int64_t limit) const {
  ReadResult r;
  if (offset < log_start_offset() || offset > log_end_offset()) {
    fail(KEEL_ERR_OUT_OF_RANGE, "offset " + std::to_string(offset) + " is outside " + name() + "'s range [" +
                                    std::to_string(log_start_offset()) + ", " +
                                    std::to_string(log_end_offset()) + "]");
  }
  if (offset >= std::min(limit, log_end_offset())) return r;
  if (has_gaps_.load(std::memory_order_acquire)) {
    std::lock_guard lock(segments_mu_);
    for (const auto& g : gaps_) {
      if (!g.holds(offset)) continue;
      fail(KEEL_ERR_CORRUPT, name() + ": offset " + std::to_string(offset) + " is missing from the log: " +
                                 g.describe() + "; consumers can skip to offset " +
                                 std::to_string(g.last_offset + 1) + " (see docs/operations.md)");
    }
  }
  // The offset may sit in a gap at a segment's end (e.g. after compaction):
  // move on to the next segment until one has data.
  auto seg = segment_for(offset);
  while (seg) {
    Segment::Span span = seg->read(offset, max_bytes, limit);
    if (span.length > 0) {
      r.segment = seg;
      r.position = span.position;
      r.length = span.length;
      r.records = span.records;
      return r;
    }
    std::lock_guard lock(segments_mu_);
    auto it = std::find(segments_.begin(), segments_.end(), seg);
    seg = (it == segments_.end() || std::next(it) == segments_.end()) ? nullptr : *std::next(it);
    // An empty span may be the limit's doing: no later segment is below it.
    if (seg && seg->base_offset() >= limit) seg = nullptr;
    if (seg) offset = seg->base_offset();
  }
  return r;
}

std::pair<int64_t, int64_t> PartitionLog::find_time(int64_t timestamp) const {
  std::vector<std::shared_ptr<Segment>> segs;
  {
    std::lock_guard lock(segments_mu_);
    segs = segments_;
  }
  const int64_t start = log_start_offset();
  for (const auto& s : segs) {
    if (s->next_offset() <= start) continue;
    if (s->max_timestamp() >= 0 && s->max_timestamp() < timestamp) continue;
    auto found = s->find_time(timestamp);
    // A match below the start (DeleteRecords) is not readable: the answer
    // is the start, with the match's timestamp (exact when timestamps grow
    // with offsets, as producers write them).
    if (found.first >= 0) return {std::max(found.first, start), found.second};
  }
  return {-1, -1};
}

std::optional<int64_t> PartitionLog::read_offset_file(const char* file, const char* fallback) const {
  std::ifstream in(dir_ + "/" + file);
  if (!in) return std::nullopt;
  std::string version;
  int64_t offset = 0;
  if (!std::getline(in, version) || version != "0" || !(in >> offset) || offset < 0) {
    // Written atomically, so only a hand edit gets here: the caller's
    // fallback is the safe reading.
    spdlog::error("{}: '{}/{}' is unreadable; ignoring it ({})", name(), dir_, file, fallback);
    return std::nullopt;
  }
  return offset;
}

void PartitionLog::publish_start_locked() {
  if (segments_.empty()) return;
  log_start_.store(std::max(segments_.front()->base_offset(), records_start_.load()));
}

int64_t PartitionLog::delete_records(int64_t offset) {
  std::lock_guard start_lock(start_mu_);
  const int64_t hw = high_watermark();
  if (offset == -1) offset = hw;
  if (offset < 0) {
    fail(KEEL_ERR_INVALID_ARGUMENT, name() + ": cannot delete records before offset " +
                                        std::to_string(offset) +
                                        "; give an offset >= 0, or -1 for the high watermark");
  }
  if (offset > hw) {
    fail(KEEL_ERR_OUT_OF_RANGE, name() + ": cannot delete records before offset " + std::to_string(offset) +
                                    ": it is beyond the high watermark " + std::to_string(hw));
  }
  if (offset <= log_start_offset()) return log_start_offset();
  // The records up to the new start must be as durable as the start, or a
  // crash could leave a start past the log's end.
  flush();
  write_file_atomically(dir_ + "/" + kRecordsStartFile, "0\n" + std::to_string(offset) + "\n");
  {
    std::lock_guard lock(segments_mu_);
    records_start_.store(offset);
    publish_start_locked();
  }
  trim_leader_epochs(log_start_offset());
  spdlog::info("{}: records before offset {} deleted (DeleteRecords); log now starts at {}", name(), offset,
               log_start_offset());
  return log_start_offset();
}

size_t PartitionLog::segments_below_start() const {
  std::lock_guard lock(segments_mu_);
  const int64_t start = records_start_.load();
  size_t n = 0;
  // A segment a rewrite emptied ends where it starts: it is below the start
  // only if it starts below it.
  while (n + 1 < segments_.size() && segments_[n]->next_offset() <= start &&
         segments_[n]->base_offset() < start) {
    ++n;
  }
  return n;
}

int64_t PartitionLog::flush() {
  std::lock_guard flush_lock(flush_mu_);
  // Read the end, then the active segment, then sync the one waiting: data
  // below the end is in the active segment read here, or in the segment
  // waiting for its sync (a roll after that read puts it there with the
  // new active one, in one step), or in segments already synced.
  const int64_t end = log_end_.load(std::memory_order_acquire);
  if (end <= flushed_.load()) return flushed_.load();
  auto seg = active();
  if (!seg) return flushed_.load();
  refuse_after_failed_sync();
  try {
    sync_waiting();
    seg->sync_log();
  } catch (const Error& e) {
    remember_failed_sync(e);
    throw;
  }
  raise_flushed(end);
  last_flush_ms_.store(clock_->now_ms());
  return flushed_.load();
}

bool PartitionLog::claim_write_back(int64_t min_bytes) {
  const int64_t appended = appended_bytes_.load(std::memory_order_relaxed);
  if (appended - writeback_mark_.load(std::memory_order_relaxed) < min_bytes) return false;
  return !writeback_queued_.exchange(true);
}

void PartitionLog::write_back() {
  std::lock_guard flush_lock(flush_mu_);
  writeback_mark_.store(appended_bytes_.load());
  writeback_queued_.store(false);
  // The active segment only: the ones before it are synced whole after
  // their roll (sync_sealed).
  if (auto seg = active()) seg->write_back(seg->size());
}

int64_t PartitionLog::active_segment_bytes() const {
  auto seg = active();
  return seg ? seg->size() : 0;
}

int64_t PartitionLog::active_written_back() const {
  auto seg = active();
  return seg ? seg->written_back() : 0;
}

bool PartitionLog::roll_if_aged() {
  std::lock_guard lock(append_mu_);
  if (closed_) return false;
  auto seg = active();
  if (!seg || seg->size() == 0 || clock_->now_ms() - seg->created_ms() < segment_ms_.load()) return false;
  roll_locked();
  return true;
}

int PartitionLog::delete_oldest(size_t count) {
  const size_t deleted = drop_oldest_segments(count);
  // After the append lock: the checkpoint's write and fdatasync held every
  // append of the partition for up to 150 ms under retention
  // (docs/performance.md, "Retention's checkpoint write under the append
  // lock"). A cache that still names epochs below the new start is allowed
  // (LeaderEpochCache), and an append meanwhile only adds after them.
  if (deleted > 0) trim_leader_epochs(log_start_.load());
  return static_cast<int>(deleted);
}

size_t PartitionLog::drop_oldest_segments(size_t count) {
  std::lock_guard lock(append_mu_);
  std::vector<std::shared_ptr<Segment>> doomed;
  {
    std::lock_guard seg_lock(segments_mu_);
    count = std::min(count, segments_.size() - 1);
    doomed.assign(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(count));
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(count));
    if (!segments_.empty()) publish_start_locked();
  }
  // The newest of them (their files are the fullest) may stay as spares,
  // as many as the partition will want before the next pass. Their offsets
  // all lie below the new log start, so below any offset written from now
  // on.
  std::vector<std::shared_ptr<Segment>> kept;
  if (recycle_segments_.load() && !doomed.empty()) {
    const size_t target = spare_target_locked();
    size_t have = spare_segment::count(dir_);
    int64_t kept_bytes = 0;
    for (auto it = doomed.rbegin(); it != doomed.rend() && have < target; ++it) {
      auto& s = *it;
      // A file less than half full (rolled by age) saves a roll little.
      if (s->size() < segment_bytes_.load() / 2) continue;
      if (!spare_segment::room_for(dir_, kept_bytes + s->size())) break;
      s->recycle_into(spare_segment::path(dir_, s->next_offset()));
      kept.push_back(s);
      kept_bytes += s->size();
      ++have;
    }
    if (!kept.empty()) may_hold_spares_ = true;
  }
  for (auto& s : doomed) {
    const bool spare = std::find(kept.begin(), kept.end(), s) != kept.end();
    spdlog::info("{}: retention deletes segment '{}' (offsets {}..{}, {} bytes{}); log now starts at {}",
                 name(), s->path(), s->base_offset(), s->next_offset() - 1, s->size(),
                 spare ? ", its file kept to become a later segment" : "", log_start_.load());
    s->mark_deleted();
  }
  return doomed.size();
}

size_t PartitionLog::spare_target_locked() const {
  return recycle_segments_.load() ? std::max<size_t>(1, rolls_since_pass_) : 0;
}

void PartitionLog::end_retention_pass() {
  std::lock_guard lock(append_mu_);
  const size_t rolls = rolls_since_pass_;
  const size_t target = spare_target_locked();
  rolls_since_pass_ = 0;
  if (closed_ || !may_hold_spares_) return;
  // A prepared spare through a whole pass with no roll and the active
  // segment under half full: the partition slowed down, and the spare is
  // disk held for a roll that may be far off. It goes; the partition asks
  // again at half full, half a segment ahead of its roll (a 1 GiB spare
  // took up to 850 ms to make here).
  if (auto seg = active(); rolls == 0 && seg && seg->size() < segment_bytes_.load() / 2) {
    if (const int64_t freed = file_releaser::remove(spare_segment::prepared_path(dir_)); freed >= 0) {
      spare_requested_ = false;
      spdlog::info(
          "{}: deleted its prepared spare segment file ({} bytes): no roll since the last retention "
          "pass and the active segment is under half full",
          name(), freed);
    }
  }
  // Spares nobody took since the last pass: the partition rolls less often
  // than it did, or the topic stopped recycling. Their disk space goes back.
  const size_t had = spare_segment::count(dir_);
  if (had > target) {
    const int64_t freed = spare_segment::trim(dir_, target);
    spdlog::info(
        "{}: deleted {} unused spare segment file(s) ({} bytes): {} roll(s) since the last retention "
        "pass{}",
        name(), had - target, freed, rolls, recycle_segments_.load() ? "" : ", and recycle_segments is off");
  }
  may_hold_spares_ = target > 0 && had > 0;
}

void PartitionLog::want_spare_locked(int64_t filled) {
  if (spare_requested_ || !spare_hooks_.wanted || filled < segment_bytes_.load() / 2) return;
  if (!prepares_spares() || spares_unsupported_.load()) return;
  spare_requested_ = true;
  spare_hooks_.wanted();
}

bool PartitionLog::prepare_spare(const std::atomic<bool>* cancel) {
  std::lock_guard prep(spare_mu_);
  int64_t bytes = 0;
  {
    std::lock_guard lock(append_mu_);
    if (closed_ || !prepares_spares()) return false;
    bytes = segment_bytes_.load();
  }
  // Listed without the append lock: a roll taking a spare meanwhile only
  // leaves the next request to make one.
  if (spare_segment::count(dir_) > 0) return false;
  if (!spare_segment::room_for(dir_, bytes)) {
    spdlog::debug(
        "{}: no spare segment prepared: the file system holding '{}' has too little room for {} bytes",
        name(), dir_, bytes);
    return false;
  }
  const int64_t t0 = monotonic_ns();
  std::string why;
  const auto outcome = spare_segment::prepare(
      dir_, bytes, [&] { return closed_.load() || (cancel != nullptr && cancel->load()); }, &why);
  const double ms = static_cast<double>(monotonic_ns() - t0) / 1e6;
  switch (outcome) {
    case spare_segment::Prepared::kMade: {
      std::lock_guard lock(append_mu_);
      may_hold_spares_ = true;
      break;
    }
    case spare_segment::Prepared::kUnsupported:
      // Asked no more until a restart: the file system will not change.
      spares_unsupported_.store(true);
      spdlog::info("{}: no spare segment prepared ({}); new segments start as holes", name(), why);
      break;
    case spare_segment::Prepared::kFailed:
      spdlog::warn("{}: no spare segment prepared: {}; the next roll starts its segment as a hole", name(),
                   why);
      break;
    case spare_segment::Prepared::kAlreadyThere:
    case spare_segment::Prepared::kCancelled:
      break;
  }
  if (outcome != spare_segment::Prepared::kMade) return false;
  spdlog::info(
      "{}: prepared a spare segment file of {} bytes in {:.1f} ms: the next roll writes into allocated "
      "blocks",
      name(), bytes, ms);
  return true;
}

int64_t PartitionLog::release_spares() {
  // Before open() ends, the partition's state is its opener's alone.
  if (!opened_.load()) return 0;
  std::lock_guard lock(append_mu_);
  return closed_ ? 0 : release_spares_locked();
}

int64_t PartitionLog::release_spares_locked() {
  if (!may_hold_spares_) return 0;
  may_hold_spares_ = false;
  const int64_t freed = spare_segment::trim(dir_, 0);
  // The producer's retry needs the room now, not a chunk at a time.
  if (freed > 0) file_releaser::drain();
  return freed;
}

std::vector<keel_segment_info> PartitionLog::segment_infos() const {
  std::lock_guard lock(segments_mu_);
  std::vector<keel_segment_info> out;
  out.reserve(segments_.size());
  for (const auto& s : segments_) out.push_back(s->info());
  return out;
}

std::vector<std::shared_ptr<Segment>> PartitionLog::closed_segments() const {
  std::lock_guard lock(segments_mu_);
  if (segments_.empty()) return {};
  return {segments_.begin(), std::prev(segments_.end())};
}

void PartitionLog::for_each_batch(const std::function<bool(const uint8_t*, size_t)>& visit,
                                  const std::function<void(const DamagedRange&)>& on_damage) const {
  std::vector<std::shared_ptr<Segment>> segs;
  {
    std::lock_guard lock(segments_mu_);
    segs = segments_;
  }
  bool more = true;
  for (const auto& s : segs) {
    if (!more) return;
    s->for_each_batch([&](const uint8_t* b, size_t len) { return more = visit(b, len); }, on_damage);
  }
}

void PartitionLog::replace_segments(const std::vector<std::shared_ptr<Segment>>& old,
                                    std::shared_ptr<Segment> fresh) {
  // Rolling (under the append lock) and retention must not move the list
  // under us.
  std::lock_guard lock(append_mu_);
  std::lock_guard seg_lock(segments_mu_);
  auto it = old.empty() ? segments_.end() : std::find(segments_.begin(), segments_.end(), old.front());
  const auto left = static_cast<size_t>(std::distance(it, segments_.end()));
  if (it == segments_.end() || left <= old.size() || !std::equal(old.begin(), old.end(), it)) {
    fail(KEEL_ERR_INTERNAL, name() + ": the segments a rewrite replaced are no longer in the log");
  }
  it = segments_.erase(it, it + static_cast<std::ptrdiff_t>(old.size()));
  segments_.insert(it, std::move(fresh));
  publish_start_locked();
}

size_t PartitionLog::segment_count() const {
  std::lock_guard lock(segments_mu_);
  return segments_.size();
}

int64_t PartitionLog::size_bytes() const {
  std::lock_guard lock(segments_mu_);
  int64_t n = 0;
  for (const auto& s : segments_) n += s->size();
  return n;
}

int64_t PartitionLog::index_entries() const {
  std::lock_guard lock(segments_mu_);
  int64_t n = 0;
  for (const auto& s : segments_) n += s->index_entries();
  return n;
}

void PartitionLog::close(Closing how) {
  {
    std::lock_guard lock(append_mu_);
    if (closed_.exchange(true)) return;
  }
  {
    // A spare in preparation stops at its next chunk (it sees closed_).
    std::lock_guard prep(spare_mu_);
  }
  if (how == Closing::Discard) {
    {
      // The directory is about to go (or to be a new topic's): a sync in
      // progress finishes first, and no roll's snapshot is written after.
      std::lock_guard flush_lock(flush_mu_);
      drop_pending_snapshot_after(-1);
    }
    return fire_all_watches();
  }
  std::string failed;
  try {
    if (auto seg = active()) {
      // The segment a roll sealed first: the flushed offset is a prefix.
      sync_sealed();
      seg->trim_unused();
      seg->flush();
      seg->seal();
      flushed_.store(log_end_.load());
    }
  } catch (const Error& e) {
    failed = e.what();
    spdlog::error("{}: flush on close failed: {}", name(), failed);
  }
  {
    // closed_ keeps appends out; the lock is for the guarded state.
    std::lock_guard lock(append_mu_);
    snapshot_producers_locked();
  }
  checkpoint_high_watermark();
  fire_all_watches();
  // Reported, so that the broker does not call this stop clean: the next
  // start must check what the failed sync may have left off the disk, not
  // trust the log as a clean stop's.
  if (!failed.empty())
    fail(KEEL_ERR_IO, name() + ": not synced at close (" + failed +
                          "); the next start verifies its recent segments against their CRCs");
}

std::shared_ptr<PartitionLog::Watch> PartitionLog::watch(int64_t offset, std::function<void(WatchFired)> cb,
                                                         WatchOn on) {
  auto w = std::make_shared<Watch>();
  w->offset = offset;
  w->on = on;
  w->callback = std::move(cb);
  {
    std::lock_guard lock(watch_mu_);
    watches_.push_back(w);
  }
  // An append may have finished before the watch was listed.
  const int64_t level = on == WatchOn::kLogEnd ? log_end_offset() : high_watermark();
  if (level > offset || closed_) notify_watches();
  return w;
}

void PartitionLog::unwatch(const std::shared_ptr<Watch>& w) {
  {
    std::lock_guard lock(watch_mu_);
    watches_.remove(w);
  }
  std::lock_guard lock(w->mu);  // waits for a callback in progress
  w->done = true;
}

void PartitionLog::notify_watches(WatchFired why, bool log_end_moved) {
  std::vector<std::shared_ptr<Watch>> due;
  {
    std::lock_guard lock(watch_mu_);
    if (watches_.empty()) return;
    const int64_t end = log_end_offset();
    const int64_t hw = high_watermark();
    const bool all = closed_.load();
    for (auto it = watches_.begin(); it != watches_.end();) {
      if (!log_end_moved && (*it)->on == WatchOn::kLogEnd && !all) {
        ++it;
        continue;
      }
      if (all || (*it)->offset < ((*it)->on == WatchOn::kLogEnd ? end : hw)) {
        due.push_back(*it);
        it = watches_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& w : due) {
    std::lock_guard lock(w->mu);
    if (w->done) continue;
    w->done = true;
    w->callback(why);
  }
}

void PartitionLog::fire_all_watches() {
  std::vector<std::shared_ptr<Watch>> all;
  {
    std::lock_guard lock(watch_mu_);
    all.assign(watches_.begin(), watches_.end());
    watches_.clear();
  }
  for (auto& w : all) {
    std::lock_guard lock(w->mu);
    if (w->done) continue;
    w->done = true;
    w->callback(WatchFired::kOther);
  }
}

void PartitionLog::rewrite_step(const char* step) const {
  if (failpoint_) failpoint_(step);
  static const char* crash_at = std::getenv("KEEL_TEST_CRASH_AT");
  if (crash_at != nullptr && std::strcmp(crash_at, step) == 0) {
    spdlog::warn("{}: KEEL_TEST_CRASH_AT={}: killing the broker (test failure injection)", name(), step);
    spdlog::default_logger()->flush();
    ::raise(SIGKILL);
  }
}

}  // namespace keel
