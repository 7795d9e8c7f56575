"""Storage damage: the data directory of a stopped broker is damaged in each
way a failing disk or a mistaken operator can (a length field overwritten, a
flipped byte, a bad magic byte, a zeroed page, a closed segment cut short,
emptied or deleted, the last segment cut short, garbage index files), and the
restarted broker must:

- keep serving every record outside the damaged range, byte for byte, with
  the segments after the damage still there;
- keep its high watermark: no offset is handed out twice, a committed group
  offset keeps its meaning and lag stays right;
- refuse reads of the damaged offsets with a clear error (HTTP 500 `corrupt`
  saying where to skip to, Kafka KAFKA_STORAGE_ERROR), never serve them;
- name the file and offsets in its log and count the damage in /metrics.

The records are written by kcat (librdkafka, acks=all) and checked over HTTP
and the Kafka wire protocol."""
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import http.client
import traceback

import kafka_wire as kw
import segment_files
from keel_harness import Broker, parse_args, scratch_dir

TOPIC = "victim"
N = 3000
COMMITTED = 2500
TOPIC_TOML = f"""
[topics.{TOPIC}]
partitions = 1
segment_bytes = 16384
retention = []
flush_mode = "every-batch"
"""


def call(broker, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", broker.http_port, timeout=60)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        text = resp.read()
        return resp.status, (json.loads(text) if text else None)
    finally:
        conn.close()


def ok(broker, method, path, body=None):
    status, value = call(broker, method, path, body)
    assert status in (200, 201), f"{method} {path}: {status} {value}"
    return value


def high_watermark(broker):
    return ok(broker, "GET", f"/topics/{TOPIC}")["partitions"][0]["high_watermark"]


def read_all(broker, end):
    """offset -> value for every readable record below `end`, and the
    ranges the broker refused as damaged: [(first, skip_to)]."""
    records, refused = {}, []
    offset = 0
    while offset < end:
        status, value = call(broker, "GET", f"/topics/{TOPIC}/partitions/0/records?offset={offset}&max_records=1000")
        if status == 200:
            for r in value["records"]:
                records[r["offset"]] = r["value"]
            assert value["next_offset"] > offset, f"no progress at offset {offset}: {value}"
            offset = value["next_offset"]
            continue
        assert status == 500 and value["error"]["code"] == "corrupt", f"offset {offset}: {status} {value}"
        m = re.search(r"skip to offset (\d+)", value["error"]["message"])
        assert m, f"the error does not say where to go on: {value}"
        skip = int(m.group(1))
        assert skip > offset, value
        refused.append((offset, skip))
        offset = skip
    return records, refused


def kafka_fetch_error(port, offset):
    """Error code of a Fetch v4 of partition 0 at `offset`."""
    body = (struct.pack(">iiiib", -1, 0, 1, 1 << 20, 0) + kw.array([TOPIC], lambda t: kw.string(t) + kw.array(
        [0], lambda p: struct.pack(">iqi", p, offset, 1 << 20))))
    r = kw.Decoder(kw.roundtrip(port, 1, 4, body))
    r.int32()  # throttle
    assert r.int32() == 1 and r.string() == TOPIC
    assert r.int32() == 1
    assert r.int32() == 0
    return r.int16()


def segments(data_dir):
    d = os.path.join(data_dir, f"{TOPIC}-0")
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".log"))


def batches(path):
    """(position, base offset, size) of each batch of a segment file."""
    return [(pos, base, len(data)) for pos, base, _, data in segment_files.batches(path)]


def patch(path, pos, data):
    with open(path, "r+b") as f:
        f.seek(pos)
        f.write(data)


