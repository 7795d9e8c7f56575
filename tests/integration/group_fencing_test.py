"""Group commits are fenced by the broker, whatever the transport.

While a kafka-python consumer group is live (joined and stable), an HTTP
commit to that group (no member id, no generation) is refused with 409 and
the kernel's message, and the group's committed offsets stay as the Kafka
consumer left them. Once the consumer closes (LeaveGroup empties the
group), the same HTTP commit succeeds.
"""
import http.client
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import system_python  # noqa: E402,F401  (re-runs under /usr/bin/python3 when kafka-python is missing)

from kafka import KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition

from keel_harness import Broker, parse_args, wait_until  # noqa: E402

TOPIC = "fenced"
GROUP = "live-group"
TP = TopicPartition(TOPIC, 0)


def call(broker, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", broker.http_port, timeout=60)
    try:
        conn.request(method, path, body=json.dumps(body).encode() if body is not None else None,
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"null")
    finally:
        conn.close()


def http_commit(broker, offset):
    return call(broker, "POST", f"/groups/{GROUP}/offsets",
                {"offsets": [{"topic": TOPIC, "partition": 0, "offset": offset}]})


def committed_over_http(broker):
    status, value = call(broker, "GET", f"/groups/{GROUP}/offsets?topic={TOPIC}&partition=0")
    assert status == 200, (status, value)
    return value["offsets"][0]["offset"]


def main():
    args = parse_args()
    with Broker(args.build_dir, http=True, topics_toml=f"[topics.{TOPIC}]\npartitions = 1\n",
                kafka_toml="group_initial_rebalance_delay_ms = 0") as broker:
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        for i in range(10):
            producer.send(TOPIC, value=b"v%d" % i, partition=0)
        producer.flush()
        producer.close()

        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=GROUP, enable_auto_commit=False,
                                 auto_offset_reset="earliest", session_timeout_ms=6000,
                                 heartbeat_interval_ms=300)
        consumer.subscribe([TOPIC])
        got = []
        wait_until(lambda: got.extend(r for recs in consumer.poll(timeout_ms=200).values() for r in recs)
                   or len(got) >= 10, 60, "the consumer to join and read all 10 records")
        consumer.commit({TP: OffsetAndMetadata(7, "")})
        assert committed_over_http(broker) == 7

        status, value = http_commit(broker, 2)
        assert status == 409, (status, value)
        message = value["error"]["message"]
        assert f"group '{GROUP}' has 1 live member(s)" in message, message
        assert "wait until its consumers have closed" in message, message
        assert committed_over_http(broker) == 7, "a refused HTTP commit changed the group's offset"
        # The live member itself still commits.
        consumer.commit({TP: OffsetAndMetadata(9, "")})
        assert committed_over_http(broker) == 9
        print("HTTP commit to a live Kafka group: 409, offsets unchanged: ok")

        consumer.close()  # LeaveGroup: the group empties
        wait_until(lambda: http_commit(broker, 2)[0] == 200, 30, "the HTTP commit to succeed once the group is empty")
        assert committed_over_http(broker) == 2
        print("HTTP commit after the consumer closed: accepted: ok")
    print("group_fencing_test: all passed")


if __name__ == "__main__":
    main()
