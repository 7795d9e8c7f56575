#!/usr/bin/python3
"""Writes corpus/kafka_request/wire_*: flexible-version (KIP-482) request
frames that the recorded clients do not send (librdkafka 2.0.2 and
kafka-python 2.0.2 stop below most flexible versions), built by the
wire-level test's encoders (tests/integration/kafka_versions_test.py), with
unknown tagged fields, without the 4-byte size: what Connection::dispatch
receives.

  /usr/bin/python3 tests/fuzz/flexible_kafka_seeds.py
"""
import os
import struct
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "integration"))
import kafka_versions_test as kv  # noqa: E402
import kafka_wire as kw  # noqa: E402
from kafka_batches import record_batch  # noqa: E402


def main():
    t = kv.TOPIC
    bodies = {
        "metadata_v12": (3, 12, kv.metadata_body(12, [t, None], topic_tags=kv.UNKNOWN_TAGS, tags=kv.UNKNOWN_TAGS)),
        "metadata_v10": (3, 10, kv.metadata_body(10, [t], include_ops=True)),
        "produce_v9": (0, 9, kv.produce_body(9, t, 0, record_batch([b"seed"]))),
        "fetch_v12": (1, 12, kv.fetch_body(12, 0, 0, {0: kw.compact_string("cluster")})),
        "list_offsets_v6": (2, 6, struct.pack(">ib", -1, 0) + kw.compact_array(
            [t], lambda n: kw.compact_string(n) + kw.compact_array(
                [0], lambda p: struct.pack(">iiq", p, -1, -1) + kw.tags(kv.UNKNOWN_TAGS)) + kw.tags()) + kw.tags()),
        "find_coordinator_v4": (10, 4, b"\x00" + kw.compact_array(["g1", "g2"], kw.compact_string) + kw.tags()),
        "init_producer_id_v4": (22, 4, kw.compact_string(None) + struct.pack(">iqh", 60000, 1000, 0) + kw.tags()),
    }
    out_dir = os.path.join(here, "corpus", "kafka_request")
    for name, (key, version, body) in bodies.items():
        frame = kw.flexible_request_frame(key, version, 1, body, header_tags=kv.UNKNOWN_TAGS)
        with open(os.path.join(out_dir, "wire_" + name), "wb") as f:
            f.write(frame[4:])
    acl_seeds = write_acl_seeds(out_dir)
    print(f"wrote {len(bodies) + acl_seeds} seeds to {out_dir}")


def write_acl_seeds(out_dir):
    """DescribeAcls (29), CreateAcls (30) and DeleteAcls (31), v0-3, built by
    the authorization test's encoders (tests/integration/authz_test.py)."""
    import authz_test as az  # noqa: E402  (imports kafka-python: only when writing seeds)
    binding = (2, "orders", 4, "User:alice", "*", 4, 3)  # TOPIC, PREFIXED, WRITE, ALLOW
    written = 0
    for version in range(4):
        e = kw.Encoder(az.flexible(version))
        one = az.filter_bytes(e, version, binding) + e.tags()
        bodies = {29: one + e.tags(), 30: e.array([binding], lambda c: one) + e.tags(),
                  31: e.array([binding, binding], lambda c: one) + e.tags()}
        for key, body in bodies.items():
            frame = (kw.flexible_request_frame(key, version, 1, body) if az.flexible(version)
                     else kw.request_frame(key, version, 1, body))
            with open(os.path.join(out_dir, f"wire_acls_{key}_v{version}"), "wb") as f:
                f.write(frame[4:])
            written += 1
    return written


if __name__ == "__main__":
    main()
