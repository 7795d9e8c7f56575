/* librdkafka admin calls on consumer groups, for the group tests:
 *
 *   group_admin <bootstrap> list-offsets <group>
 *       ListConsumerGroupOffsets with NULL partitions (every committed
 *       offset); prints "offset <topic> <partition> <offset>" per partition.
 *   group_admin <bootstrap> delete-group <group>
 *       DeleteGroups; prints "deleted <group>" or "error <group> <code name>".
 *   group_admin <bootstrap> delete-offsets <group> <topic> <partition>...
 *       DeleteConsumerGroupOffsets; prints "deleted <topic> <partition>" or
 *       "error <topic> <partition> <code name>" per partition, or
 *       "error <group> <code name>" for the whole request (any operation).
 *
 * Exit status 0 when the request got an answer (whatever the per-item
 * errors), 1 when the call itself failed (printed on stderr).
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rd_kafka_t* client(const char* bootstrap) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "config: %s\n", err);
    exit(1);
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "rd_kafka_new: %s\n", err);
    exit(1);
  }
  return rk;
}

/* Waits for the admin result of type `type`. A request-level error from
 * the broker (a Kafka error code, e.g. OffsetDelete's GROUP_ID_NOT_FOUND)
 * is printed as "error <group> <code name>" and ends the program with 0; a
 * local one (timeout, transport) with 1. */
static rd_kafka_event_t* wait_result(rd_kafka_queue_t* q, rd_kafka_event_type_t type, const char* group) {
  for (;;) {
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
    if (!ev) {
      fprintf(stderr, "no answer within 30 s\n");
      exit(1);
    }
    if (rd_kafka_event_type(ev) != type) {
      rd_kafka_event_destroy(ev);
      continue;
    }
    if (rd_kafka_event_error(ev) > 0) {
      printf("error %s %s\n", group, rd_kafka_err2name(rd_kafka_event_error(ev)));
      exit(0);
    }
    if (rd_kafka_event_error(ev)) {
      fprintf(stderr, "request failed: %s: %s\n", rd_kafka_err2name(rd_kafka_event_error(ev)),
              rd_kafka_event_error_string(ev));
      exit(1);
    }
    return ev;
  }
}

static void print_partitions(const rd_kafka_topic_partition_list_t* parts, int offsets) {
  for (int i = 0; parts && i < parts->cnt; i++) {
    const rd_kafka_topic_partition_t* p = &parts->elems[i];
    if (p->err) {
      printf("error %s %d %s\n", p->topic, (int)p->partition, rd_kafka_err2name(p->err));
    } else if (offsets) {
      printf("offset %s %d %lld\n", p->topic, (int)p->partition, (long long)p->offset);
    } else {
      printf("deleted %s %d\n", p->topic, (int)p->partition);
    }
  }
}

static void print_group(const rd_kafka_group_result_t* g, int offsets) {
  const rd_kafka_error_t* e = rd_kafka_group_result_error(g);
  if (e) {
    printf("error %s %s\n", rd_kafka_group_result_name(g), rd_kafka_error_name(e));
    return;
  }
  const rd_kafka_topic_partition_list_t* parts = rd_kafka_group_result_partitions(g);
  if (!parts && !offsets) printf("deleted %s\n", rd_kafka_group_result_name(g));
  print_partitions(parts, offsets);
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s <bootstrap> list-offsets|delete-group|delete-offsets <group> [...]\n",
            argv[0]);
    return 2;
  }
  rd_kafka_t* rk = client(argv[1]);
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  const char* op = argv[2];
  const char* group = argv[3];
  size_t n = 0;
  if (strcmp(op, "list-offsets") == 0) {
    rd_kafka_ListConsumerGroupOffsets_t* req[1] = {rd_kafka_ListConsumerGroupOffsets_new(group, NULL)};
    rd_kafka_ListConsumerGroupOffsets(rk, req, 1, NULL, q);
    rd_kafka_ListConsumerGroupOffsets_destroy(req[0]);
    rd_kafka_event_t* ev = wait_result(q, RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT, group);
    const rd_kafka_group_result_t** groups = rd_kafka_ListConsumerGroupOffsets_result_groups(
        rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
    for (size_t i = 0; i < n; i++) print_group(groups[i], 1);
    rd_kafka_event_destroy(ev);
  } else if (strcmp(op, "delete-group") == 0) {
    rd_kafka_DeleteGroup_t* req[1] = {rd_kafka_DeleteGroup_new(group)};
    rd_kafka_DeleteGroups(rk, req, 1, NULL, q);
    rd_kafka_DeleteGroup_destroy(req[0]);
    rd_kafka_event_t* ev = wait_result(q, RD_KAFKA_EVENT_DELETEGROUPS_RESULT, group);
    const rd_kafka_group_result_t** groups =
        rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &n);
    for (size_t i = 0; i < n; i++) print_group(groups[i], 0);
    rd_kafka_event_destroy(ev);
  } else if (strcmp(op, "delete-offsets") == 0 && argc >= 6) {
    rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(argc - 5);
    for (int i = 5; i < argc; i++) rd_kafka_topic_partition_list_add(parts, argv[4], atoi(argv[i]));
    rd_kafka_DeleteConsumerGroupOffsets_t* req[1] = {rd_kafka_DeleteConsumerGroupOffsets_new(group, parts)};
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_DeleteConsumerGroupOffsets(rk, req, 1, NULL, q);
    rd_kafka_DeleteConsumerGroupOffsets_destroy(req[0]);
    rd_kafka_event_t* ev = wait_result(q, RD_KAFKA_EVENT_DELETECONSUMERGROUPOFFSETS_RESULT, group);
    const rd_kafka_group_result_t** groups = rd_kafka_DeleteConsumerGroupOffsets_result_groups(
        rd_kafka_event_DeleteConsumerGroupOffsets_result(ev), &n);
    for (size_t i = 0; i < n; i++) print_group(groups[i], 0);
    rd_kafka_event_destroy(ev);
  } else {
    fprintf(stderr, "unknown operation %s\n", op);
    return 2;
  }
  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(rk);
  return 0;
}
