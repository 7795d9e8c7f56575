#include "consume.hpp"

#include <cinttypes>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "client.hpp"

namespace keel::load {

int run_consume(const Options& o) {
  std::vector<std::pair<std::string, std::string>> settings = {
      {"bootstrap.servers", o.brokers},
      // librdkafka's assign() needs a group id, but with assign() the client
      // never joins the group, and nothing is committed.
      {"group.id", "keel-load"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "true"},
  };
  settings.insert(settings.end(), o.client_config.begin(), o.client_config.end());
  rd_kafka_t* rk = make_client(RD_KAFKA_CONSUMER, make_conf(settings));

  int exit_status = 0;
  try {
    const int32_t partitions = partition_count(rk, o.topic, o.timeout_ms);
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
    for (int32_t p = 0; p < partitions; ++p) {
      rd_kafka_topic_partition_list_add(list, o.topic.c_str(), p)->offset =
          o.from == "end" ? RD_KAFKA_OFFSET_END : RD_KAFKA_OFFSET_BEGINNING;
    }
    const double cpu0 = cpu_seconds();
    const uint64_t t0 = monotonic_ns();
    const rd_kafka_resp_err_t assigned = rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (assigned) throw std::runtime_error(std::string("assign() failed: ") + rd_kafka_err2str(assigned));

    std::vector<bool> at_end(static_cast<size_t>(partitions), false);
    int32_t partitions_at_end = 0;
    int64_t msgs = 0, bytes = 0, errors = 0;
    uint64_t last_ns = t0, last_activity = t0;
    bool fatal = false;
    while (!fatal) {
      if (o.count > 0 ? msgs >= o.count : partitions_at_end == partitions) break;
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
      const uint64_t now = monotonic_ns();
      if (!m) {
        if (now - last_activity > static_cast<uint64_t>(o.timeout_ms) * 1000000) {
          fprintf(stderr,
                  "keel-load: nothing received for --timeout-ms %" PRId64 " after %" PRId64 " message(s)\n",
                  o.timeout_ms, msgs);
          ++errors;
          break;
        }
        continue;
      }
      last_activity = now;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        // EOF repeats when a partition reaches its end again; count it once.
        if (m->partition >= 0 && m->partition < partitions && !at_end[static_cast<size_t>(m->partition)]) {
          at_end[static_cast<size_t>(m->partition)] = true;
          ++partitions_at_end;
        }
      } else if (m->err) {
        ++errors;
        fprintf(stderr, "keel-load: consume error on partition %" PRId32 ": %s\n", m->partition,
                rd_kafka_message_errstr(m));
        fatal = m->err == RD_KAFKA_RESP_ERR__FATAL;
      } else {
        ++msgs;
        bytes += static_cast<int64_t>(m->len);
        last_ns = now;
      }
      rd_kafka_message_destroy(m);
    }
    const double cpu = cpu_seconds() - cpu0;

    // The window runs from assign() to the last message, so it includes the
    // offset look-up and first fetch round trip (milliseconds).
    const double seconds = static_cast<double>(last_ns - t0) / 1e9;
    const double msgs_per_s = seconds > 0 ? static_cast<double>(msgs) / seconds : 0;
    const double mb_per_s = seconds > 0 ? static_cast<double>(bytes) / seconds / 1e6 : 0;
    printf("consume %s: %" PRId64 " msgs, %" PRId64
           " payload bytes in %.2f s: %.0f msgs/s, %.2f MB/s payload; "
           "client cpu %.2f s; errors %" PRId64 "\n",
           o.topic.c_str(), msgs, bytes, seconds, msgs_per_s, mb_per_s, cpu, errors);
    printf("{\"mode\":\"consume\",\"topic\":%s,\"partitions\":%" PRId32 ",\"from\":\"%s\",\"msgs\":%" PRId64
           ",\"bytes\":%" PRId64
           ",\"seconds\":%.6f,\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,\"client_cpu_s\":%.3f,"
           "\"errors\":%" PRId64 "}\n",
           json_string(o.topic).c_str(), partitions, o.from.c_str(), msgs, bytes, seconds, msgs_per_s,
           mb_per_s, cpu, errors);
    fflush(stdout);
    if (errors > 0) exit_status = 1;
  } catch (...) {
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    throw;
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return exit_status;
}

}  // namespace keel::load
