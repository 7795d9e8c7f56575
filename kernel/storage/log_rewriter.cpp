#include "storage/log_rewriter.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <keel/record_batch.hpp>
#include <set>
#include <sstream>

#include "common/error.hpp"

namespace keel {
namespace fs = std::filesystem;

namespace {

constexpr const char* kCleaned = ".cleaned";
constexpr const char* kSwap = ".swap";
constexpr const char* kEndMarker = ".replaced-end";
constexpr const char* kOffsetsFile = "cleaner-offsets";

[[noreturn]] void fail_errno(int e, const std::string& what, const std::string& path) {
  fail(status_from_errno(e), what + " '" + path + "' failed: " + errno_text(e));
}

void sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail_errno(errno, "open of partition directory", dir);
  int rc = ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0) fail_errno(e, "fsync of partition directory", dir);
}

void write_durably(const std::string& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail_errno(errno, "create of", path);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;
      ::close(fd);
      fail_errno(e, "write of", path);
    }
    done += static_cast<size_t>(n);
  }
  if (::fdatasync(fd) != 0) {
    int e = errno;
    ::close(fd);
    fail_errno(e, "fdatasync of", path);
  }
  ::close(fd);
}

void rename_file(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) fail_errno(errno, "rename to '" + to + "' of", from);
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) out.push_back(entry.path().filename().string());
  if (ec) fail(KEEL_ERR_IO, "cannot list partition directory '" + dir + "': " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> names_with_prefix(const std::string& dir, const std::string& prefix) {
  std::vector<std::string> out;
  for (auto& n : names_in(dir)) {
    if (n.starts_with(prefix)) out.push_back(n);
  }
  return out;
}

bool is_base_stem(const std::string& s) {
  return s.size() == 20 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Renames "<from_stem>.<ext>" to "<to_stem>.<ext>" for every name given,
// except the end marker; the log goes last, because the presence of the log
// under the new stem is what recovery reads as "this step happened".
void rename_set(const std::string& dir, const std::vector<std::string>& names, const std::string& from_stem,
                const std::string& to_stem) {
  std::vector<std::string> order;
  std::string log;
  for (const auto& n : names) {
    const std::string ext = n.substr(from_stem.size());
    if (ext == ".log") {
      log = n;
    } else if (ext != kEndMarker || to_stem.ends_with(kSwap)) {
      order.push_back(n);
    }
  }
  if (!log.empty()) order.push_back(log);
  for (const auto& n : order) rename_file(dir + "/" + n, dir + "/" + to_stem + n.substr(from_stem.size()));
}

int64_t read_end_marker(const std::string& path) {
  std::ifstream in(path);
  int64_t end = -1;
  if (!(in >> end) || end < 0) {
    fail(KEEL_ERR_CORRUPT, "rewrite marker '" + path +
                               "' is missing or unreadable, so the segments a committed rewrite replaced are "
                               "unknown; move the partition's *.swap.* files aside to keep the old segments");
  }
  return end;
}

}  // namespace

void recover_interrupted_rewrites(const std::string& dir, const std::string& log_name) {
  bool changed = false;
  // Unfinished rewrites (old segments intact) and files of replaced segments.
  for (const auto& n : names_in(dir)) {
    if (n.ends_with(".deleted") || n.find(std::string(kCleaned) + ".") != std::string::npos ||
        n == std::string(kOffsetsFile) + ".tmp") {
      ::unlink((dir + "/" + n).c_str());
      changed = true;
    }
  }
  // Committed swaps: finish them.
  for (const auto& n : names_in(dir)) {
    const std::string swap_log = std::string(kSwap) + ".log";
    if (!n.ends_with(swap_log)) continue;
    const std::string stem = n.substr(0, n.size() - swap_log.size());
    if (!is_base_stem(stem)) continue;
    const std::string swap_stem = stem + kSwap;
    const int64_t base = std::stoll(stem);
    const int64_t end = read_end_marker(dir + "/" + swap_stem + kEndMarker);
    // Whatever is left of the replaced segments, whichever of their files a
    // crash left behind.
    std::set<int64_t> removed;
    for (const auto& old : names_in(dir)) {
      if (old.size() < 22 || old[20] != '.' || !is_base_stem(old.substr(0, 20))) continue;
      if (old.find(std::string(kSwap) + ".") != std::string::npos) continue;
      const int64_t b = std::stoll(old.substr(0, 20));
      if (b < base || b >= end) continue;
      ::unlink((dir + "/" + old).c_str());
      removed.insert(b);
    }
    rename_set(dir, names_with_prefix(dir, swap_stem + "."), swap_stem, stem);
    sync_dir(dir);
    ::unlink((dir + "/" + swap_stem + kEndMarker).c_str());
    changed = true;
    spdlog::warn(
        "{}: finished a rewrite interrupted after its commit: segment {} now replaces offsets {}..{} "
        "({} old segment file set(s) still present were deleted)",
        log_name, stem, base, end - 1, removed.size());
  }
  // Swap files without their log: a commit that stopped before its point of
  // no return, or leftovers of one that finished.
  for (const auto& n : names_in(dir)) {
    if (n.find(std::string(kSwap) + ".") != std::string::npos) {
      ::unlink((dir + "/" + n).c_str());
      changed = true;
    }
  }
  if (changed) {
    sync_dir(dir);
    spdlog::info("{}: cleaned up after an interrupted segment rewrite", log_name);
  }
}

std::map<std::string, int64_t> read_clean_offsets(const std::string& dir) {
  std::map<std::string, int64_t> out;
  std::ifstream in(dir + "/" + kOffsetsFile);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name;
    int64_t offset = 0;
    if (fields >> name >> offset) {
      out[name] = offset;
    } else if (!line.empty()) {
      // Losing a clean point only makes the next rewrite redo work.
      spdlog::warn("'{}/{}': ignoring unreadable line '{}'", dir, kOffsetsFile, line);
    }
  }
  return out;
}

