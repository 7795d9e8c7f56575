/* What the librdkafka producer programs of the integration tests share:
 * configuration that exits on a bad key, and one produce call that waits
 * while the local queue is full. */
#ifndef KEEL_IT_PRODUCER_COMMON_H
#define KEEL_IT_PRODUCER_COMMON_H

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>

static inline void set(rd_kafka_conf_t* conf, const char* key, const char* value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "config %s=%s: %s\n", key, value, err);
    exit(2);
  }
}

static inline rd_kafka_t* new_producer(rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "rd_kafka_new: %s\n", err);
    exit(2);
  }
  return rk;
}

/* Queues a copy of `value` for `partition` (RD_KAFKA_PARTITION_UA: the
 * partitioner chooses), serving callbacks while the queue is full; exits 1
 * on any other error. */
static inline void produce_copy_to(rd_kafka_t* rk, const char* topic, int32_t partition, const char* value,
                                   size_t len) {
  for (;;) {
    rd_kafka_resp_err_t e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                                              RD_KAFKA_V_VALUE((void*)value, len),
                                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      if (e) {
        fprintf(stderr, "produce: %s\n", rd_kafka_err2str(e));
        exit(1);
      }
      return;
    }
    rd_kafka_poll(rk, 10);
  }
}

static inline void produce_copy(rd_kafka_t* rk, const char* topic, const char* value, size_t len) {
  produce_copy_to(rk, topic, RD_KAFKA_PARTITION_UA, value, len);
}

#endif
