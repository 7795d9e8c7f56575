#include "observability/metrics.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace keel {
namespace {

std::string buckets(const std::string& name, const std::string& labels, const std::vector<int>& cumulative) {
  static const char* kLe[] = {"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005",
                              "0.01",   "0.025",   "0.05",   "0.1",   "0.25",   "0.5",
                              "1",      "2.5",     "5",      "10",    "+Inf"};
  std::string out;
  for (size_t i = 0; i < 17; ++i) {
    out += name + "_bucket{" + labels + (labels.empty() ? "" : ",") + "le=\"" + kLe[i] + "\"} " +
           std::to_string(cumulative.at(i)) + "\n";
  }
  return out;
}

TEST(MetricsTest, RendersExactText) {
  Metrics m;
  m.describe("keel_requests_total", "Requests handled.");
  m.counter_add("keel_requests_total", R"(api="produce")", 2);
  m.counter_add("keel_requests_total", R"(api="fetch")", 1);
  m.counter_add("keel_requests_total", R"(api="produce")", 1.5);
  m.gauge_set("keel_log_bytes", "", 1024);
  m.histogram_observe("keel_latency_seconds", R"(api="produce")", 0.0625);
  m.histogram_observe("keel_latency_seconds", R"(api="produce")", 0.5);  // on a bound: counts in le="0.5"
  m.histogram_observe("keel_latency_seconds", R"(api="produce")", 16);

  const std::string expected = "# TYPE keel_latency_seconds histogram\n" +
                               buckets("keel_latency_seconds", R"(api="produce")",
                                       {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 3}) +
                               "keel_latency_seconds_sum{api=\"produce\"} 16.5625\n"
                               "keel_latency_seconds_count{api=\"produce\"} 3\n"
                               "# TYPE keel_log_bytes gauge\n"
                               "keel_log_bytes 1024\n"
                               "# HELP keel_requests_total Requests handled.\n"
                               "# TYPE keel_requests_total counter\n"
                               "keel_requests_total{api=\"fetch\"} 1\n"
                               "keel_requests_total{api=\"produce\"} 3.5\n";
  EXPECT_EQ(m.render(), expected);
}

TEST(MetricsTest, EmptyRegistryRendersNothing) { EXPECT_EQ(Metrics().render(), ""); }

TEST(MetricsTest, HistogramWithoutLabelsAndNegativeObservation) {
  Metrics m;
  m.histogram_observe("h", "", -1);
  std::vector<int> all_one(17, 1);
  EXPECT_EQ(m.render(), "# TYPE h histogram\n" + buckets("h", "", all_one) + "h_sum -1\nh_count 1\n");
}

TEST(MetricsTest, OrderDoesNotDependOnInsertionOrder) {
  Metrics a;
  a.counter_add("b_total", R"(x="2")", 1);
  a.counter_add("b_total", R"(x="1")", 1);
  a.gauge_set("a", R"(x="1")", 5);
  Metrics b;
  b.gauge_set("a", R"(x="1")", 5);
  b.counter_add("b_total", R"(x="1")", 1);
  b.counter_add("b_total", R"(x="2")", 1);
  EXPECT_EQ(a.render(), b.render());
  EXPECT_EQ(a.render(),
            "# TYPE a gauge\na{x=\"1\"} 5\n# TYPE b_total counter\nb_total{x=\"1\"} 1\nb_total{x=\"2\"} 1\n");
}

TEST(MetricsTest, ValueReadsCountersAndGauges) {
  Metrics m;
  EXPECT_EQ(m.value("c", ""), std::nullopt);
  m.counter_add("c", "", 2);
  m.counter_add("c", "", 3);
  EXPECT_EQ(m.value("c", ""), 5.0);
  EXPECT_EQ(m.value("c", R"(a="b")"), std::nullopt);
  m.gauge_set("g", R"(a="b")", 7);
  m.gauge_set("g", R"(a="b")", -2.25);
  EXPECT_EQ(m.value("g", R"(a="b")"), -2.25);
  m.histogram_observe("h", "", 1);
  EXPECT_EQ(m.value("h", ""), std::nullopt);
}

TEST(MetricsTest, SpecialGaugeValues) {
  Metrics m;
  m.gauge_set("g", R"(k="nan")", std::numeric_limits<double>::quiet_NaN());
  m.gauge_set("g", R"(k="neg")", -std::numeric_limits<double>::infinity());
  m.gauge_set("g", R"(k="pos")", std::numeric_limits<double>::infinity());
  EXPECT_EQ(m.render(), "# TYPE g gauge\ng{k=\"nan\"} NaN\ng{k=\"neg\"} -Inf\ng{k=\"pos\"} +Inf\n");
}

TEST(MetricsTest, InvalidNamesAndLabelsAreIgnored) {
  Metrics m;
  m.counter_add("ok_total", "", 1);
  for (const char* bad : {"", "1abc", "has-dash", "has space", "new\nline", "quote\""}) {
    m.counter_add(bad, "", 1);
    m.gauge_set(bad, "", 1);
    m.histogram_observe(bad, "", 1);
    m.describe(bad, "help");
  }
  for (const char* bad : {"a=1", "a=\"x", "a=\"x\",", "=\"x\"", "a=\"x\"b=\"y\"", "a=\"x\",a=\"y\"",
                          "a=\"\n\"", "a=\"\\q\"", "{a=\"x\"}", "1a=\"x\""}) {
    m.counter_add("ok_total", bad, 1);
  }
  m.histogram_observe("h", R"(le="1")", 1);
  EXPECT_EQ(m.render(), "# TYPE ok_total counter\nok_total 1\n");
}

TEST(MetricsTest, ValidUnusualNamesAndLabelsAreAccepted) {
  Metrics m;
  m.counter_add(":colon:name_1", R"(_a="",b1="q\"uo\\te\n")", 1);
  EXPECT_EQ(m.render(), "# TYPE :colon:name_1 counter\n:colon:name_1{_a=\"\",b1=\"q\\\"uo\\\\te\\n\"} 1\n");
}

TEST(MetricsTest, FirstTypeWins) {
  Metrics m;
  m.counter_add("x", "", 1);
  m.gauge_set("x", "", 100);
  m.histogram_observe("x", "", 1);
  m.counter_add("x", "", 1);
  EXPECT_EQ(m.value("x", ""), 2.0);
  EXPECT_EQ(m.render(), "# TYPE x counter\nx 2\n");
}

TEST(MetricsTest, CountersIgnoreNegativeAndNonFiniteDeltas) {
  Metrics m;
  m.counter_add("c", "", 1);
  m.counter_add("c", "", -1);
  m.counter_add("c", "", std::numeric_limits<double>::quiet_NaN());
  m.counter_add("c", "", std::numeric_limits<double>::infinity());
  m.histogram_observe("h", "", std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(m.value("c", ""), 1.0);
  EXPECT_EQ(m.render(), "# TYPE c counter\nc 1\n");
}

TEST(MetricsTest, HelpIsEscapedAndMayComeAfterSamples) {
  Metrics m;
  m.gauge_set("g", "", 1);
  m.describe("g", "first");
  m.describe("g", "line one\nback\\slash");
  EXPECT_EQ(m.render(), "# HELP g line one\\nback\\\\slash\n# TYPE g gauge\ng 1\n");
}

TEST(MetricsTest, DescribedFamilyWithoutSamplesIsNotRendered) {
  Metrics m;
  m.describe("g", "nothing yet");
  EXPECT_EQ(m.render(), "");
}

TEST(MetricsTest, ConcurrentAddsAreExact) {
  Metrics m;
  constexpr int kThreads = 8;
  constexpr int kAdds = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&m, t] {
      const std::string own = "thread=\"" + std::to_string(t) + "\"";
      for (int i = 0; i < kAdds; ++i) {
        m.counter_add("shared_total", "part=\"" + std::to_string(i % 4) + "\"", 1);
        m.counter_add("own_total", own, 2);
        m.histogram_observe("lat_seconds", "", 0.001);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int p = 0; p < 4; ++p) {
    EXPECT_EQ(m.value("shared_total", "part=\"" + std::to_string(p) + "\""), kThreads * kAdds / 4.0);
  }
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(m.value("own_total", "thread=\"" + std::to_string(t) + "\""), 2.0 * kAdds);
  }
  const std::string text = m.render();
  EXPECT_NE(text.find("lat_seconds_count " + std::to_string(kThreads * kAdds) + "\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"0.0005\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"0.001\"} " + std::to_string(kThreads * kAdds) + "\n"),
            std::string::npos)
      << text;
}

TEST(MetricsTest, RenderWhileUpdatingIsSafe) {
  Metrics m;
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    int i = 0;
    do {
      m.counter_add("c_total", "n=\"" + std::to_string(i++ % 100) + "\"", 1);
    } while (!stop.load());
  });
  for (int i = 0; i < 200; ++i) (void)m.render();
  stop = true;
  writer.join();
  EXPECT_NE(m.render().find("# TYPE c_total counter\n"), std::string::npos);
}