void write_clean_offsets(const std::string& dir, const std::map<std::string, int64_t>& offsets) {
  std::string text;
  for (const auto& [name, offset] : offsets) text += name + " " + std::to_string(offset) + "\n";
  const std::string path = dir + "/" + kOffsetsFile;
  write_durably(path + ".tmp", text);
  rename_file(path + ".tmp", path);
  sync_dir(dir);
}

// ------------------------------------------------------------ LogRewriter

struct LogRewriter::Rewrite {
  size_t first = 0;
  size_t count = 0;
  int64_t base = 0;  // of the first replaced segment, and of the replacement
  int64_t end = 0;   // one past the replaced offsets
  int64_t next = 0;  // lowest base offset the next batch may have
  std::string stem;  // "<base>.cleaned"
  std::unique_ptr<Segment> out;
  int64_t batches = 0;
  bool committed = false;  // past the point of no return
  bool finished = false;
};

LogRewriter::LogRewriter(PartitionLog& log, std::string strategy, const std::atomic<bool>* stopping,
                         RewriteProgress* progress)
    : log_(log),
      strategy_(std::move(strategy)),
      topic_(log.topic()),
      closed_(log.closed_segments()),
      stopping_(stopping),
      progress_(progress) {
  replaced_.assign(closed_.size(), false);
  for (const auto& s : closed_) infos_.push_back(s->info());
  if (progress_ != nullptr) {
    std::vector<int64_t> sizes;
    for (const auto& info : infos_) sizes.push_back(info.size_bytes);
    progress_->offered(std::move(sizes));
  }
  auto offsets = read_clean_offsets(log.dir());
  auto it = offsets.find(strategy_);
  table_.struct_size = sizeof table_;
  table_.ctx = this;
  table_.topic = topic_.c_str();
  table_.partition = log.partition();
  table_.segments = infos_.data();
  table_.segment_count = infos_.size();
  table_.segment_size = sizeof(keel_segment_info);
  table_.clean_offset = it == offsets.end() ? 0 : it->second;
  table_.read_segment = &read_segment_fn;
  table_.begin = &begin_fn;
  table_.write = &write_fn;
  table_.commit = &commit_fn;
  table_.abort = &abort_fn;
  table_.stopping = &stopping_fn;
  table_.segment_bytes = log.live_options().segment_bytes;
}

