"""Disk full, end to end: the broker's data dir is a small tmpfs of its own,
filled by a filler file.

- At run time: with the offset index's first page full and the disk then
  filled, produce one-record batches (each takes an index entry) until each
  partition refuses: the index, not the log, is what needs a new block; no
  signal, HTTP 507 `no_space` and Kafka KAFKA_STORAGE_ERROR (56), one
  "disk full" line per partition, consumers still read; with the filler gone
  produce works again, and after a SIGKILL and restart every acknowledged
  record is there, once, in order. Offset commits are refused too (HTTP
  507, Kafka COORDINATOR_NOT_AVAILABLE) and the previous offset stays.
- At start-up after a SIGKILL on a full disk: the broker starts, says "disk
  full" once per partition, serves every acknowledged record, refuses
  produce cleanly, and takes records again once space is freed.

Mounting needs root (CAP_SYS_ADMIN): without it the test exits 77, which
ctest reports as skipped, with the reason.
"""
import errno
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from http_test import call, ok  # noqa: E402
import kafka_wire as kw  # noqa: E402
from kafka_batches import record_batch  # noqa: E402
from keel_harness import Broker, parse_args, scratch_dir, wait_until  # noqa: E402

SKIP = 77
TOPIC = "full"
PARTITIONS = 2
STORAGE_ERROR = 56
COORDINATOR_NOT_AVAILABLE = 15
GROUP = "full-g"
# Only the offset index in the run-time case, so that the test knows when
# its first page (512 entries of 8 bytes) is full.
RUN_TIME_TOML = f"""
[topics.{TOPIC}]
partitions = {PARTITIONS}
retention = []
index = ["sparse-mmap"]

[topics.{TOPIC}.plugins.sparse-mmap]
interval_bytes = 0
"""
TOPIC_TOML = f"""
[topics.{TOPIC}]
partitions = {PARTITIONS}
retention = []

[topics.{TOPIC}.plugins.sparse-mmap]
interval_bytes = 0

[topics.{TOPIC}.plugins.timestamp]
interval_bytes = 0
"""


