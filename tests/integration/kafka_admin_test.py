"""Kafka metadata and admin APIs against a real broker, through real clients:
kcat -L (librdkafka, Metadata v4), kafka-python's version probe (Metadata v0)
and KafkaAdminClient (CreateTopics v3, DeleteTopics v1, DescribeConfigs v1,
Metadata v4). Topic configs in depth: kafka_topic_configs_test.py.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keel_harness import Broker, parse_args, run_cases, wait_until  # noqa: E402
import kafka_wire  # noqa: E402

try:
    import kafka  # noqa: F401
except ImportError:
    # Debian's python3-kafka, when python3 is not the system interpreter.
    sys.path.append("/usr/lib/python3/dist-packages")
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer  # noqa: E402
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic  # noqa: E402
from kafka import errors as kerrors  # noqa: E402

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def kcat_metadata(broker, *extra):
    out = subprocess.run(["kcat", "-b", broker.bootstrap, "-L", "-m", "10", *extra],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, f"kcat -L failed: {out.stderr}"
    return out.stdout


def admin(broker):
    return KafkaAdminClient(bootstrap_servers=broker.bootstrap, client_id="keel-admin-test",
                            request_timeout_ms=10000)


def topics_in_metadata(broker):
    text = kcat_metadata(broker)
    return set(re.findall(r'topic "([^"]+)" with', text))


@test
def kcat_lists_broker_topics_and_partitions(broker):
    text = kcat_metadata(broker)
    assert f"broker 0 at 127.0.0.1:{broker.kafka_port}" in text, text
    assert re.search(r'topic "orders" with 4 partitions', text), text
    for p in range(4):
        assert re.search(rf"partition {p}, leader 0, replicas: 0, isrs: 0", text), text
    # A single topic, as kcat -t asks for it.
    one = kcat_metadata(broker, "-t", "orders")
    assert 'topic "orders" with 4 partitions' in one and 'topic "audit"' not in one, one


@test
def metadata_v0_probe_lists_all_topics(broker):
    md = kafka_wire.metadata(broker.kafka_port, 0, [])
    assert md["brokers"] == [(0, "127.0.0.1", broker.kafka_port)], md
    err, _, parts = md["topics"]["orders"]
    assert err == 0 and len(parts) == 4, md
    assert parts[2] == (0, 2, 0, (0,), (0,)), parts
    assert "audit" in md["topics"]
    # v0-3 imply auto-creation; an invalid name is refused.
    md = kafka_wire.metadata(broker.kafka_port, 0, ["auto-made", "bad name!"])
    assert md["topics"]["auto-made"][0] == 0 and len(md["topics"]["auto-made"][2]) >= 1, md
    assert md["topics"]["bad name!"] == (17, False, []), md


@test
def metadata_null_versus_empty_and_auto_create_flag(broker):
    for v in (1, 2, 3, 4):
        md = kafka_wire.metadata(broker.kafka_port, v, None)
        assert {"orders", "audit"} <= set(md["topics"]), (v, md)
        assert md["controller"] == 0, (v, md)
        assert md["cluster_id"] == ("keel" if v >= 2 else None), (v, md)
        assert kafka_wire.metadata(broker.kafka_port, v, [])["topics"] == {}, v
    md = kafka_wire.metadata(broker.kafka_port, 4, ["never-made"], allow_auto_create=False)
    assert md["topics"] == {"never-made": (3, False, [])}, md
    assert "never-made" not in kafka_wire.metadata(broker.kafka_port, 4, None)["topics"]
    md = kafka_wire.metadata(broker.kafka_port, 4, ["made-by-v4", "orders", "orders"])
    assert md["topics"]["made-by-v4"][0] == 0 and md["topics"]["orders"][0] == 0, md


@test
def version_probe_detects_at_least_1_0(broker):
    a = admin(broker)
    try:
        version = a._client.check_version()
        print("kafka-python check_version():", version)
        assert isinstance(version, tuple) and version >= (1, 0), version
    finally:
        a.close()
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    try:
        print("KafkaProducer api_version:", producer.config["api_version"])
        assert producer.config["api_version"] >= (1, 0), producer.config["api_version"]
    finally:
        producer.close()


@test
def admin_create_list_describe_delete(broker):
    a = admin(broker)
    try:
        a.create_topics([NewTopic("made-by-admin", 3, 1)])
        assert "made-by-admin" in a.list_topics()
        assert 'topic "made-by-admin" with 3 partitions' in kcat_metadata(broker, "-t", "made-by-admin")

        try:
            a.create_topics([NewTopic("made-by-admin", 3, 1)])
            raise AssertionError("creating an existing topic succeeded")
        except kerrors.TopicAlreadyExistsError:
            pass
        try:
            a.create_topics([NewTopic("three-copies", 1, 3)])
            raise AssertionError("replication factor 3 was accepted")
        except kerrors.InvalidReplicationFactorError as e:
            assert "keeps one copy" in str(e), e
        assert "three-copies" not in a.list_topics()
        # Configs with a Keel equivalent become the topic's settings.
        a.create_topics([NewTopic("with-config", 1, 1, topic_configs={
            "segment.bytes": "1048576", "retention.ms": "3600000", "cleanup.policy": "delete"})])
        for bad in ({"segment.index.bytes": "4096"}, {"segment.bytes": "10"}, {"segment.bytes": "big"}):
            try:
                a.create_topics([NewTopic("bad-config", 1, 1, topic_configs=bad)])
                raise AssertionError(f"topic config {bad} was accepted")
            except kerrors.InvalidConfigurationError:
                pass
        assert "bad-config" not in a.list_topics()
        # validate_only checks and creates nothing.
        a.create_topics([NewTopic("validated-only", 2, 1)], validate_only=True)
        assert "validated-only" not in a.list_topics()

        responses = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "made-by-admin"),
                                        ConfigResource(ConfigResourceType.BROKER, "0")])
        configs = {}
        for response in responses:
            for err, _msg, rtype, rname, entries in response.resources:
                assert err == 0, response
                configs[(rtype, rname)] = {e[0]: e[1] for e in entries}
        expected = {"cleanup.policy": "delete", "segment.bytes": "1073741824", "segment.ms": "604800000",
                    "max.message.bytes": "1048588", "retention.ms": "604800000", "retention.bytes": "-1"}
        assert expected.items() <= configs[(2, "made-by-admin")].items(), configs
        assert configs[(4, "0")]["broker.id"] == "0", configs
        responses = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "with-config",
                                                       {"segment.bytes": None})], include_synonyms=True)
        entries = responses[0].resources[0][4]
        assert [(e[0], e[1]) for e in entries] == [("segment.bytes", "1048576")], entries
        # The topic's own value, then the default it overrides.
        assert [(s[0], s[1], s[2]) for s in entries[0][-1]] == [("segment.bytes", "1048576", 1),
                                                                 ("segment.bytes", "1073741824", 5)], entries
        responses = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "no-such-topic")])
        assert responses[0].resources[0][0] == 3, responses

        a.delete_topics(["made-by-admin"])
        wait_until(lambda: "made-by-admin" not in topics_in_metadata(broker), 10, "the topic to leave metadata")
        assert "made-by-admin" not in a.list_topics()
        try:
            a.delete_topics(["made-by-admin"])
            raise AssertionError("deleting a missing topic succeeded")
        except kerrors.UnknownTopicOrPartitionError:
            pass

        # Re-created under the same name, it starts empty.
        a.create_topics([NewTopic("made-by-admin", 2, 1)])
        assert 'topic "made-by-admin" with 2 partitions' in kcat_metadata(broker, "-t", "made-by-admin")
    finally:
        a.close()


@test
def kafka_python_producer_and_consumer_bootstrap(broker):
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    try:
        assert producer.partitions_for("orders") == {0, 1, 2, 3}
    finally:
        producer.close()
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap)
    try:
        assert {"orders", "audit"} <= consumer.topics()
        assert consumer.partitions_for_topic("orders") == {0, 1, 2, 3}
    finally:
        consumer.close()


def main():
    args = parse_args()
    topics = "[topics.orders]\npartitions = 4\n\n[topics.audit]\n"
    with Broker(args.build_dir, topics_toml=topics) as broker:
        status = run_cases(broker, TESTS)
        assert broker.alive(), "broker died"
    return status


if __name__ == "__main__":
    sys.exit(main())
