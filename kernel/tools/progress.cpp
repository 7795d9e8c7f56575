#include "tools/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "common/clock.hpp"
#include "common/human_units.hpp"

namespace keel::tool {
namespace {

constexpr const char* kClearLine = "\r\x1b[K";

std::string amount(Progress::Unit unit, double n) {
  return unit == Progress::Unit::kBytes ? human_bytes(n) : std::to_string(static_cast<int64_t>(n));
}

std::string rate_text(Progress::Unit unit, int64_t done, int64_t elapsed_ns) {
  if (elapsed_ns <= 0) return unit == Progress::Unit::kBytes ? "-- MiB/s" : "-- records/s";
  const double per_second = static_cast<double>(done) * 1e9 / static_cast<double>(elapsed_ns);
  if (unit == Progress::Unit::kBytes) return human_bytes(per_second) + "/s";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.0f records/s", per_second);
  return buf;
}

std::string percent(int64_t done, int64_t total) {
  if (total <= 0) return done > 0 || total == 0 ? "100%" : "0%";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%d%%", static_cast<int>(std::min<int64_t>(done, total) * 100 / total));
  return buf;
}

}  // namespace

Progress::Progress(Options options, std::string verb, Unit unit, int64_t total)
    : out_(options.out),
      terminal_(options.terminal),
      width_(options.width),
      interval_ns_(options.interval_ns),
      now_(options.now ? std::move(options.now) : NowNs(&monotonic_ns)),
      verb_(std::move(verb)),
      unit_(unit),
      total_(total) {
  if (out_ != nullptr) start_ns_ = now_();
}

Progress::~Progress() { finish(); }

void Progress::set_item(std::string item) {
  if (out_ == nullptr) return;
  item_ = std::move(item);
}

void Progress::set_done(int64_t done) {
  if (out_ == nullptr || finished_) return;
  done_ = done;
  const int64_t now = now_();
  // The first update draws at once (a slow first file shows what it is);
  // then at most once per interval.
  if (!drawn_once_ || now - last_draw_ns_ >= interval_ns_) draw(now);
}

std::string Progress::line(int64_t elapsed_ns) const {
  std::string text = verb_ + "  " + amount(unit_, static_cast<double>(done_));
  if (total_ >= 0) {
    text += " / " + amount(unit_, static_cast<double>(total_));
    if (unit_ == Unit::kRecords) text += " records";
    text += "  " + percent(done_, total_);
  } else if (unit_ == Unit::kRecords) {
    text += " records";
  }
  text += "  " + rate_text(unit_, done_, elapsed_ns) + "  elapsed " + human_duration(elapsed_ns);
  if (total_ >= 0) {
    if (done_ > 0 && elapsed_ns > 0) {
      const double left = static_cast<double>(std::max<int64_t>(0, total_ - done_));
      const double eta = left * static_cast<double>(elapsed_ns) / static_cast<double>(done_);
      text += "  ETA " + human_duration(static_cast<int64_t>(eta));
    } else {
      text += "  ETA --";
    }
  }
  if (!item_.empty()) text += "  " + item_;
  return text;
}

std::string Progress::summary(int64_t elapsed_ns) const {
  std::string text = verb_ + ": " + amount(unit_, static_cast<double>(done_));
  if (unit_ == Unit::kRecords) text += " records";
  if (total_ >= 0) {
    text += " of " + amount(unit_, static_cast<double>(total_)) + " (" + percent(done_, total_) + ")";
  }
  return text + " in " + human_duration(elapsed_ns) + ", " + rate_text(unit_, done_, elapsed_ns);
}

void Progress::draw(int64_t now) {
  drawn_once_ = true;
  last_draw_ns_ = now;
  std::string text = line(now - start_ns_);
  if (width_ > 1 && static_cast<int>(text.size()) >= width_) {
    // Keep the start (the numbers); the item's end is its most telling part
    // but the numbers matter more.
    text.resize(static_cast<size_t>(width_ - 1));
  }
  if (terminal_) {
    write(kClearLine + text);
    line_shown_ = true;
  } else {
    write(text + "\n");
  }
}

void Progress::clear() {
  if (out_ == nullptr || !line_shown_) return;
  write(kClearLine);
  line_shown_ = false;  // redrawn by the next update after the interval
}

void Progress::finish() {
  if (out_ == nullptr || finished_) return;
  finished_ = true;
  const std::string text = summary(now_() - start_ns_);
  write((terminal_ ? kClearLine : "") + text + "\n");
  line_shown_ = false;
}

void Progress::write(const std::string& text) {
  *out_ << text;
  out_->flush();
}

bool progress_wanted(bool force_on, bool force_off) {
  if (force_off) return false;
  return force_on || ::isatty(STDERR_FILENO) == 1;
}

Progress::Options stderr_progress(bool wanted) {
  Progress::Options o;
  if (!wanted) return o;
  o.out = &std::cerr;
  o.terminal = ::isatty(STDERR_FILENO) == 1;
  struct winsize ws {};
  if (o.terminal && ::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) o.width = ws.ws_col;
  return o;
}

}  // namespace keel::tool
