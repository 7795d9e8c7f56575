// keel-tool's progress line (kernel/tools/progress.hpp): its text, at most
// one redraw per interval, the final summary, and nothing at all when
// disabled; driven by an injected clock and a string stream.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "common/human_units.hpp"
#include "tools/progress.hpp"

namespace {

using keel::tool::Progress;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kMiB = 1 << 20;

struct Fixture {
  std::ostringstream out;
  int64_t now = 1000 * kMs;
  Progress::Options options(bool terminal = true) {
    Progress::Options o;
    o.out = &out;
    o.terminal = terminal;
    o.interval_ns = 150 * kMs;
    o.now = [this] { return now; };
    return o;
  }
  // Redraws so far: each starts with '\r' on a terminal.
  int redraws() const {
    const std::string s = out.str();
    int n = 0;
    for (char c : s) n += c == '\r';
    return n;
  }
};

TEST(ToolProgress, LineShowsDoneTotalPercentRateElapsedEtaAndItem) {
  Fixture f;
  Progress p(f.options(), "verify", Progress::Unit::kBytes, 100 * kMiB);
  p.set_item("orders-0/00000000000000000000.log");
  f.now += 2000 * kMs;
  p.set_done(25 * kMiB);
  // 25 MiB in 2 s: 12.5 MiB/s, 75 MiB left: 6 s.
  EXPECT_EQ(p.line(2000 * kMs),
            "verify  25.0 MiB / 100.0 MiB  25%  12.5 MiB/s  elapsed 2.0s  ETA 6.0s  "
            "orders-0/00000000000000000000.log");
  EXPECT_THAT(f.out.str(), HasSubstr("\r\x1b[Kverify  25.0 MiB / 100.0 MiB  25%  12.5 MiB/s"));
  p.set_done(100 * kMiB);
  f.now += 1000 * kMs;
  p.finish();
  EXPECT_THAT(f.out.str(), HasSubstr("\r\x1b[Kverify: 100.0 MiB of 100.0 MiB (100%) in 3.0s, 33.3 MiB/s\n"));
}

TEST(ToolProgress, RecordsWithLongRunsInMinutesAndUnknownTotals) {
  Fixture f;
  Progress p(f.options(), "produce", Progress::Unit::kRecords, 100000);
  f.now += 100 * kMs;
  p.set_done(1000);
  EXPECT_EQ(p.line(100 * 1000 * kMs),
            "produce  1000 / 100000 records  1%  10 records/s  elapsed 1:40  ETA 2:45:00");
  Fixture g;
  Progress unknown(g.options(), "produce", Progress::Unit::kRecords, -1);
  unknown.set_done(50);
  EXPECT_EQ(unknown.line(1000 * kMs), "produce  50 records  50 records/s  elapsed 1.0s");
  EXPECT_EQ(unknown.line(0), "produce  50 records  -- records/s  elapsed 0.0s");
}

TEST(ToolProgress, RedrawsAtMostOncePerInterval) {
  Fixture f;
  Progress p(f.options(), "dump", Progress::Unit::kBytes, 1000);
  p.set_done(1);  // the first update draws at once
  EXPECT_EQ(f.redraws(), 1);
  for (int i = 2; i < 100; ++i) {
    f.now += 1 * kMs;  // 98 updates within 98 ms: none drawn
    p.set_done(i);
  }
  EXPECT_EQ(f.redraws(), 1);
  f.now += 60 * kMs;  // 158 ms after the first draw
  p.set_done(100);
  EXPECT_EQ(f.redraws(), 2);
  EXPECT_THAT(f.out.str(), HasSubstr(" 10% "));
  // Ten seconds of updates every millisecond: about 7 redraws a second.
  for (int i = 0; i < 10000; ++i) {
    f.now += kMs;
    p.set_done(100 + i / 20);
  }
  EXPECT_GE(f.redraws(), 2 + 60);
  EXPECT_LE(f.redraws(), 2 + 67);
}

TEST(ToolProgress, ClearRemovesTheLineAndFinishWritesOneSummary) {
  Fixture f;
  Progress p(f.options(), "dump", Progress::Unit::kBytes, 10);
  p.clear();  // nothing drawn yet: nothing written
  EXPECT_EQ(f.out.str(), "");
  p.set_done(5);
  const size_t drawn = f.out.str().size();
  p.clear();
  EXPECT_EQ(f.out.str().substr(drawn), "\r\x1b[K");
  p.clear();                                 // already clear
  EXPECT_EQ(f.out.str().size(), drawn + 4);  // "\r\x1b[K"
  p.finish();
  p.finish();
  p.set_done(10);  // after the summary: ignored
  const std::string all = f.out.str();
  EXPECT_EQ(all.find("dump: "), all.rfind("dump: "));
  EXPECT_EQ(all.back(), '\n');
}

TEST(ToolProgress, NotATerminalGivesWholeLinesAndNoEscapes) {
  Fixture f;
  {
    Progress p(f.options(false), "salvage", Progress::Unit::kBytes, 2048);
    p.set_done(1024);
    // The destructor writes the summary.
  }
  EXPECT_THAT(f.out.str(), Not(HasSubstr("\r")));
  EXPECT_THAT(f.out.str(), Not(HasSubstr("\x1b")));
  EXPECT_THAT(f.out.str(), HasSubstr("salvage  1.0 KiB / 2.0 KiB  50%"));
  EXPECT_THAT(f.out.str(), HasSubstr("\nsalvage: 1.0 KiB of 2.0 KiB (50%) in 0.0s, -- MiB/s\n"));
}

TEST(ToolProgress, LinesLongerThanTheTerminalAreCut) {
  Fixture f;
  auto o = f.options();
  o.width = 40;
  Progress p(o, "verify", Progress::Unit::kBytes, 100);
  p.set_item(std::string(200, 'x'));
  p.set_done(1);
  EXPECT_EQ(f.out.str().size(), 4 + 39u);  // "\r\x1b[K" and width - 1
}

TEST(ToolProgress, DisabledWritesNothing) {
  int64_t calls = 0;
  Progress::Options o;
  o.now = [&] {
    ++calls;
    return int64_t{0};
  };
  {
    Progress p(o, "verify", Progress::Unit::kBytes, 100);
    EXPECT_FALSE(p.enabled());
    p.set_item("x");
    p.set_done(50);
    p.clear();
    p.finish();
  }
  EXPECT_EQ(calls, 0);  // not even the clock is read
  EXPECT_FALSE(keel::tool::progress_wanted(true, true));
  EXPECT_TRUE(keel::tool::progress_wanted(true, false));
  EXPECT_EQ(keel::tool::stderr_progress(false).out, nullptr);
}

TEST(ToolProgress, HumanUnits) {
  EXPECT_EQ(keel::human_bytes(950), "950 B");
  EXPECT_EQ(keel::human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(keel::human_bytes(3.0 * (1LL << 30)), "3.0 GiB");
  EXPECT_EQ(keel::human_duration(59'940 * kMs), "59.9s");
  EXPECT_EQ(keel::human_duration(61'000 * kMs), "1:01");
  EXPECT_EQ(keel::human_duration(3'723'000 * kMs), "1:02:03");
}

}  // namespace