LogRewriter::~LogRewriter() {
  for (auto& rw : rewrites_) {
    if (rw->finished) continue;
    spdlog::warn("{}: retention '{}' left a rewrite neither committed nor aborted; dropping it", log_.name(),
                 strategy_);
    try {
      discard(*rw);
    } catch (const std::exception& e) {
      spdlog::error("{}: dropping a rewrite failed: {}", log_.name(), e.what());
    }
  }
}

LogRewriter::Rewrite& LogRewriter::rewrite_of(keel_rewrite* handle) {
  auto* rw = reinterpret_cast<Rewrite*>(handle);
  for (auto& r : rewrites_) {
    if (r.get() == rw) {
      if (r->finished)
        fail(KEEL_ERR_INVALID_ARGUMENT, "rewrite of " + log_.name() + " was already committed or aborted");
      return *r;
    }
  }
  fail(KEEL_ERR_INVALID_ARGUMENT, "unknown rewrite handle for " + log_.name());
}

LogRewriter::Rewrite& LogRewriter::begin(size_t first, size_t count) {
  if (log_.rewrites_blocked()) {
    fail(KEEL_ERR_UNAVAILABLE, log_.name() +
                                   ": an earlier rewrite failed after its commit point; restart the broker "
                                   "so that recovery finishes it");
  }
  if (count == 0 || first >= closed_.size() || count > closed_.size() - first) {
    fail(KEEL_ERR_INVALID_ARGUMENT, log_.name() + ": cannot rewrite closed segments [" +
                                        std::to_string(first) + ", " + std::to_string(first + count) +
                                        "): there are " + std::to_string(closed_.size()));
  }
  for (auto& r : rewrites_) {
    if (!r->finished)
      fail(KEEL_ERR_INVALID_ARGUMENT, log_.name() + ": one rewrite at a time; commit or abort the first");
  }
  for (size_t i = first; i < first + count; ++i) {
    if (replaced_[i])
      fail(KEEL_ERR_INVALID_ARGUMENT,
           log_.name() + ": segment #" + std::to_string(i) + " was already rewritten in this call");
  }
  auto rw = std::make_unique<Rewrite>();
  rw->first = first;
  rw->count = count;
  rw->base = closed_[first]->base_offset();
  rw->next = rw->base;
  for (size_t i = first; i < first + count; ++i) {
    rw->end = std::max({rw->end, closed_[i]->next_offset(), closed_[i]->base_offset() + 1});
  }
  rw->stem = Segment::file_name(rw->base) + kCleaned;
  const std::string& dir = log_.dir();
  for (const auto& n : names_with_prefix(dir, rw->stem + ".")) ::unlink((dir + "/" + n).c_str());
  rw->out = std::make_unique<Segment>(dir, rw->base, log_.options().indexes, rw->stem);
  rw->out->recover(false, true);
  rewrites_.push_back(std::move(rw));
  if (progress_ != nullptr) progress_->rewrite_begun();
  return *rewrites_.back();
}

void LogRewriter::write(Rewrite& rw, const uint8_t* data, size_t len) {
  std::string why = batch::validate(data, len);
  auto h = why.empty() ? batch::parse_header(data, len) : std::nullopt;
  if (why.empty() && h->total_size() != len)
    why = "length " + std::to_string(len) + " is not one whole batch";
  if (!why.empty()) fail(KEEL_ERR_CORRUPT, log_.name() + ": rewrite got an invalid batch: " + why);
  if (h->base_offset < rw.next || h->last_offset() >= rw.end) {
    fail(KEEL_ERR_INVALID_ARGUMENT, log_.name() + ": rewrite got batch " + std::to_string(h->base_offset) +
                                        ".." + std::to_string(h->last_offset()) +
                                        "; batches must ascend from " + std::to_string(rw.next) +
                                        " and stay below " + std::to_string(rw.end));
  }
  struct iovec iov {
    const_cast<uint8_t*>(data), len
  };
  rw.out->append(&iov, 1,
                 {BatchMeta{h->base_offset, h->last_offset(), h->max_timestamp, static_cast<int32_t>(len)}});
  rw.next = h->last_offset() + 1;
  if (progress_ != nullptr) progress_->batch_written(static_cast<int64_t>(len));
  if (++rw.batches == 1) log_.rewrite_step("after-first-write");
}