class Tmpfs:
    """A tmpfs of `size` bytes mounted on `path`, unmounted on exit."""

    def __init__(self, path, size):
        self.path = path
        self.size = size

    def __enter__(self):
        os.makedirs(self.path, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size},mode=0755", "keel-it", self.path],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(f"SKIP: cannot mount a tmpfs on {self.path} (needs root / CAP_SYS_ADMIN): "
                  f"{r.stderr.strip()}")
            sys.exit(SKIP)
        return self

    def __exit__(self, *exc):
        subprocess.run(["umount", "-l", self.path], check=False)

    def filler(self):
        return os.path.join(self.path, "filler")

    def fill(self, leave=0):
        """Takes every free block, then gives `leave` bytes (whole pages) back."""
        fd = os.open(self.filler(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            piece = 64 * 1024
            while piece > 0:
                try:
                    os.write(fd, b"f" * piece)
                except OSError as e:
                    assert e.errno == errno.ENOSPC, e
                    piece //= 2
            size = os.lseek(fd, 0, os.SEEK_END)
            os.ftruncate(fd, max(0, (size - leave) // 4096 * 4096))
        finally:
            os.close(fd)

    def free(self):
        os.unlink(self.filler())


def produce(broker, partition, value):
    """One record over HTTP: (status, offset or the error body)."""
    status, body, _ = call(broker, "POST", f"/topics/{TOPIC}/records",
                           {"records": [{"partition": partition, "value": value}]})
    if status == 200:
        return status, body["records"][0]["offset"]
    return status, body


def read_all(broker, partition):
    """(offset, value) of every record of the partition, over HTTP."""
    out, offset = [], 0
    while True:
        body = ok(broker, "GET", f"/topics/{TOPIC}/partitions/{partition}/records?offset={offset}"
                                 "&max_records=100000")
        out += [(r["offset"], r["value"]) for r in body["records"]]
        if body["next_offset"] >= body["high_watermark"]:
            return out
        offset = body["next_offset"]


def kafka_read_all(broker, partition):
    """Values of every record of the partition, read with kcat (a Kafka consumer)."""
    r = subprocess.run(["kcat", "-C", "-b", broker.bootstrap, "-t", TOPIC, "-p", str(partition), "-o", "beginning",
                        "-e", "-q", "-f", "%s\n"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def disk_full_lines(broker, since=0):
    return re.findall(rf"{TOPIC}-(\d+): disk full", broker.log_text()[since:])


def expect_refused(broker, partition):
    """A record of 16 KiB needs new blocks, whatever room the last page of
    the log has left."""
    status, body = produce(broker, partition, "r" * 16384)
    assert status == 507 and body["error"]["code"] == "no_space", (status, body)
    err, _ = kw.produce(broker.kafka_port, TOPIC, partition, record_batch([b"r" * 16384]), acks=-1)
    assert err == STORAGE_ERROR, f"Kafka produce to a full disk got error {err}, expected {STORAGE_ERROR}"


def expect_acknowledged_intact(broker, acked):
    for p in range(PARTITIONS):
        stored = read_all(broker, p)
        offsets = [o for o, _ in stored]
        assert offsets == list(range(len(stored))), f"partition {p}: offsets not contiguous"
        values = {v for _, v in stored}
        missing = [v for v in acked[p] if v not in values]
        assert not missing, f"partition {p}: {len(missing)} acknowledged records lost, e.g. {missing[:3]}"
        assert len(values) == len(stored), f"partition {p}: a record is stored twice"


def commit_over_http(broker, offset):
    status, _, _ = call(broker, "POST", f"/groups/{GROUP}/offsets",
                        {"offsets": [{"topic": TOPIC, "partition": 0, "offset": offset}]})
    return status


def committed(broker):
    return ok(broker, "GET", f"/groups/{GROUP}/offsets?topic={TOPIC}&partition=0")["offsets"][0]["offset"]


def expect_commits_refused(broker):
    """With the disk full, an offset commit cannot be made durable once the
    internal topic's last page is used up: HTTP 507, Kafka
    COORDINATOR_NOT_AVAILABLE (retriable), and the last acknowledged offset
    stays committed. Returns that offset."""
    acknowledged = committed(broker)
    for offset in range(acknowledged + 1, acknowledged + 2000):
        status = commit_over_http(broker, offset)
        if status != 200:
            break
        acknowledged = offset
    assert status == 507, f"HTTP commit to a full disk got {status}, expected 507"
    err = kw.offset_commit(broker.kafka_port, GROUP, TOPIC, 0, acknowledged + 1)
    assert err == COORDINATOR_NOT_AVAILABLE, f"Kafka OffsetCommit to a full disk got error {err}, expected 15"
    assert committed(broker) == acknowledged, "a commit that was refused changed the committed offset"
    assert broker.alive()
    return acknowledged


def partition_health(broker, partition):
    return ok(broker, "GET", f"/topics/{TOPIC}/partitions/{partition}")


def fill_index_page(broker, partition, acked):
    """Produces one-record batches until the offset index's first page is
    full (512 entries; batch n takes entry n - 1), choosing the size of the
    last one so that the log's last page keeps room for a small batch: the
    next batch then needs a new block for the index only."""
    n = 0
    while True:
        health = partition_health(broker, partition)
        entries = health["index_entries"]
        if entries == 512:
            room = 4096 - health["size_bytes"] % 4096
            assert room >= 300, f"test setup: only {room} bytes left in the log's last page"
            return
        value = f"before-{partition}-{n}"
        if entries == 511:
            room = 4096 - health["size_bytes"] % 4096
            if room < 600:  # end this batch ~100 bytes into the next page
                value += "x" * (room + 100 - 80 - len(value))
        status, offset = produce(broker, partition, value)
        assert status == 200, offset
        acked[partition].append(value)
        n += 1


def run_time(build_dir, work):
    """Fills the disk under a running broker until every partition refuses."""
    with Tmpfs(os.path.join(work, "mnt"), 16 << 20) as fs:
        broker = Broker(build_dir, RUN_TIME_TOML, http=True, data_dir=os.path.join(fs.path, "data"),
                        workdir=work)
        with broker:
            acked = {p: [] for p in range(PARTITIONS)}
            for p in range(PARTITIONS):
                fill_index_page(broker, p, acked)
            assert commit_over_http(broker, 1) == 200
            fs.fill()

            refused = set()
            for i in range(20000):
                if len(refused) == PARTITIONS:
                    break
                p = i % PARTITIONS
                if p in refused:
                    continue
                status, offset = produce(broker, p, f"filling-{p}-{i}")
                assert broker.alive(), "the broker died while the disk filled:\n" + broker.log_text()[-3000:]
                if status == 200:
                    acked[p].append(f"filling-{p}-{i}")
                else:
                    assert status == 507 and offset["error"]["code"] == "no_space", (status, offset)
                    refused.add(p)
            assert len(refused) == PARTITIONS, "the disk never ran full"
            index_refusals = re.findall(rf"{TOPIC}-(\d+): disk full: .* of index file '[^']*\.index'", broker.log_text())
            assert sorted(index_refusals) == [str(p) for p in range(PARTITIONS)], \
                f"expected the offset index of each partition to be the first file refused: {index_refusals}"
            for p in range(PARTITIONS):
                expect_refused(broker, p)
            assert broker.alive()
            lines = disk_full_lines(broker)
            assert sorted(lines) == [str(p) for p in range(PARTITIONS)], \
                f"expected one 'disk full' line per partition, got {lines}"
            print(f"run time: {sum(map(len, acked.values()))} records acknowledged; the refusals:")
            for line in broker.log_text().splitlines():
                if ": disk full:" in line:
                    print("  " + line[:300])
            expect_acknowledged_intact(broker, acked)
            for p in range(PARTITIONS):
                assert len(kafka_read_all(broker, p)) == len(read_all(broker, p)), "Kafka consumer read less"
            last = expect_commits_refused(broker)

            fs.free()
            assert commit_over_http(broker, last + 1) == 200
            assert kw.offset_commit(broker.kafka_port, GROUP, TOPIC, 0, last + 2) == 0
            assert committed(broker) == last + 2
            for p in range(PARTITIONS):
                status, offset = produce(broker, p, f"after-{p}")
                assert status == 200, f"produce after freeing space: {status} {offset}"
                acked[p].append(f"after-{p}")
            wait_until(lambda: len(re.findall(rf"{TOPIC}-\d+: disk space is back", broker.log_text())) == PARTITIONS,
                       10, "a 'disk space is back' line per partition")
            broker.kill()
            broker.start()
            expect_acknowledged_intact(broker, acked)


def start_up(build_dir, work):
    """SIGKILL on a full disk, then a restart on it."""
    with Tmpfs(os.path.join(work, "mnt"), 16 << 20) as fs:
        broker = Broker(build_dir, TOPIC_TOML, http=True, data_dir=os.path.join(fs.path, "data"),
                        workdir=work)
        acked = {p: [] for p in range(PARTITIONS)}
        broker.start()
        try:
            for i in range(300):
                p = i % PARTITIONS
                status, offset = produce(broker, p, f"kept-{p}-{i}")
                assert status == 200, offset
                acked[p].append(f"kept-{p}-{i}")
            fs.fill()
            broker.kill()

            since = len(broker.log_text())
            broker.start()
            lines = disk_full_lines(broker, since)
            assert sorted(lines) == [str(p) for p in range(PARTITIONS)], \
                f"expected one 'disk full' line per partition at start-up, got {lines}:\n" \
                + broker.log_text()[since:][-3000:]
            expect_acknowledged_intact(broker, acked)
            for p in range(PARTITIONS):
                assert sorted(kafka_read_all(broker, p)) == sorted(acked[p]), f"partition {p}: Kafka read differs"
                expect_refused(broker, p)
            assert disk_full_lines(broker, since) == lines, "a refused produce logged another 'disk full' line"

            fs.free()
            for p in range(PARTITIONS):
                status, offset = produce(broker, p, f"after-{p}")
                assert status == 200, f"produce after freeing space: {status} {offset}"
                acked[p].append(f"after-{p}")
            expect_acknowledged_intact(broker, acked)
            broker.stop()
        except BaseException:
            print("---- broker log (tail) ----\n" + broker.log_text()[-6000:])
            broker.kill()
            raise


def main():
    args = parse_args()
    for name, case in (("run time", run_time), ("start-up", start_up)):
        with scratch_dir("keel-it-diskfull-") as work:
            case(args.build_dir, work)
        print(f"ok: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
