/* librdkafka admin operations and a transactional producer for
 * kafka_admin_ops_test.py. One operation per run; prints one result line:
 *
 *   admin_ops <bootstrap> create-partitions <topic> <total> [validate]
 *       -> "ok" | "error <code name> <message>"
 *   admin_ops <bootstrap> delete-records <topic> <partition> <offset>
 *       -> "low <low watermark>" | "error <code name> <message>"
 *   admin_ops <bootstrap> init-transactions <transactional id>
 *       -> "<elapsed ms> <fatal 0|1> <error name> <message>"
 *
 * Exit 0 when the line was printed (the test judges it), 2 on a usage or
 * setup error.
 */
#include <string.h>
#include <time.h>

#include "producer_common.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* Waits for the admin result event of `type`. */
static rd_kafka_event_t* wait_result(rd_kafka_queue_t* q, rd_kafka_event_type_t type) {
  for (;;) {
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
    if (!ev) {
      printf("error _TIMED_OUT no admin result within 30 s\n");
      exit(0);
    }
    if (rd_kafka_event_type(ev) == type) return ev;
    rd_kafka_event_destroy(ev);
  }
}

static int create_partitions(rd_kafka_t* rk, const char* topic, int total, int validate) {
  char err[512];
  rd_kafka_NewPartitions_t* np = rd_kafka_NewPartitions_new(topic, (size_t)total, err, sizeof err);
  if (!np) {
    fprintf(stderr, "NewPartitions: %s\n", err);
    return 2;
  }
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS);
  if (validate) rd_kafka_AdminOptions_set_validate_only(opts, 1, err, sizeof err);
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_CreatePartitions(rk, &np, 1, opts, q);
  rd_kafka_event_t* ev = wait_result(q, RD_KAFKA_EVENT_CREATEPARTITIONS_RESULT);
  if (rd_kafka_event_error(ev)) {
    printf("error %s %s\n", rd_kafka_err2name(rd_kafka_event_error(ev)), rd_kafka_event_error_string(ev));
  } else {
    size_t n = 0;
    const rd_kafka_topic_result_t** res =
        rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev), &n);
    rd_kafka_resp_err_t e = n > 0 ? rd_kafka_topic_result_error(res[0]) : RD_KAFKA_RESP_ERR__FAIL;
    if (e) {
      const char* m = n > 0 ? rd_kafka_topic_result_error_string(res[0]) : "no result";
      printf("error %s %s\n", rd_kafka_err2name(e), m ? m : "");
    } else {
      printf("ok\n");
    }
  }
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_NewPartitions_destroy(np);
  return 0;
}

static int delete_records(rd_kafka_t* rk, const char* topic, int partition, long long offset) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic, partition)->offset = offset;
  rd_kafka_DeleteRecords_t* dr = rd_kafka_DeleteRecords_new(list);
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DELETERECORDS);
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_DeleteRecords(rk, &dr, 1, opts, q);
  rd_kafka_event_t* ev = wait_result(q, RD_KAFKA_EVENT_DELETERECORDS_RESULT);
  if (rd_kafka_event_error(ev)) {
    printf("error %s %s\n", rd_kafka_err2name(rd_kafka_event_error(ev)), rd_kafka_event_error_string(ev));
  } else {
    const rd_kafka_topic_partition_list_t* out =
        rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev));
    if (out->cnt != 1) {
      printf("error _FAIL %d partitions in the result\n", out->cnt);
    } else if (out->elems[0].err) {
      printf("error %s %s\n", rd_kafka_err2name(out->elems[0].err), rd_kafka_err2str(out->elems[0].err));
    } else {
      printf("low %lld\n", (long long)out->elems[0].offset);
    }
  }
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_DeleteRecords_destroy(dr);
  return 0;
}

static int init_transactions(const char* bootstrap, const char* txn_id) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstrap);
  set(conf, "transactional.id", txn_id);
  rd_kafka_t* rk = new_producer(conf);
  const double t0 = now_ms();
  rd_kafka_error_t* error = rd_kafka_init_transactions(rk, 60000);
  const double elapsed = now_ms() - t0;
  if (!error) {
    printf("%.0f 0 NO_ERROR transactions initialised\n", elapsed);
  } else {
    printf("%.0f %d %s %s\n", elapsed, rd_kafka_error_is_fatal(error), rd_kafka_error_name(error),
           rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
  }
  rd_kafka_destroy(rk);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s <bootstrap> <operation> <args...>\n", argv[0]);
    return 2;
  }
  const char* op = argv[2];
  if (strcmp(op, "init-transactions") == 0) return init_transactions(argv[1], argv[3]);
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", argv[1]);
  rd_kafka_t* rk = new_producer(conf);
  int rc = 2;
  if (strcmp(op, "create-partitions") == 0 && argc >= 5) {
    rc = create_partitions(rk, argv[3], atoi(argv[4]), argc > 5 && strcmp(argv[5], "validate") == 0);
  } else if (strcmp(op, "delete-records") == 0 && argc >= 6) {
    rc = delete_records(rk, argv[3], atoi(argv[4]), atoll(argv[5]));
  } else {
    fprintf(stderr, "unknown operation or missing arguments: %s\n", op);
  }
  rd_kafka_destroy(rk);
  return rc;
}
