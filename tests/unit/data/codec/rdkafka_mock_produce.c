/* Fixture helper for codec_test.cpp (not built by CMake; generate_fixtures.py
 * compiles it with `cc rdkafka_mock_produce.c -lrdkafka`). Starts librdkafka's
 * in-process mock cluster, produces the fixture records in ONE batch with the
 * codec named in argv[1] (gzip|snappy|lz4|zstd), prints the cluster's
 * bootstrap address and keeps the cluster up until stdin closes, so the
 * script can fetch the batch exactly as librdkafka wrote it. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define RECORDS 20
#define BASE_TS 1700000000000LL

static void must(rd_kafka_conf_t* conf, const char* k, const char* v) {
  char err[256];
  if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "%s=%s: %s\n", k, v, err);
    exit(1);
  }
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s gzip|snappy|lz4|zstd\n", argv[0]);
    return 2;
  }
  char err[256];
  rd_kafka_conf_t* mconf = rd_kafka_conf_new();
  rd_kafka_t* mrk = rd_kafka_new(RD_KAFKA_PRODUCER, mconf, err, sizeof err);
  rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(mrk, 1);
  rd_kafka_mock_topic_create(mc, "fixture", 1, 1);

  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  must(conf, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mc));
  must(conf, "compression.codec", argv[1]);
  must(conf, "linger.ms", "500");
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  /* Same records as expected_records() in codec_test.cpp. */
  const char* filler = " the quick brown fox jumps over the lazy dog;";
  for (int i = 0; i < RECORDS; ++i) {
    char key[32], value[256], hval[32];
    snprintf(key, sizeof key, "key-%d", i);
    snprintf(value, sizeof value, "value-%d:%s%s%s", i, filler, filler, filler);
    snprintf(hval, sizeof hval, "h-%d", i);
    /* The RD_KAFKA_V_ macros do not parenthesise their arguments. */
    const char* k = i == 3 ? NULL : key;
    size_t klen = k ? strlen(k) : 0;
    char* v = i == 5 ? NULL : value;
    size_t vlen = v ? strlen(v) : 0;
    const char* h = i % 2 == 0 ? hval : NULL;
    ssize_t hlen = h ? -1 : 0;
    rd_kafka_resp_err_t e = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC("fixture"), RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_KEY(k, klen),
        RD_KAFKA_V_VALUE(v, vlen), RD_KAFKA_V_TIMESTAMP(BASE_TS + 10LL * i),
        RD_KAFKA_V_HEADER("trace", h, hlen),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY) /* value is reused */, RD_KAFKA_V_END);
    if (e) {
      fprintf(stderr, "produce: %s\n", rd_kafka_err2str(e));
      return 1;
    }
  }
  if (rd_kafka_flush(rk, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    fprintf(stderr, "flush timed out\n");
    return 1;
  }
  printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);
  while (getchar() != EOF) {
  }
  rd_kafka_destroy(rk);
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(mrk);
  return 0;
}
