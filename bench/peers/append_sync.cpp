// keel-append-sync: what the shape of a log file costs an appender that a
// concurrent fdatasync meets (issue 14, docs/performance.md "What the file's
// shape costs"). One thread appends fixed-size writes at a fixed rate, as a
// partition's writer does; another fdatasyncs whatever was appended since its
// last sync, as the flusher does for acks=all. Both are timed.
//
//   keel-append-sync FILE MODE [WRITE_BYTES] [MB_PER_S] [TOTAL_MIB] [RUNWAY_MIB]
//
// MODE is how the file is laid out before the appends start:
//   growing     empty: every append extends the file (Keel's segments today)
//   prezeroed   written with zeros to its full size and synced first
//   fallocated  posix_fallocate to its full size (unwritten extents)
//   sparse      ftruncate to its full size (no blocks: each append still
//               allocates, but never grows the file's size)
//   runway      extended with zeros RUNWAY_MIB at a time by the sync thread
//               while the appends run, half a runway ahead of them
//   direct-runway  the same, the zeros written with O_DIRECT (no dirty pages
//               for the next fdatasync to write, no page cache filled)
// Defaults: 16384-byte writes at 200 MB/s, 512 MiB, 8 MiB runway.
// FILE is deleted before and after.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "histogram.hpp"

namespace {

using Clock = std::chrono::steady_clock;

uint64_t nanos_since(Clock::time_point t0) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
}

void check(bool ok, const char* what, const char* path) {
  if (ok) return;
  std::fprintf(stderr, "keel-append-sync: %s of %s failed: %s\n", what, path, std::strerror(errno));
  std::exit(1);
}

// Writes `bytes` of zeros at `at`, in 1 MiB pieces (aligned, for O_DIRECT).
void write_zeros(int fd, int64_t at, int64_t bytes, const char* path) {
  static char* zeros = [] {
    void* p = nullptr;
    if (::posix_memalign(&p, 4096, 1 << 20) != 0) std::abort();
    std::memset(p, 0, 1 << 20);
    return static_cast<char*>(p);
  }();
  for (int64_t done = 0; done < bytes;) {
    const size_t n = static_cast<size_t>(std::min<int64_t>(1 << 20, bytes - done));
    check(::pwrite(fd, zeros, n, at + done) == static_cast<ssize_t>(n), "pwrite of zeros", path);
    done += static_cast<int64_t>(n);
  }
}

void print(const char* what, const keel::load::LatencyHistogram& h) {
  const auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  std::printf(" %s n=%llu p50 %.0f p99 %.0f p99.9 %.0f max %.0f us |", what,
              static_cast<unsigned long long>(h.count()), us(h.percentile(0.5)), us(h.percentile(0.99)),
              us(h.percentile(0.999)), us(h.max()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || std::string(argv[1]) == "--help") {
    std::fprintf(stderr,
                 "usage: keel-append-sync FILE growing|prezeroed|fallocated|sparse|runway|direct-runway "
                 "[WRITE_BYTES] [MB_PER_S] "
                 "[TOTAL_MIB] [RUNWAY_MIB]\n");
    return argc < 3 ? 2 : 0;
  }
  const char* path = argv[1];
  const std::string mode = argv[2];
  const int64_t write_bytes = argc > 3 ? std::atoll(argv[3]) : 16384;
  const double rate = (argc > 4 ? std::atof(argv[4]) : 200.0) * 1e6;
  const int64_t total = (argc > 5 ? std::atoll(argv[5]) : 512) << 20;
  const int64_t runway = (argc > 6 ? std::atoll(argv[6]) : 8) << 20;
  if (mode != "growing" && mode != "prezeroed" && mode != "fallocated" && mode != "sparse" &&
      mode != "runway" && mode != "direct-runway") {
    std::fprintf(stderr, "keel-append-sync: unknown mode '%s'; see --help\n", mode.c_str());
    return 2;
  }

  ::unlink(path);
  const int fd = ::open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  check(fd >= 0, "open", path);
  if (mode == "prezeroed") write_zeros(fd, 0, total, path);
  if (mode == "sparse") check(::ftruncate(fd, total) == 0, "ftruncate", path);
  if (mode == "fallocated") check(::posix_fallocate(fd, 0, total) == 0, "posix_fallocate", path);
  check(::fsync(fd) == 0, "fsync", path);
  const bool runway_mode = mode == "runway" || mode == "direct-runway";
  const int zero_fd = mode == "direct-runway" ? ::open(path, O_WRONLY | O_DIRECT) : fd;
  check(zero_fd >= 0, "open with O_DIRECT", path);

  std::atomic<int64_t> written{0};
  std::atomic<int64_t> ready{runway_mode ? 0 : total};  // appends may go up to here
  std::atomic<bool> done{false};
  static keel::load::LatencyHistogram appends, syncs, extensions;  // large: not on the stack
  std::thread syncer([&] {
    int64_t synced = 0;
    while (!done.load()) {
      const int64_t have = ready.load();
      if (have < total && have - written.load() < runway / 2) {
        const auto t0 = Clock::now();
        write_zeros(zero_fd, have, std::min(runway, total - have), path);
        ready.store(have + std::min(runway, total - have));
        extensions.record(nanos_since(t0));
      }
      const int64_t w = written.load();
      if (w == synced) {
        std::this_thread::yield();
        continue;
      }
      const auto t0 = Clock::now();
      check(::fdatasync(fd) == 0, "fdatasync", path);
      syncs.record(nanos_since(t0));
      synced = w;
    }
  });

  const std::vector<char> data(static_cast<size_t>(write_bytes), 'k');
  const auto start = Clock::now();
  for (int64_t at = 0; at + write_bytes <= total; at += write_bytes) {
    const auto due =
        start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(at / rate));
    while (Clock::now() < due || ready.load() < at + write_bytes) {
    }
    const auto t0 = Clock::now();
    check(::pwrite(fd, data.data(), data.size(), at) == write_bytes, "pwrite", path);
    appends.record(nanos_since(t0));
    written.store(at + write_bytes);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  done.store(true);
  syncer.join();
  if (zero_fd != fd) ::close(zero_fd);
  ::close(fd);
  ::unlink(path);

  std::printf("%-10s %.0f MB/s |", mode.c_str(), static_cast<double>(total) / seconds / 1e6);
  print("append", appends);
  print("fdatasync", syncs);
  if (extensions.count() > 0) print("runway", extensions);
  std::printf("\n");
  return 0;
}
