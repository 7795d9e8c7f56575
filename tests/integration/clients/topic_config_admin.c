/* librdkafka admin client for kafka_topic_configs_test.py: one admin call
 * per invocation, printing what the broker answered, one line each:
 *
 *   create <topic> <partitions> [name=value ...]   -> "create <err> <message>"
 *   describe <topic>                               -> "config <name>=<value> source=<n> read_only=<0|1>"
 *   alter <topic> [validate] [name=value ...]      -> "alter <err> <message>"
 *
 * (librdkafka 2.0, Debian 12's, has no IncrementalAlterConfigs; the test
 * drives that one at wire level.) Exits 0 when the call completed, whatever
 * the broker's verdict (the test judges it), 1 on a client-side failure.
 *
 * usage: topic_config_admin <bootstrap> <command> <topic> ...
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rd_kafka_event_t* wait_for(rd_kafka_queue_t* q, rd_kafka_event_type_t type) {
  for (;;) {
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
    if (ev == NULL) {
      fprintf(stderr, "no answer within 30 s\n");
      exit(1);
    }
    if (rd_kafka_event_type(ev) == type) return ev;
    rd_kafka_event_destroy(ev);
  }
}

static int split(char* pair, char** name, char** value) {
  char* eq = strchr(pair, '=');
  if (eq == NULL) return 0;
  *eq = '\0';
  *name = pair;
  *value = eq + 1;
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s <bootstrap> create|describe|alter <topic> ...\n", argv[0]);
    return 2;
  }
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof err) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "%s\n", err);
    return 2;
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == NULL) {
    fprintf(stderr, "rd_kafka_new: %s\n", err);
    return 1;
  }
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  const char* cmd = argv[2];
  const char* topic = argv[3];
  char *name, *value;

  if (strcmp(cmd, "create") == 0) {
    rd_kafka_NewTopic_t* t = rd_kafka_NewTopic_new(topic, argc > 4 ? atoi(argv[4]) : 1, 1, err, sizeof err);
    for (int i = 5; i < argc; i++) {
      if (split(argv[i], &name, &value)) rd_kafka_NewTopic_set_config(t, name, value);
    }
    rd_kafka_CreateTopics(rk, &t, 1, NULL, q);
    rd_kafka_event_t* ev = wait_for(q, RD_KAFKA_EVENT_CREATETOPICS_RESULT);
    size_t n = 0;
    const rd_kafka_topic_result_t** res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    for (size_t i = 0; i < n; i++) {
      const char* msg = rd_kafka_topic_result_error_string(res[i]);
      printf("create %d %s\n", (int)rd_kafka_topic_result_error(res[i]), msg ? msg : "");
    }
    rd_kafka_event_destroy(ev);
    rd_kafka_NewTopic_destroy(t);
  } else if (strcmp(cmd, "describe") == 0) {
    rd_kafka_ConfigResource_t* r = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_DescribeConfigs(rk, &r, 1, NULL, q);
    rd_kafka_event_t* ev = wait_for(q, RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT);
    size_t n = 0;
    const rd_kafka_ConfigResource_t** res =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
    for (size_t i = 0; i < n; i++) {
      if (rd_kafka_ConfigResource_error(res[i])) {
        printf("describe-error %d %s\n", (int)rd_kafka_ConfigResource_error(res[i]),
               rd_kafka_ConfigResource_error_string(res[i]));
      }
      size_t c = 0;
      const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(res[i], &c);
      for (size_t j = 0; j < c; j++) {
        const char* v = rd_kafka_ConfigEntry_value(entries[j]);
        printf("config %s=%s source=%d read_only=%d\n", rd_kafka_ConfigEntry_name(entries[j]), v ? v : "(null)",
               (int)rd_kafka_ConfigEntry_source(entries[j]), rd_kafka_ConfigEntry_is_read_only(entries[j]));
      }
    }
    rd_kafka_event_destroy(ev);
    rd_kafka_ConfigResource_destroy(r);
  } else if (strcmp(cmd, "alter") == 0) {
    rd_kafka_ConfigResource_t* r = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_ALTERCONFIGS);
    for (int i = 4; i < argc; i++) {
      if (strcmp(argv[i], "validate") == 0) {
        rd_kafka_AdminOptions_set_validate_only(opts, 1, err, sizeof err);
      } else if (split(argv[i], &name, &value)) {
        rd_kafka_ConfigResource_set_config(r, name, value);
      }
    }
    rd_kafka_AlterConfigs(rk, &r, 1, opts, q);
    rd_kafka_event_t* ev = wait_for(q, RD_KAFKA_EVENT_ALTERCONFIGS_RESULT);
    if (rd_kafka_event_error(ev)) {
      printf("alter %d %s\n", (int)rd_kafka_event_error(ev), rd_kafka_event_error_string(ev));
    } else {
      size_t n = 0;
      const rd_kafka_ConfigResource_t** res =
          rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &n);
      for (size_t i = 0; i < n; i++) {
        const char* msg = rd_kafka_ConfigResource_error_string(res[i]);
        printf("alter %d %s\n", (int)rd_kafka_ConfigResource_error(res[i]), msg ? msg : "");
      }
    }
    rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_ConfigResource_destroy(r);
  } else {
    fprintf(stderr, "unknown command '%s'\n", cmd);
    return 2;
  }
  fflush(stdout);
  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(rk);
  return 0;
}
