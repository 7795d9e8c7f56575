#include "storage/segment_check.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "common/error.hpp"
#include "storage/batch_probe.hpp"

namespace keel {
namespace fs = std::filesystem;
namespace {

constexpr int64_t kHeaderBytes = static_cast<int64_t>(batch::kHeaderSize);

// The bytes from `pos` are the unused rest of a reused file: a header
// unused_header() accepts.
bool unused_rest(int fd, const std::string& path, int64_t pos, int64_t limit, int64_t base_offset) {
  uint8_t header[batch::kHeaderSize];
  return pos + kHeaderBytes <= limit && read_at(fd, header, kHeaderBytes, pos, path) == kHeaderBytes &&
         unused_header(header, base_offset);
}

// An fd closed on scope exit.
struct File {
  int fd = -1;
  File(const std::string& path, int flags, mode_t mode = 0)
      : fd(::open(path.c_str(), flags | O_CLOEXEC, mode)) {
    if (fd < 0) fail(status_from_errno(errno), "cannot open '" + path + "': " + errno_text(errno));
  }
  ~File() {
    if (fd >= 0) ::close(fd);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
};

// Walks the file, calling `keep` with each readable batch's bytes.
template <class Keep>
SegmentCheck walk(const std::string& path, int64_t base_offset, int64_t end_offset, Keep keep,
                  const WalkProgress& progress) {
  File f(path, O_RDONLY);
  struct stat st {};
  if (::fstat(f.fd, &st) != 0)
    fail(status_from_errno(errno), "cannot stat '" + path + "': " + errno_text(errno));
  SegmentCheck out;
  out.path = path;
  out.base_offset = out.next_offset = base_offset;
  out.bytes = st.st_size;
  const int64_t limit = st.st_size;
  std::vector<uint8_t> buf;
  int64_t pos = 0;
  int64_t min_base = base_offset;
  while (pos < limit) {
    std::string why;
    auto h = probe_batch(f.fd, path, pos, limit, {min_base, end_offset}, true, buf, &why);
    if (h) {
      out.batches.push_back({pos, h->base_offset, h->last_offset(), h->max_timestamp});
      out.records += h->records_count;
      keep(buf);
      pos += static_cast<int64_t>(h->total_size());
      min_base = out.next_offset = h->last_offset() + 1;
      if (progress) progress(pos);
      continue;
    }
    // As the broker's recovery: where the data of a reused file ends, its
    // old rest begins (Segment::unused_from). Offline the acknowledged end
    // is not known, so the last segment's rest is taken as unused.
    if ((end_offset == INT64_MAX || min_base >= end_offset) &&
        unused_rest(f.fd, path, pos, limit, base_offset)) {
      out.unused_bytes = limit - pos;
      break;
    }
    batch::Header next{};
    const int64_t resume = find_next_batch(f.fd, path, pos + 1, limit, {min_base, end_offset}, &next);
    DamagedRange d;
    d.file = path;
    d.position = pos;
    d.end_position = resume < 0 ? limit : resume;
    d.first_offset = min_base;
    d.last_offset =
        resume >= 0 ? next.base_offset - 1 : (end_offset == INT64_MAX ? min_base - 1 : end_offset - 1);
    d.reason = why;
    out.damage.push_back(d);
    out.next_offset = std::max(out.next_offset, d.last_offset + 1);
    if (resume < 0) break;
    pos = resume;
    min_base = next.base_offset;
    if (progress) progress(pos);
  }
  if (progress) progress(limit);
  return out;
}

}  // namespace

SegmentCheck check_segment(const std::string& path, int64_t base_offset, int64_t end_offset,
                           const WalkProgress& progress) {
  return walk(
      path, base_offset, end_offset, [](const std::vector<uint8_t>&) {}, progress);
}

SegmentCheck salvage_segment(const std::string& path, int64_t base_offset, const std::string& out,
                             const WalkProgress& progress) {
  File o(out, O_WRONLY | O_CREAT | O_EXCL, 0644);
  int64_t written = 0;
  SegmentCheck check = walk(
      path, base_offset, INT64_MAX,
      [&](const std::vector<uint8_t>& b) {
        size_t done = 0;
        while (done < b.size()) {
          ssize_t n = ::pwrite(o.fd, b.data() + done, b.size() - done, written + static_cast<int64_t>(done));
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) fail(status_from_errno(errno), "write of '" + out + "' failed: " + errno_text(errno));
          done += static_cast<size_t>(n);
        }
        written += static_cast<int64_t>(b.size());
      },
      progress);
  if (::fsync(o.fd) != 0)
    fail(status_from_errno(errno), "fsync of '" + out + "' failed: " + errno_text(errno));
  return check;
}

std::vector<std::string> check_indexes(const std::string& prefix, const SegmentCheck& segment,
                                       const std::vector<IndexSpec>& specs) {
  std::vector<std::string> problems;
  if (specs.empty()) return problems;
  const fs::path source(prefix);
  const std::string stem = source.filename().string();
  const fs::path scratch = fs::temp_directory_path() / ("keel-verify-" + std::to_string(::getpid()));
  fs::create_directories(scratch);
  // Open copies: an index plugin may tidy its files on open.
  for (const auto& name : Segment::files_of(source.parent_path().string(), stem)) {
    if (name.ends_with(".log")) continue;
    fs::copy_file(source.parent_path() / name, scratch / name, fs::copy_options::overwrite_existing);
  }
  const std::string copy_prefix = (scratch / stem).string();
  File log(prefix + ".log", O_RDONLY);
  const int64_t log_size = segment.bytes;
  for (const auto& spec : specs) {
    const auto* vt = spec.strategy.vt<keel_index_vtable>();
    keel_index_open_args args{};
    args.struct_size = sizeof args;
    args.path_prefix = copy_prefix.c_str();
    args.base_offset = segment.base_offset;
    args.log_size = log_size;
    args.writable = 0;
    args.config = spec.config;
    keel_index* handle = nullptr;
    keel_error err{};
    if (vt->open(spec.strategy.host(), &args, &handle, &err) != KEEL_OK) {
      problems.push_back("index '" + spec.strategy.name + "' cannot be opened: " + err.message);
      continue;
    }
    // Every batch must be reachable: the entry an index gives for it must
    // be the start of a batch at or before it.
    auto batch_starting_at = [&](int64_t position) -> const BatchLocation* {
      for (const auto& b : segment.batches) {
        if (b.position == position) return &b;
      }
      return nullptr;
    };
    size_t bad = 0;
    std::string first_bad;
    for (const auto& b : segment.batches) {
      keel_index_entry e{};
      e.struct_size = sizeof e;
      e.offset = segment.base_offset;
      e.timestamp = -1;
      std::string problem;
      keel_error err{};
      // A lookup the index cannot answer is a problem too, in its own words.
      auto answered = [&](keel_status s, const std::string& what) {
        if (s != KEEL_OK && problem.empty()) {
          problem = what + " failed (" + status_name(s) + "): " + err.message;
        }
        return s == KEEL_OK;
      };
      if ((vt->capabilities & KEEL_INDEX_CAN_LOOKUP_OFFSET) &&
          answered(vt->lookup_offset(handle, b.base_offset, &e, &err),
                   "lookup of offset " + std::to_string(b.base_offset))) {
        const BatchLocation* at = e.position == 0 ? &segment.batches.front() : batch_starting_at(e.position);
        if (at == nullptr || at->position > b.position || (e.position > 0 && at->base_offset != e.offset)) {
          problem = "offset " + std::to_string(b.base_offset) + " maps to position " +
                    std::to_string(e.position) + ", which starts no batch at or before it";
        }
      }
      if (problem.empty() && (vt->capabilities & KEEL_INDEX_CAN_LOOKUP_TIME) &&
          answered(vt->lookup_time(handle, b.max_timestamp, &e, &err),
                   "lookup of timestamp " + std::to_string(b.max_timestamp)) &&
          e.position > 0 && batch_starting_at(e.position) == nullptr) {
        problem = "timestamp " + std::to_string(b.max_timestamp) + " maps to position " +
                  std::to_string(e.position) + ", which starts no batch";
      }
      if (!problem.empty() && bad++ == 0) first_bad = problem;
    }
    if (bad > 0) {
      problems.push_back("index '" + spec.strategy.name + "': " + std::to_string(bad) +
                         " batch(es) not found through it, e.g. " + first_bad +
                         " (the broker rebuilds an index that disagrees with the log; deleting the index "
                         "files makes it rebuild them)");
    }
    vt->close(handle, 0);
  }
  std::error_code ec;
  fs::remove_all(scratch, ec);
  return problems;
}

}  // namespace keel
