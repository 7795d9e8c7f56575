// Progress of a long keel-tool run (dump, verify, salvage, produce -n) on
// one redrawn stderr line: done/total, percent, rate, elapsed, ETA and what
// is being worked on, then a final summary line. Off unless stderr is a
// terminal (or --progress forces it), so piped output and logs stay clean;
// stdout never sees it, so `keel-tool dump ... | grep` is unaffected.
//
// Not thread-safe: a caller updating it from several threads serializes the
// calls (produce does so under its ack mutex).
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace keel::tool {

class Progress {
 public:
  enum class Unit { kBytes, kRecords };
  // Monotonic time in nanoseconds; injected so that tests need no sleeps.
  using NowNs = std::function<int64_t()>;

  struct Options {
    // Null: disabled, every call does nothing and nothing is written.
    std::ostream* out = nullptr;
    // A terminal: the line is redrawn in place ('\r', clear to end of line).
    // Otherwise (--progress into a pipe or a log file) each redraw is a line
    // of its own, so that the file reads well.
    bool terminal = true;
    // Width of the terminal; longer lines are cut (a wrapped line could not
    // be redrawn in place). 0: no limit.
    int width = 0;
    // At most one redraw per interval: about 7 a second.
    int64_t interval_ns = 150'000'000;
    NowNs now;  // default: keel::monotonic_ns
  };

  // `verb` starts each line ("verify"); `total` < 0 when unknown.
  Progress(Options options, std::string verb, Unit unit, int64_t total);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  bool enabled() const { return out_ != nullptr; }
  // What is being worked on, e.g. "orders-0/00000000000000000000.log".
  void set_item(std::string item);
  void add(int64_t n) { set_done(done_ + n); }
  void set_done(int64_t done);
  // Removes a drawn line, so that what the caller writes next to the same
  // terminal (its stdout) starts on a clean line; the next update redraws.
  void clear();
  // The summary line ("verify: 45.6 MiB in 0:05, 9.1 MiB/s"); once. The
  // destructor calls it if the caller did not.
  void finish();

  // The text of the progress line at `elapsed_ns` (without '\r' or cut).
  std::string line(int64_t elapsed_ns) const;
  std::string summary(int64_t elapsed_ns) const;

 private:
  void draw(int64_t now);
  void write(const std::string& text);

  std::ostream* out_;
  bool terminal_;
  int width_;
  int64_t interval_ns_;
  NowNs now_;
  std::string verb_;
  Unit unit_;
  int64_t total_;
  int64_t done_ = 0;
  std::string item_;
  int64_t start_ns_ = 0;
  int64_t last_draw_ns_ = 0;
  bool drawn_once_ = false;
  bool line_shown_ = false;  // a terminal line to clear before other output
  bool finished_ = false;
};

// Whether a command shows progress: --no-progress wins, then --progress,
// else only when stderr is a terminal.
bool progress_wanted(bool force_on, bool force_off);

// Options for std::cerr when `wanted`, with the terminal's width.
Progress::Options stderr_progress(bool wanted);

}  // namespace keel::tool
