"""Leader epochs on a single broker at wire level (KIP-101/279/320):
OffsetForLeaderEpoch (key 23) v0..v4 answers epoch 0 with the log end
offset and an epoch the log never had with -1/-1; a current_leader_epoch
above the partition's gets UNKNOWN_LEADER_EPOCH, and the same check guards
ListOffsets v4+ and Fetch v9+; ListOffsets v4+ names the leader epoch (0);
fetched batches carry epoch 0 in their header whatever the producer sent;
the epoch checkpoint survives a restart.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_wire as kw  # noqa: E402
from kafka_batches import record_batch  # noqa: E402
from keel_harness import Broker, parse_args, run_cases  # noqa: E402

TOPIC = "epochs"
NONE, UNKNOWN_TOPIC, NOT_LEADER = 0, 3, 6
FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH = 74, 75
PRODUCED = 5  # records in partition 0, one per batch

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def offset_for_leader_epoch(port, version, requests, current_leader_epoch=-1):
    """`requests`: [(topic, partition, leader_epoch)]. Returns
    {(topic, partition): (error, leader_epoch or None before v1, end_offset)}."""
    flex = version >= kw.FIRST_FLEXIBLE[23]
    e = kw.Encoder(flex)
    body = struct.pack(">i", -1) if version >= 3 else b""  # replica_id: a consumer
    by_topic = {}
    for topic, partition, epoch in requests:
        by_topic.setdefault(topic, []).append((partition, epoch))

    def partition(p):
        index, epoch = p
        out = struct.pack(">i", index)
        if version >= 2:
            out += struct.pack(">i", current_leader_epoch)
        return out + struct.pack(">i", epoch) + e.tags()

    body += e.array(list(by_topic.items()), lambda t: e.string(t[0]) + e.array(t[1], partition) + e.tags())
    body += e.tags()
    d = kw.FlexDecoder(kw.roundtrip_any(port, 23, version, body), flex)
    if version >= 2:
        assert d.int32() == 0  # throttle_time_ms
    answers = {}

    def topic_answer(x):
        name = x.string()

        def part(y):
            error, index = y.int16(), y.int32()
            epoch = y.int32() if version >= 1 else None
            end = y.int64()
            y.tags()
            answers[(name, index)] = (error, epoch, end)

        x.array(part)
        x.tags()

    d.array(topic_answer)
    d.tags()
    assert d.done()
    return answers


def list_offsets_v4(port, partition, timestamp, current_leader_epoch):
    """(error, offset, leader_epoch) of ListOffsets v4 for one partition."""
    body = (struct.pack(">ib", -1, 0) + struct.pack(">i", 1) + kw.string(TOPIC) + struct.pack(">i", 1)
            + struct.pack(">iiq", partition, current_leader_epoch, timestamp))
    d = kw.Decoder(kw.roundtrip(port, 2, 4, body))
    assert d.int32() == 0  # throttle_time_ms
    assert d.int32() == 1 and d.string() == TOPIC and d.int32() == 1
    index, error, _ts, offset, epoch = d.int32(), d.int16(), d.int64(), d.int64(), d.int32()
    assert index == partition and d.done()
    return error, offset, epoch


def fetch_v9(port, partition, offset, current_leader_epoch):
    """(error, high_watermark, records bytes) of Fetch v9 for one partition."""
    body = (struct.pack(">iiiib", -1, 0, 1, 1 << 20, 0) + struct.pack(">ii", 0, -1)  # session 0, epoch -1
            + struct.pack(">i", 1) + kw.string(TOPIC) + struct.pack(">i", 1)
            + struct.pack(">iiqqi", partition, current_leader_epoch, offset, -1, 1 << 20)
            + struct.pack(">i", 0))  # forgotten topics
    d = kw.Decoder(kw.roundtrip(port, 1, 9, body))
    d.int32()  # throttle_time_ms
    assert d.int16() == 0
    d.int32()  # session_id
    assert d.int32() == 1 and d.string() == TOPIC and d.int32() == 1
    index, error, hw = d.int32(), d.int16(), d.int64()
    d.int64()  # last_stable_offset
    d.int64()  # log_start_offset
    d.array(lambda x: (x.int64(), x.int64()))  # aborted transactions
    size = d.int32()
    records = d.data[d.pos:d.pos + size] if size > 0 else b""
    assert index == partition
    return error, hw, records


def batch_epochs(records):
    """partitionLeaderEpoch of each RecordBatch in `records`."""
    out, pos = [], 0
    while pos + 17 <= len(records):
        length = struct.unpack_from(">i", records, pos + 8)[0]
        out.append(struct.unpack_from(">i", records, pos + 12)[0])
        pos += 12 + length
    return out


@test
def every_version_answers_epoch_zero_with_the_log_end(broker):
    for v in range(5):
        a = offset_for_leader_epoch(broker.kafka_port, v, [(TOPIC, 0, 0), (TOPIC, 1, 0)])
        assert a[(TOPIC, 0)] == (NONE, 0 if v >= 1 else None, PRODUCED), (v, a)
        # Partition 1 is empty: epoch 0 starts (and ends) at 0.
        assert a[(TOPIC, 1)] == (NONE, 0 if v >= 1 else None, 0), (v, a)


@test
def an_epoch_the_log_never_had_is_undefined(broker):
    for v in range(5):
        a = offset_for_leader_epoch(broker.kafka_port, v, [(TOPIC, 0, 3)])
        assert a[(TOPIC, 0)] == (NONE, -1 if v >= 1 else None, -1), (v, a)


@test
def unknown_partitions_and_topics_are_named(broker):
    a = offset_for_leader_epoch(broker.kafka_port, 4, [(TOPIC, 9, 0), ("no-such-topic", 0, 0)])
    assert a[(TOPIC, 9)] == (UNKNOWN_TOPIC, -1, -1), a
    assert a[("no-such-topic", 0)] == (UNKNOWN_TOPIC, -1, -1), a


@test
def current_leader_epoch_is_checked(broker):
    for v in (2, 3, 4):
        a = offset_for_leader_epoch(broker.kafka_port, v, [(TOPIC, 0, 0)], current_leader_epoch=5)
        assert a[(TOPIC, 0)] == (UNKNOWN_LEADER_EPOCH, -1, -1), (v, a)
        a = offset_for_leader_epoch(broker.kafka_port, v, [(TOPIC, 0, 0)], current_leader_epoch=0)
        assert a[(TOPIC, 0)] == (NONE, 0, PRODUCED), (v, a)


@test
def list_offsets_names_the_leader_epoch_and_checks_the_current_one(broker):
    assert list_offsets_v4(broker.kafka_port, 0, -1, -1) == (NONE, PRODUCED, 0)
    assert list_offsets_v4(broker.kafka_port, 0, -2, 0) == (NONE, 0, 0)
    assert list_offsets_v4(broker.kafka_port, 0, -1, 5) == (UNKNOWN_LEADER_EPOCH, -1, -1)


@test
def fetched_batches_carry_epoch_zero_and_fetch_checks_the_current_one(broker):
    error, hw, records = fetch_v9(broker.kafka_port, 0, 0, 0)
    assert (error, hw) == (NONE, PRODUCED), (error, hw)
    # The producer sent -1 (kafka_batches' default): the broker stamps its own.
    assert batch_epochs(records) == [0] * PRODUCED, batch_epochs(records)
    error, hw, records = fetch_v9(broker.kafka_port, 0, 0, 5)
    assert (error, records) == (UNKNOWN_LEADER_EPOCH, b""), (error, hw)


@test
def api_versions_lists_offset_for_leader_epoch(broker):
    err, ranges = kw.api_versions(broker.kafka_port)
    assert err == 0 and ranges.get(23) == (0, 4), ranges


def main():
    args = parse_args()
    with Broker(args.build_dir, topics_toml=f"[topics.{TOPIC}]\npartitions = 2\n") as broker:
        for i in range(PRODUCED):
            error, base = kw.produce(broker.kafka_port, TOPIC, 0, record_batch([f"v{i}".encode()]))
            assert (error, base) == (0, i), (error, base)
        failed = run_cases(broker, TESTS)
        checkpoint = os.path.join(broker.data_dir, TOPIC + "-0", "leader-epoch-checkpoint")
        with open(checkpoint) as f:
            text = f.read()
        if text != "0\n1\n0 0\n":
            print(f"FAIL checkpoint {checkpoint}: {text!r}")
            failed = 1
        else:
            print("PASS leader-epoch-checkpoint holds epoch 0 from offset 0")
        broker.stop()
        broker.start()
        failed |= run_cases(broker, [every_version_answers_epoch_zero_with_the_log_end])
    return failed


if __name__ == "__main__":
    sys.exit(main())