void LogRewriter::discard(Rewrite& rw) {
  rw.finished = true;
  rw.out.reset();  // closes without deleting: the files go by name below
  const std::string& dir = log_.dir();
  const std::string base_stem = Segment::file_name(rw.base);
  for (const auto& n : names_with_prefix(dir, rw.stem + ".")) ::unlink((dir + "/" + n).c_str());
  for (const auto& n : names_with_prefix(dir, base_stem + kSwap + ".")) ::unlink((dir + "/" + n).c_str());
}

// Order, and what a crash after each step leaves (see the header):
//  1 replacement synced, end marker written  -> recovery rolls back
//  2 cleaned -> swap, log last; dir fsync    -> point of no return: rolls forward
//  3 replaced segments -> *.deleted; fsync   -> rolls forward
//  4 swap -> final names, log last; fsync    -> rolls forward (deletes marker)
//  5 clean point persisted                   -> done
// The clean point is written only once the replacement has its final names,
// so it never claims a rewrite the disk does not hold; a crash just before
// leaves the older clean point, which only makes the next rewrite redo work.
void LogRewriter::commit(Rewrite& rw, int64_t clean_offset) {
  const std::string& dir = log_.dir();
  const std::string stem = Segment::file_name(rw.base);
  const std::string swap_stem = stem + kSwap;
  std::vector<std::shared_ptr<Segment>> old(
      closed_.begin() + static_cast<std::ptrdiff_t>(rw.first),
      closed_.begin() + static_cast<std::ptrdiff_t>(rw.first + rw.count));
  int64_t bytes_before = 0;
  for (const auto& s : old) bytes_before += s->size();
  const int64_t bytes_after = rw.out->size();

  rw.out->flush();
  rw.out->seal();
  rw.out.reset();
  write_durably(dir + "/" + rw.stem + kEndMarker, std::to_string(rw.end) + "\n");
  log_.rewrite_step("before-renames");

  rename_set(dir, names_with_prefix(dir, rw.stem + "."), rw.stem, swap_stem);
  sync_dir(dir);
  rw.committed = true;
  log_.rewrite_step("after-cleaned-to-swap");

  for (const auto& s : old) s->rename_aside();
  sync_dir(dir);
  log_.rewrite_step("after-old-renamed");

  rename_set(dir, names_with_prefix(dir, swap_stem + "."), swap_stem, stem);
  sync_dir(dir);
  ::unlink((dir + "/" + swap_stem + kEndMarker).c_str());
  log_.rewrite_step("after-swap-to-final");

  log_.rewrite_step("before-clean-offset");
  auto offsets = read_clean_offsets(dir);
  offsets[strategy_] = clean_offset;
  write_clean_offsets(dir, offsets);
  table_.clean_offset = clean_offset;
  log_.rewrite_step("after-clean-offset");

  auto fresh = std::make_shared<Segment>(dir, rw.base, log_.options().indexes);
  fresh->recover(false, false);
  log_.replace_segments(old, fresh);
  for (size_t i = rw.first; i < rw.first + rw.count; ++i) replaced_[i] = true;
  rw.finished = true;
  if (progress_ != nullptr) progress_->committed(rw.count, clean_offset);
  // The run's end line (RewriteProgress) sums up the commits.
  spdlog::debug(
      "{}: retention '{}' rewrote {} segment(s) from offset {} (up to {}): {} -> {} bytes, {} batches kept; "
      "clean point {}",
      log_.name(), strategy_, rw.count, rw.base, rw.end - 1, bytes_before, bytes_after, rw.batches,
      clean_offset);
}

// ------------------------------------------------------ C entry points