def middle_batch(data_dir, segment_index=1):
    seg = segments(data_dir)[segment_index]
    bs = batches(seg)
    return seg, bs[len(bs) // 2]


# Each damage: (name, function(data_dir) -> (file damaged, lost offsets
# allowed: a range, or None for no loss)).
def overwrite_length(data_dir):
    seg, (pos, base, size) = middle_batch(data_dir)
    patch(seg, pos + 8, b"\x00\x00\x10\x00")
    return seg, range(base, base + 200)


def flip_payload(data_dir):
    seg, (pos, base, size) = middle_batch(data_dir)
    with open(seg, "r+b") as f:
        f.seek(pos + size // 2)
        b = f.read(1)
        f.seek(pos + size // 2)
        f.write(bytes([b[0] ^ 0x21]))
    return seg, range(base, base + 200)


def bad_magic(data_dir):
    seg, (pos, base, size) = middle_batch(data_dir)
    patch(seg, pos + 16, b"\x01")
    return seg, range(base, base + 200)


def first_and_next(data_dir, index):
    segs = segments(data_dir)
    first = int(os.path.basename(segs[index])[:20])
    nxt = int(os.path.basename(segs[index + 1])[:20])
    return segs[index], range(first, nxt)


def zero_page(data_dir):
    seg, offsets = first_and_next(data_dir, 1)
    patch(seg, 8192, b"\x00" * 4096)
    return seg, offsets


def cut_closed(data_dir):
    seg, offsets = first_and_next(data_dir, 1)
    os.truncate(seg, os.path.getsize(seg) // 2)
    return seg, offsets


def empty_closed(data_dir):
    seg, offsets = first_and_next(data_dir, 1)
    os.truncate(seg, 0)
    return seg, offsets


def delete_closed(data_dir):
    seg, offsets = first_and_next(data_dir, 1)
    stem = seg[:-4]
    for f in os.listdir(os.path.dirname(seg)):
        path = os.path.join(os.path.dirname(seg), f)
        if path.startswith(stem + "."):
            os.remove(path)
    # The log names the segments around the gap.
    return segments(data_dir)[0], offsets


def cut_last(data_dir):
    seg = segments(data_dir)[-1]
    first = int(os.path.basename(seg)[:20])
    os.truncate(seg, os.path.getsize(seg) // 3)
    return seg, range(first, N)


def garbage_indexes(data_dir):
    rng = random.Random(7)
    d = os.path.join(data_dir, f"{TOPIC}-0")
    for f in os.listdir(d):
        if f.endswith(".index") or f.endswith(".timeindex"):
            path = os.path.join(d, f)
            patch(path, 0, bytes(rng.randrange(256) for _ in range(os.path.getsize(path))))
    return segments(data_dir)[0], None


DAMAGES = [overwrite_length, flip_payload, bad_magic, zero_page, cut_closed, empty_closed, delete_closed,
           cut_last, garbage_indexes]


def metric(broker, name):
    conn = http.client.HTTPConnection("127.0.0.1", broker.http_port, timeout=30)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    m = re.search(name + r'\{topic="' + TOPIC + r'",partition="0"\} (\S+)', text)
    return float(m.group(1)) if m else None


def check_damaged(args, pristine, work, damage):
    data_dir = os.path.join(work, damage.__name__)
    shutil.copytree(pristine["data_dir"], data_dir)
    seg, allowed = damage(data_dir)
    os.makedirs(os.path.join(work, damage.__name__ + "-run"))
    broker = Broker(args.build_dir, topics_toml=TOPIC_TOML, http=True, data_dir=data_dir,
                    workdir=os.path.join(work, damage.__name__ + "-run"))
    expected = pristine["records"]
    # Offline, before the broker sees it: keel-tool verify finds the damage.
    tool = os.path.join(args.build_dir, "kernel", "keel-tool")
    v = subprocess.run([tool, "verify", "-c", broker.config_path], capture_output=True, text=True, timeout=120)
    assert v.returncode in (0, 1), f"keel-tool verify failed: {v.stderr}"
    if allowed is not None:
        assert v.returncode == 1 and "DAMAGED" in v.stdout, \
            f"keel-tool verify missed the damage:\n{v.stdout}"
    if damage is flip_payload:
        out = os.path.join(work, "salvaged.log")
        sv = subprocess.run([tool, "salvage", seg, out], capture_output=True, text=True, timeout=120)
        assert sv.returncode == 0 and "left out: offsets" in sv.stdout, sv.stdout + sv.stderr
        assert os.path.getsize(out) < os.path.getsize(seg)
    with broker:
        for round_ in ("first start", "second start"):
            assert high_watermark(broker) >= N, f"{round_}: high watermark fell to {high_watermark(broker)}"
            records, refused = read_all(broker, high_watermark(broker))
            lost = sorted(set(expected) - set(records))
            for off, value in records.items():
                if off in expected:
                    assert value == expected[off], f"{round_}: offset {off} altered: {value!r}"
            if allowed is None:
                assert not lost and not refused, f"{round_}: lost {lost[:10]} refused {refused}"
            else:
                assert lost, f"{round_}: damage went unnoticed"
                assert all(o in allowed for o in lost), f"{round_}: lost {lost[0]}..{lost[-1]} beyond {allowed}"
                assert refused, f"{round_}: lost offsets were skipped silently"
                assert kafka_fetch_error(broker.kafka_port, lost[0]) == 56, "Kafka fetch of damage: no storage error"
                log = broker.log_text()
                assert os.path.basename(seg) in log, f"the log does not name {seg}"
                assert (metric(broker, "keel_log_damaged_ranges") or 0) >= 1, "no damage metric"
            if round_ == "first start":
                # No offset reused: the next record goes after everything acknowledged.
                got = ok(broker, "POST", f"/topics/{TOPIC}/records",
                         {"records": [{"value": "after-damage", "partition": 0}]})
                assert got["records"][0]["offset"] == N, got
                lag = ok(broker, "GET", "/groups/g/lag")
                assert lag["total_lag"] == N + 1 - COMMITTED, lag
                broker.stop()
                broker.start()
    print(f"ok: {damage.__name__}: {'no loss' if allowed is None else str(len(lost)) + ' offsets unreadable'}"
          f", {len(refused)} refused range(s)")


def main():
    args = parse_args()
    with scratch_dir("keel-damage-") as work:
        os.makedirs(os.path.join(work, "pristine"))
        broker = Broker(args.build_dir, topics_toml=TOPIC_TOML, http=True, workdir=os.path.join(work, "pristine"))
        with broker:
            lines = "".join(f"key-{i % 17}:value-{i}-{'x' * (i % 50)}\n" for i in range(N))
            p = subprocess.run(["kcat", "-P", "-b", broker.bootstrap, "-t", TOPIC, "-p", "0", "-K:", "-X", "acks=all",
                                "-X", "linger.ms=2", "-X", "batch.num.messages=20"],
                               input=lines, capture_output=True, text=True, timeout=120)
            assert p.returncode == 0, p.stderr
            assert high_watermark(broker) == N
            ok(broker, "POST", "/groups/g/offsets", {"offsets": [{"topic": TOPIC, "partition": 0, "offset": COMMITTED}]})
            records, refused = read_all(broker, N)
            assert len(records) == N and not refused
        assert len(segments(broker.data_dir)) >= 4, segments(broker.data_dir)
        pristine = {"data_dir": broker.data_dir, "records": records}
        failures = 0
        for damage in DAMAGES:
            try:
                check_damaged(args, pristine, work, damage)
            except Exception:
                failures += 1
                print(f"FAIL: {damage.__name__}")
                traceback.print_exc()
        if failures:
            raise SystemExit(f"{failures} damage case(s) failed")


if __name__ == "__main__":
    main()
