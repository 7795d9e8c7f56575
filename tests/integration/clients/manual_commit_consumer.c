/* librdkafka consumer with manual, synchronous commits, for
 * group_restart_test.py: subscribes to `topic` in `group` and prints one
 * line per event, flushed at once:
 *
 *   assigned <partition count>       a rebalance gave it partitions
 *   record <partition> <offset>      a record it processed
 *   commit ok                        a synchronous commit succeeded
 *   commit error <error name>        a commit failed
 *
 * It commits after every record it processes (rd_kafka_commit, sync), and
 * keeps retrying while a commit fails with a retriable error (the broker is
 * down). Runs until SIGTERM, then closes (LeaveGroup).
 *
 * usage: manual_commit_consumer <bootstrap> <group> <topic> <session ms>
 */
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop = 0;
static void on_term(int sig) {
  (void)sig;
  stop = 1;
}

static void set(rd_kafka_conf_t* conf, const char* k, const char* v) {
  char err[512];
  if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "%s: %s\n", k, err);
    exit(2);
  }
}

static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                         void* opaque) {
  (void)opaque;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    printf("assigned %d\n", parts->cnt);
    fflush(stdout);
    rd_kafka_assign(rk, parts);
  } else {
    rd_kafka_assign(rk, NULL);
  }
}

/* Errors after which the member is out of its group: what the restart test
 * checks never happens. */
static int fatal_for_member(rd_kafka_resp_err_t e) {
  return e == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION || e == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID ||
         e == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS;
}

int main(int argc, char** argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s <bootstrap> <group> <topic> <session ms>\n", argv[0]);
    return 2;
  }
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", argv[1]);
  set(conf, "group.id", argv[2]);
  set(conf, "enable.auto.commit", "false");
  set(conf, "auto.offset.reset", "earliest");
  set(conf, "session.timeout.ms", argv[4]);
  set(conf, "heartbeat.interval.ms", "500");
  set(conf, "reconnect.backoff.ms", "50");
  set(conf, "reconnect.backoff.max.ms", "300");
  rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "rd_kafka_new: %s\n", err);
    return 1;
  }
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, argv[3], RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);

  while (!stop) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (m->err) {
      rd_kafka_message_destroy(m);
      continue;
    }
    printf("record %d %lld\n", (int)m->partition, (long long)m->offset);
    fflush(stdout);
    rd_kafka_message_destroy(m);
    for (;;) {
      const rd_kafka_resp_err_t e = rd_kafka_commit(rk, NULL, 0);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        printf("commit ok\n");
        break;
      }
      if (fatal_for_member(e) || stop) {
        printf("commit error %s\n", rd_kafka_err2name(e));
        break;
      }
      usleep(100 * 1000); /* the broker is away: retry */
    }
    fflush(stdout);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return 0;
}
