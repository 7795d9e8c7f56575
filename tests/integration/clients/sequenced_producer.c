/* Idempotent (acks=all) librdkafka producer for cluster_idempotence_test.py:
 * message n goes to partition n % partitions with the value
 * "<partition>-<n / partitions>" (a sequence number per partition, 7 digits),
 * at most `window` undelivered, until `count` are sent or SIGTERM comes;
 * then it flushes. It prints one line per delivery report:
 *
 *   acked <partition> <offset> <value>
 *   failed <partition> <value> <error>
 *
 * and at the end "summary sent=<n> acked=<n> failed=<n> fatal=<error|none>".
 * Exits 0 unless the producer hit a fatal error or the flush timed out.
 * KEEL_IT_RDKAFKA_DEBUG (e.g. "eos,msg") turns on librdkafka's debug log
 * (on stderr) for an investigation.
 *
 * usage: sequenced_producer <bootstrap> <topic> <partitions> <count> [window]
 */
#include <signal.h>
#include <string.h>

#include "producer_common.h"

/* Retries on a lost leader are the point: 60 s is far longer than a
 * failover; small batches keep several requests in flight per partition. */
static const char* const kSettings[][2] = {
    {"enable.idempotence", "true"},
    {"acks", "all"},
    {"linger.ms", "1"},
    {"batch.num.messages", "20"},
    {"message.timeout.ms", "60000"},
    {"reconnect.backoff.ms", "20"},
    {"reconnect.backoff.max.ms", "200"},
};

static volatile sig_atomic_t stop = 0;
static long acked = 0;
static long failed = 0;

static void on_sigterm(int sig) {
  (void)sig;
  stop = 1;
}

static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque) {
  (void)rk;
  (void)opaque;
  if (m->err) {
    failed++;
    printf("failed %d %.*s %s\n", (int)m->partition, (int)m->len, (const char*)m->payload,
           rd_kafka_err2name(m->err));
    return;
  }
  acked++;
  printf("acked %d %lld %.*s\n", (int)m->partition, (long long)m->offset, (int)m->len,
         (const char*)m->payload);
}

int main(int argc, char** argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s <bootstrap> <topic> <partitions> <count> [window]\n", argv[0]);
    return 2;
  }
  const char* topic = argv[2];
  const int partitions = atoi(argv[3]);
  const long count = atol(argv[4]);
  const long window = argc > 5 ? atol(argv[5]) : 200;
  if (partitions < 1) {
    fprintf(stderr, "partitions must be at least 1, not %s\n", argv[3]);
    return 2;
  }
  signal(SIGTERM, on_sigterm);
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", argv[1]);
  for (size_t i = 0; i < sizeof kSettings / sizeof kSettings[0]; i++) {
    set(conf, kSettings[i][0], kSettings[i][1]);
  }
  const char* debug = getenv("KEEL_IT_RDKAFKA_DEBUG");
  if (debug && *debug) set(conf, "debug", debug);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_t* rk = new_producer(conf);
  long sent = 0;
  while (!stop && sent < count) {
    while (!stop && sent - (acked + failed) >= window) {
      rd_kafka_poll(rk, 10);
      fflush(stdout);
    }
    if (stop) break;
    const int partition = (int)(sent % partitions);
    char value[64];
    int n = snprintf(value, sizeof value, "%d-%07ld", partition, sent / partitions);
    produce_copy_to(rk, topic, partition, value, (size_t)n);
    sent++;
    rd_kafka_poll(rk, 0);
    fflush(stdout);
  }
  const rd_kafka_resp_err_t flushed = rd_kafka_flush(rk, 60000);
  char err[512];
  const int fatal = rd_kafka_fatal_error(rk, err, sizeof err) != RD_KAFKA_RESP_ERR_NO_ERROR;
  printf("summary sent=%ld acked=%ld failed=%ld fatal=%s\n", sent, acked, failed,
         fatal ? err : (flushed ? "flush-timed-out" : "none"));
  fflush(stdout);
  rd_kafka_destroy(rk);
  return (fatal || flushed) ? 1 : 0;
}