TEST(MetricsTest, CollectorsAddSamplesAtRenderTime) {
  Metrics m;
  double log_bytes = 10;
  m.add_collector([&](Metrics& sink) {
    sink.describe("keel_log_bytes", "Bytes on disk.");
    sink.gauge_set("keel_log_bytes", R"(topic="t")", log_bytes);
  });
  m.gauge_set("keel_up", "", 1);
  EXPECT_EQ(
      m.render(),
      "# HELP keel_log_bytes Bytes on disk.\n# TYPE keel_log_bytes gauge\nkeel_log_bytes{topic=\"t\"} 10\n"
      "# TYPE keel_up gauge\nkeel_up 1\n");
  log_bytes = 20;
  EXPECT_NE(m.render().find("keel_log_bytes{topic=\"t\"} 20\n"), std::string::npos);
  // Collector samples are not stored.
  EXPECT_EQ(m.value("keel_log_bytes", R"(topic="t")"), std::nullopt);
}

TEST(MetricsTest, CollectorMayCallBackIntoTheRegistry) {
  Metrics m;
  m.add_collector([&m](Metrics&) { m.counter_add("renders_total", "", 1); });
  (void)m.render();
  EXPECT_NE(m.render().find("renders_total 2\n"), std::string::npos);
}

TEST(MetricsTest, CollectorSampleReplacesStoredSampleOfSameType) {
  Metrics m;
  m.gauge_set("g", R"(a="1")", 1);
  m.gauge_set("g", R"(a="2")", 2);
  m.add_collector([](Metrics& sink) { sink.gauge_set("g", R"(a="2")", 22); });
  EXPECT_EQ(m.render(), "# TYPE g gauge\ng{a=\"1\"} 1\ng{a=\"2\"} 22\n");
}

TEST(MetricsTest, CollectorTypeClashAndFailureDoNotBreakRendering) {
  Metrics m;
  m.counter_add("c_total", "", 3);
  m.add_collector([](Metrics& sink) { sink.gauge_set("c_total", "", 99); });
  m.add_collector([](Metrics& sink) {
    sink.gauge_set("partial", "", 1);
    throw std::runtime_error("disk went away");
  });
  m.add_collector([](Metrics& sink) { sink.gauge_set("after", "", 2); });
  EXPECT_EQ(
      m.render(),
      "# TYPE after gauge\nafter 2\n# TYPE c_total counter\nc_total 3\n# TYPE partial gauge\npartial 1\n");
}

}  // namespace
}  // namespace keel
