/* Idempotent librdkafka producer for kafka_data_test.py: produces `count`
 * messages "msg-000000".. to `topic`, keeping at most `window` undelivered,
 * so that it is still producing while the test restarts the broker. Prints
 * "progress <delivered>" lines and a final summary; exits 0 only if every
 * delivery report succeeded.
 *
 * usage: idempotent_producer <bootstrap> <topic> <count> [window]
 */
#include <string.h>

#include "producer_common.h"

static long delivered = 0;
static long failed = 0;

static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque) {
  (void)rk;
  (void)opaque;
  if (m->err) {
    if (failed < 10) {
      fprintf(stderr, "delivery failed for %.*s: %s\n", (int)m->len, (const char*)m->payload,
              rd_kafka_err2str(m->err));
    }
    failed++;
  } else {
    delivered++;
  }
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s <bootstrap> <topic> <count> [window]\n", argv[0]);
    return 2;
  }
  const char* topic = argv[2];
  const long count = atol(argv[3]);
  const long window = argc > 4 ? atol(argv[4]) : 100;
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", argv[1]);
  set(conf, "enable.idempotence", "true");
  set(conf, "linger.ms", "2");
  set(conf, "batch.num.messages", "20");
  set(conf, "message.timeout.ms", "120000");
  set(conf, "reconnect.backoff.ms", "20");
  set(conf, "reconnect.backoff.max.ms", "200");
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_t* rk = new_producer(conf);
  long sent = 0;
  long reported = -1;
  while (sent < count) {
    while (sent - (delivered + failed) >= window) rd_kafka_poll(rk, 10);
    char value[32];
    int n = snprintf(value, sizeof value, "msg-%06ld", sent);
    produce_copy(rk, topic, value, (size_t)n);
    sent++;
    rd_kafka_poll(rk, 0);
    if (delivered / 500 != reported) {
      reported = delivered / 500;
      printf("progress %ld\n", delivered);
      fflush(stdout);
    }
  }
  rd_kafka_flush(rk, 120000);
  const int fatal = rd_kafka_fatal_error(rk, err, sizeof err);
  printf("summary: sent=%ld delivered=%ld failed=%ld fatal=%s\n", sent, delivered, failed,
         fatal ? err : "none");
  fflush(stdout);
  rd_kafka_destroy(rk);
  return (delivered == count && failed == 0 && !fatal) ? 0 : 1;
}
