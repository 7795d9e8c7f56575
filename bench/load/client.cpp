#include "client.hpp"

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <thread>

namespace keel::load {

// CLOCK_MONOTONIC explicitly: the open-loop sender sleeps on the same clock.
uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000 + static_cast<uint64_t>(ts.tv_nsec);
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

rd_kafka_conf_t* make_conf(const std::vector<std::pair<std::string, std::string>>& settings) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (const auto& [key, value] : settings) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error("librdkafka rejected " + key + "=" + value + ": " + err);
    }
  }
  return conf;
}

rd_kafka_t* make_client(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("cannot create the librdkafka client: ") + err);
  }
  return rk;
}

int32_t partition_count(rd_kafka_t* rk, const std::string& topic, int64_t timeout_ms) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const uint64_t deadline = monotonic_ns() + static_cast<uint64_t>(timeout_ms) * 1000000;
  std::string last = "no answer";
  for (;;) {
    const rd_kafka_metadata_t* md = nullptr;
    const auto left_ms = static_cast<int>(std::max<int64_t>(
        1, (static_cast<int64_t>(deadline) - static_cast<int64_t>(monotonic_ns())) / 1000000));
    const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, left_ms);
    int32_t n = 0;
    if (err) {
      last = rd_kafka_err2str(err);
    } else {
      if (md->topic_cnt == 1 && !md->topics[0].err) n = md->topics[0].partition_cnt;
      if (md->topic_cnt == 1 && md->topics[0].err) last = rd_kafka_err2str(md->topics[0].err);
      rd_kafka_metadata_destroy(md);
    }
    if (n > 0) {
      rd_kafka_topic_destroy(rkt);
      return n;
    }
    if (monotonic_ns() >= deadline) {
      rd_kafka_topic_destroy(rkt);
      throw std::runtime_error("no metadata for topic '" + topic + "' within " + std::to_string(timeout_ms) +
                               " ms (" + last + "); is the broker up at --brokers and the topic created?");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace keel::load
