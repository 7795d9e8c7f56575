/* librdkafka producer for power_loss_test.py: produces "<prefix>-<n>" (n =
 * 0, 1, ...) to `topic` until killed or `count` are sent, keeping at most
 * `window` undelivered, and prints one line per acknowledged record:
 *
 *   acked <partition> <offset> <value>
 *
 * so that the test knows exactly what the broker acknowledged before a power
 * cut. acks=all turns on idempotence (no duplicates from retries); acks=1
 * cannot have it, so it does not retry.
 *
 * usage: acked_producer <bootstrap> <topic> <all|1> <prefix> [count] [window]
 * KEEL_RDK_DEBUG=<contexts> turns on librdkafka's debug log (stderr).
 */
#include <string.h>

#include "producer_common.h"

static long settled = 0;

static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque) {
  (void)rk;
  (void)opaque;
  settled++;
  if (m->err) return; /* not acknowledged: nothing is promised about it */
  printf("acked %d %lld %.*s\n", (int)m->partition, (long long)m->offset, (int)m->len,
         (const char*)m->payload);
}

int main(int argc, char** argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s <bootstrap> <topic> <all|1> <prefix> [count] [window]\n", argv[0]);
    return 2;
  }
  const char* topic = argv[2];
  const int acks_all = strcmp(argv[3], "all") == 0;
  const char* prefix = argv[4];
  const long count = argc > 5 ? atol(argv[5]) : -1;
  const long window = argc > 6 ? atol(argv[6]) : 200;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", argv[1]);
  set(conf, "acks", acks_all ? "all" : "1");
  set(conf, "enable.idempotence", acks_all ? "true" : "false");
  if (!acks_all) set(conf, "retries", "0");
  if (getenv("KEEL_RDK_DEBUG")) set(conf, "debug", getenv("KEEL_RDK_DEBUG"));
  /* Each record to a partition drawn at random: librdkafka's default sticky
   * partitioner sends a whole 10 ms to one partition, which is the whole
   * window here, and a partition that refuses writes then holds every slot
   * (power_loss_test's failed fsync saw the other partition starve). */
  set(conf, "sticky.partitioning.linger.ms", "0");
  set(conf, "linger.ms", "1");
  set(conf, "batch.num.messages", "20");
  set(conf, "message.timeout.ms", "60000");
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_t* rk = new_producer(conf);
  long sent = 0;
  while (count < 0 || sent < count) {
    while (sent - settled >= window) {
      rd_kafka_poll(rk, 10);
      fflush(stdout);
    }
    char value[64];
    int n = snprintf(value, sizeof value, "%s-%07ld", prefix, sent);
    produce_copy(rk, topic, value, (size_t)n);
    sent++;
    rd_kafka_poll(rk, 0);
    fflush(stdout);
  }
  rd_kafka_flush(rk, 60000);
  fflush(stdout);
  rd_kafka_destroy(rk);
  return 0;
}