namespace {

template <class Fn>
keel_status guarded(keel_error* err, Fn&& fn) noexcept {
  try {
    fn();
    return KEEL_OK;
  } catch (const Error& e) {
    if (err) std::snprintf(err->message, sizeof err->message, "%s", e.what());
    return e.code();
  } catch (const std::exception& e) {
    if (err) std::snprintf(err->message, sizeof err->message, "%s", e.what());
    return KEEL_ERR_INTERNAL;
  }
}

}  // namespace

keel_status LogRewriter::read_segment_fn(void* ctx, size_t index, keel_batch_visitor visit, void* user,
                                         keel_error* err) {
  auto* self = static_cast<LogRewriter*>(ctx);
  return guarded(err, [&] {
    if (index >= self->closed_.size()) {
      fail(KEEL_ERR_INVALID_ARGUMENT, self->log_.name() + ": no closed segment #" + std::to_string(index));
    }
    RewriteProgress* progress = self->progress_;
    if (progress != nullptr) progress->segment_started(index);
    self->closed_[index]->for_each_batch([&](const uint8_t* b, size_t len) {
      if (progress != nullptr) progress->batch_read(static_cast<int64_t>(len));
      return visit(user, b, len) != 0;
    });
    if (progress != nullptr) progress->segment_ended();
  });
}

keel_status LogRewriter::begin_fn(void* ctx, size_t first, size_t count, keel_rewrite** out,
                                  keel_error* err) {
  auto* self = static_cast<LogRewriter*>(ctx);
  return guarded(err, [&] { *out = reinterpret_cast<keel_rewrite*>(&self->begin(first, count)); });
}

keel_status LogRewriter::write_fn(void* ctx, keel_rewrite* rw, const uint8_t* batch, size_t len,
                                  keel_error* err) {
  auto* self = static_cast<LogRewriter*>(ctx);
  return guarded(err, [&] { self->write(self->rewrite_of(rw), batch, len); });
}

// A commit consumes the rewrite whatever the outcome; abort() on it after a
// failed commit is harmless.
keel_status LogRewriter::commit_fn(void* ctx, keel_rewrite* handle, int64_t clean_offset, keel_error* err) {
  auto* self = static_cast<LogRewriter*>(ctx);
  Rewrite* rw = nullptr;
  keel_status s = guarded(err, [&] { rw = &self->rewrite_of(handle); });
  if (s != KEEL_OK) return s;
  try {
    self->commit(*rw, clean_offset);
    return KEEL_OK;
  } catch (const RewriteCrash& e) {
    // Leave every file as it is, and the old segments in memory.
    rw->finished = true;
    rw->out.reset();
    self->log_.block_rewrites();
    if (err) std::snprintf(err->message, sizeof err->message, "%s", e.what());
    return KEEL_ERR_INTERNAL;
  } catch (const std::exception& e) {
    s = KEEL_ERR_INTERNAL;
    if (auto* ke = dynamic_cast<const Error*>(&e)) s = ke->code();
    std::string msg = e.what();
    if (!rw->committed) {
      try {
        self->discard(*rw);
      } catch (const std::exception& d) {
        spdlog::error("{}: cleaning up a failed rewrite: {}", self->log_.name(), d.what());
      }
      msg += "; the old segments stay";
    } else {
      rw->finished = true;
      self->log_.block_rewrites();
      msg += "; the rewrite is committed on disk: restart the broker to finish it";
    }
    if (err) std::snprintf(err->message, sizeof err->message, "%s", msg.c_str());
    return s;
  }
}

int32_t LogRewriter::stopping_fn(void* ctx) {
  const auto* self = static_cast<LogRewriter*>(ctx);
  return self->stopping_ != nullptr && self->stopping_->load() ? 1 : 0;
}

void LogRewriter::abort_fn(void* ctx, keel_rewrite* handle) {
  auto* self = static_cast<LogRewriter*>(ctx);
  auto* rw = reinterpret_cast<Rewrite*>(handle);
  for (auto& r : self->rewrites_) {
    if (r.get() != rw || r->finished) continue;
    try {
      self->discard(*r);
    } catch (const std::exception& e) {
      spdlog::error("{}: aborting a rewrite: {}", self->log_.name(), e.what());
    }
  }
}

}  // namespace keel
