"""Key compaction (retention `compaction`, Kafka's cleanup.policy=compact)
end to end, with kcat and kafka-python.

- Codecs: a gzip and a zstd topic with 4 KiB segments get many updates of a
  few hundred keys and some tombstones from `kcat -P -K: -Z`. Once the
  cleaner has run, a full consume must show: offsets ascending, every
  record exactly the one produced at that offset, each key's newest record
  at its original offset, no older record of a key before the active
  segment, and the stored batches still in their codec (keel-tool dump, CRCs
  checked). The zstd topic keeps tombstones (delete_retention_ms of an hour)
  but drops the values they delete; the gzip topic's tombstones, and so its
  deleted keys, disappear once delete_retention_ms has passed and the
  cleaner runs again.
- A record without a key is refused by a compacted topic (kcat reports
  INVALID_RECORD, kafka-python's send fails) and nothing of it is stored.
- Crash safety: for each step of the kernel's segment swap, a broker started
  with KEEL_TEST_CRASH_AT=<step> SIGKILLs itself there; after a restart the
  log must read cleanly, hold exactly the records the step implies (all of
  them before the point of no return, the first rewrite rolled forward
  after it), bring back no deleted value, and compaction must then finish.
"""
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import segment_files  # noqa: E402
from keel_harness import Broker, parse_args, scratch_dir, wait_until  # noqa: E402

try:
    import kafka  # noqa: F401
except ImportError:  # Debian's python3-kafka lives outside pyenv's path
    sys.path.append("/usr/lib/python3/dist-packages")
from kafka import KafkaProducer  # noqa: E402
from kafka.errors import KafkaError  # noqa: E402

CODEC_IDS = {"gzip": 1, "zstd": 4}
SEGMENT_BYTES = 4096
# Steps of kernel/storage/log_rewriter.cpp's commit, in order; a crash before
# "after-cleaned-to-swap" rolls the rewrite back, one after rolls it forward.
CRASH_STEPS = ["after-first-write", "before-renames", "after-cleaned-to-swap", "after-old-renamed",
               "after-swap-to-final", "before-clean-offset", "after-clean-offset"]
ROLLED_BACK = {"after-first-write", "before-renames"}
SEGMENT_LOG = re.compile(r"^(\d{20})\.log$")
LEFTOVER = re.compile(r"\.(cleaned|swap|deleted)(\.|$)|\.replaced-end$")


def run(cmd, timeout=60, input_text=None, check=True):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input_text)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited with {p.returncode}:\n{p.stderr[-3000:]}")
    return p


def now_ms():
    return int(time.time() * 1000)


# ------------------------------------------------------------ workloads


class Workload:
    """Records in produce order; the record at list index i gets offset i
    (one producer, one partition, a fresh topic)."""

    def __init__(self):
        self.records = []  # (key, value or None)

    def add(self, key, value):
        self.records.append((key, value))

    def lines(self, start=0):
        # `kcat -K: -Z`: an empty value after the delimiter is sent as NULL.
        return "".join(f"{k}:{'' if v is None else v}\n" for k, v in self.records[start:])

    def last_offsets(self):
        last = {}
        for offset, (k, _) in enumerate(self.records):
            last[k] = offset
        return last


def keyed_workload(rng, tag, keys, updates, deleted, revived):
    """`keys` keys, each written once first, then `updates` random updates;
    tombstones for `deleted` (never written again) and `revived` (written
    again later) in the middle of the stream."""
    w = Workload()
    names = [f"k{i:04d}" for i in range(keys)]
    gone = set()

    def value():
        return f"{tag}-{len(w.records):06d}-{rng.getrandbits(40):010x}"

    for k in names:
        w.add(k, value())
    for i in range(updates):
        if i == updates // 2:
            for k in deleted + revived:
                w.add(k, None)
            gone.update(deleted)
            for k in revived:
                w.add(k, value())
        k = rng.choice(names)
        if k not in gone:
            w.add(k, value())
    return w


def produce(broker, topic, text, codec):
    # Small batches so that the 4 KiB segments hold many batches each.
    run(["kcat", "-b", broker.bootstrap, "-P", "-t", topic, "-p", "0", "-K:", "-Z", "-z", codec,
         "-X", "batch.num.messages=20", "-X", "linger.ms=2"], input_text=text, timeout=120)


def consume(broker, topic):
    """All records of topic-0 as (offset, key, value or None)."""
    out = run(["kcat", "-b", broker.bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q",
               "-Z", "-f", "%o\t%k\t%S\t%s\n"]).stdout
    got = []
    for line in out.splitlines():
        offset, key, size, value = line.split("\t", 3)
        got.append((int(offset), key, None if int(size) < 0 else value))
    return got


def partition_dir(broker, topic):
    return os.path.join(broker.data_dir, f"{topic}-0")


def segment_bases(broker, topic):
    bases = []
    for name in os.listdir(partition_dir(broker, topic)):
        m = SEGMENT_LOG.match(name)
        if m:
            bases.append(int(m.group(1)))
    return sorted(bases)


def subdir(workdir, name):
    path = os.path.join(workdir, name)
    os.makedirs(path, exist_ok=True)
    return path


def log_bytes(path):
    """Bytes of batches in a partition's segment files (an active file may
    be longer than its data: segment_files)."""
    return sum(segment_files.data_size(p) for p in segment_files.segment_logs(path))


# ------------------------------------------------------------ checks


def check_log(w, got, tombstones, what):
    """What any state of a compacting log must satisfy. `tombstones`:
    "kept" (each key's final tombstone is there), "gone" (deleted keys have
    no record at all) or None (either)."""
    offsets = [o for o, _, _ in got]
    assert all(a < b for a, b in zip(offsets, offsets[1:])), f"{what}: offsets do not ascend"
    for o, k, v in got:
        assert 0 <= o < len(w.records), f"{what}: offset {o} was never produced"
        assert (k, v) == w.records[o], f"{what}: offset {o} holds {k}={v!r}, produced {w.records[o]!r}"
    last_seen = {}
    for o, k, _ in got:
        last_seen[k] = o
    for k, last in w.last_offsets().items():
        deleted = w.records[last][1] is None
        if not deleted or tombstones == "kept":
            assert last_seen.get(k) == last, \
                f"{what}: key {k}'s newest record (offset {last}) is missing; last seen at {last_seen.get(k)}"
        elif tombstones == "gone":
            assert k not in last_seen, f"{what}: deleted key {k} still has a record at offset {last_seen[k]}"
        else:
            assert last_seen.get(k, last) == last, \
                f"{what}: deleted key {k} came back: offset {last_seen[k]} without its tombstone at {last}"


def duplicates_before(got, end):
    """Keys with more than one record below offset `end`."""
    seen, dups = set(), set()
    for o, k, _ in got:
        if o < end:
            (dups if k in seen else seen).add(k)
    return dups


def wait_compacted(broker, topic, w, tombstones, timeout=40):
    """Waits until no key has an older record before the active segment and
    the tombstones are as expected; returns the final consume."""
    state = {}

    def done():
        got = consume(broker, topic)
        active = segment_bases(broker, topic)[-1]
        check_log(w, got, None, f"{topic} while compacting")
        state.update(got=got, active=active)
        if duplicates_before(got, active):
            return False
        if tombstones == "gone":
            return not any(v is None for o, _, v in got if o < active)
        return True

    wait_until(done, timeout, f"compaction of {topic}")
    check_log(w, state["got"], tombstones, f"{topic} compacted")
    return state["got"], state["active"]


def dump_segments(build_dir, pdir, codec_id=None):
    """keel-tool dump on every segment: all batches intact, and (with
    `codec_id`) every batch holding records uses that codec. Returns the
    number of batches whose records no longer fill their offset span."""
    tool = os.path.join(build_dir, "kernel", "keel-tool")
    rewritten = 0
    for name in sorted(os.listdir(pdir)):
        if not SEGMENT_LOG.match(name):
            continue
        out = run([tool, "dump", os.path.join(pdir, name)]).stdout
        for line in out.splitlines():
            m = re.match(r"position \d+ offsets (\d+)\.\.(\d+) records (\d+) bytes \d+ codec (\d+) "
                         r"max_timestamp -?\d+ (.*)$", line)
            assert m, f"{name}: unexpected keel-tool dump line: {line}"
            first, last, records, codec, state = int(m[1]), int(m[2]), int(m[3]), int(m[4]), m[5]
            assert state == "ok", f"{name}: {line}"
            # librdkafka sends a batch uncompressed when compressing does not
            # shrink it, which happens to a lone small record (timing decides
            # whether the first one goes alone): only those may be codec 0.
            if codec_id is not None and records > 0 and not (codec == 0 and last == first):
                assert codec == codec_id, f"{name}: batch {first}..{last} has codec {codec}, expected {codec_id}"
            if records < last - first + 1:
                rewritten += 1
    return rewritten


def assert_no_leftovers(pdir, what):
    left = [n for n in os.listdir(pdir) if LEFTOVER.search(n)]
    assert not left, f"{what}: files of an interrupted rewrite remain: {left}"


# ------------------------------------------------------------ tests


def compacted_topic(name, delete_retention_ms, extra=""):
    return (f"[topics.{name}]\npartitions = 1\nsegment_bytes = {SEGMENT_BYTES}\nretention = [\"compaction\"]\n"
            f"[topics.{name}.plugins.compaction]\nmin_cleanable_dirty_ratio = 0.0\n"
            f"delete_retention_ms = {delete_retention_ms}\n{extra}")


def rewrite_metrics(broker):
    """{(name, label text): value} of the keel_log_rewrite_* samples on /metrics."""
    with urllib.request.urlopen(broker.http_url + "/metrics", timeout=10) as r:
        text = r.read().decode()
    return {(m.group(1), m.group(2)): float(m.group(3))
            for m in re.finditer(r"^(keel_log_rewrite_\w+)\{([^}]*)\} (\S+)$", text, re.M)}


def check_rewrite_metrics(broker, topics):
    """After compaction ran: runs counted, bytes read and written, no run
    left in progress, the last one at ratio 1 with a duration and a rate."""
    samples = rewrite_metrics(broker)
    for topic in topics:
        by_topic = f'topic="{topic}",strategy="compaction"'
        by_partition = f'topic="{topic}",partition="0",strategy="compaction"'
        assert samples.get(("keel_log_rewrite_runs_total", by_topic), 0) > 0, f"{topic}: no run in {samples}"
        assert samples.get(("keel_log_rewrite_bytes_read_total", by_topic), 0) > 0, f"{topic}: nothing read"
        assert samples.get(("keel_log_rewrite_bytes_written_total", by_topic), 0) > 0, f"{topic}: nothing written"
        # A run may be going on right now (the producer's last segments):
        # then the ratio is on its way, else the last run ended at 1.
        running = samples.get(("keel_log_rewrite_in_progress", by_partition))
        ratio = samples.get(("keel_log_rewrite_progress_ratio", by_partition))
        assert running in (0, 1) and ratio is not None and 0 <= ratio <= 1, (topic, running, ratio)
        assert running == 1 or ratio == 1, f"{topic}: no run going, yet ratio {ratio}"
        assert samples.get(("keel_log_rewrite_last_duration_seconds", by_partition), 0) > 0, topic
        assert samples.get(("keel_log_rewrite_last_rate_bytes_per_second", by_partition), 0) > 0, topic
        print(f"{topic}: /metrics: {samples[('keel_log_rewrite_runs_total', by_topic)]:.0f} rewrite run(s), "
              f"{samples[('keel_log_rewrite_bytes_read_total', by_topic)]:.0f} bytes read")


def test_codecs(args, workdir):
    rng = random.Random(5)
    workloads = {}
    for codec in CODEC_IDS:
        workloads[codec] = keyed_workload(rng, codec, keys=300, updates=12000,
                                          deleted=[f"k{i:04d}" for i in range(0, 20)],
                                          revived=[f"k{i:04d}" for i in range(20, 40)])
    # gzip: tombstones expire after 1.5 s; zstd: they stay for the test.
    topics = compacted_topic("cz-gzip", 1500) + compacted_topic("cz-zstd", 3600000)
    broker = Broker(args.build_dir, topics_toml=topics, broker_toml="retention_check_ms = 200",
                    workdir=subdir(workdir, "codecs"), http=True)
    with broker:
        produced_at = {}
        for codec, w in workloads.items():
            produce(broker, f"cz-{codec}", w.lines(), codec)
            produced_at[codec] = now_ms()
        for codec, w in workloads.items():
            topic = f"cz-{codec}"
            got, active = wait_compacted(broker, topic, w, "kept" if codec == "zstd" else None)
            print(f"{topic}: {len(w.records)} records -> {len(got)} after compaction "
                  f"(active segment from {active}), {log_bytes(partition_dir(broker, topic))} bytes of log")
        check_rewrite_metrics(broker, [f"cz-{codec}" for codec in workloads])
        # Tombstones go only when a pass runs after delete_retention_ms:
        # wait for that time, then give the cleaner new dirty segments.
        w = workloads["gzip"]
        wait_until(lambda: now_ms() > produced_at["gzip"] + 1500 + 50, 10, "delete_retention_ms to pass")
        start = len(w.records)
        for i in range(2000):
            w.add(f"f{i % 40:03d}", f"filler-{len(w.records):06d}-{rng.getrandbits(64):016x}")
        produce(broker, "cz-gzip", w.lines(start), "gzip")
        got, _ = wait_compacted(broker, "cz-gzip", w, "gone")
        print(f"cz-gzip: deleted keys gone after delete_retention_ms; {len(got)} records remain")
    for codec, codec_id in CODEC_IDS.items():
        rewritten = dump_segments(args.build_dir, partition_dir(broker, f"cz-{codec}"), codec_id)
        assert rewritten > 0, f"cz-{codec}: no batch on disk was rewritten by compaction"
        print(f"cz-{codec}: keel-tool dump: all batches intact, {rewritten} rewritten, all in codec {codec_id}")


def test_null_key_refused(args, workdir):
    # Produce <= v7 has no error message field, so the reason is only in the
    # broker's log, at debug level (client errors are not warnings).
    broker = Broker(args.build_dir, topics_toml=compacted_topic("cz-nokey", 0),
                    broker_toml='retention_check_ms = 200\nlog_level = "debug"', workdir=subdir(workdir, "nokey"))
    with broker:
        p = run(["kcat", "-b", broker.bootstrap, "-P", "-t", "cz-nokey", "-p", "0"],
                input_text="no key here\n", check=False)
        # Kafka's INVALID_RECORD (87), as librdkafka words it.
        assert "failed to validate record" in p.stderr, f"kcat did not report the refusal:\n{p.stderr[-2000:]}"
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, retries=0, acks="all")
        try:
            future = producer.send("cz-nokey", value=b"no key either", partition=0)
            try:
                future.get(timeout=30)
                raise AssertionError("kafka-python: a record without a key was accepted by a compacted topic")
            except KafkaError as e:
                print(f"kafka-python: unkeyed send refused: {e!r}")
            producer.send("cz-nokey", key=b"k", value=b"keyed", partition=0).get(timeout=30)
        finally:
            producer.close()
        got = consume(broker, "cz-nokey")
        assert got == [(0, "k", "keyed")], f"cz-nokey holds {got}; only the keyed record should be there"
        assert "batch #0, record #0 for cz-nokey-0" in broker.log_text() and \
            "null key and the topic is compacted" in broker.log_text(), \
            "the broker log does not say why the record was refused"
    print(f"null key refused; kcat said: {p.stderr.strip().splitlines()[-1]}")


def crash_workload():
    """Keys written once come first, so the first segment keeps records and
    the first rewrite writes before it commits."""
    w = Workload()
    rng = random.Random(7)
    for i in range(120):
        w.add(f"s{i:03d}", f"static-{i:03d}")
    w2 = keyed_workload(rng, "c", keys=100, updates=3000, deleted=[f"k{i:04d}" for i in range(10)],
                        revived=[f"k{i:04d}" for i in range(10, 20)])
    w.records += w2.records
    return w


def test_crash_steps(args, workdir):
    w = crash_workload()
    # The preparing run must not compact: every record is younger than the lag.
    base = Broker(args.build_dir, topics_toml=compacted_topic("crash", 0, "min_compaction_lag_ms = 3600000\n"),
                  broker_toml="retention_check_ms = 200", workdir=subdir(workdir, "prep"))
    with base:
        produce(base, "crash", w.lines(), "gzip")
        wait_until(lambda: len(consume(base, "crash")) == len(w.records), 30, "the crash data to be readable")
    assert len(segment_bases(base, "crash")) > 5, "crash data should span several segments"
    check_log(w, consume_stopped(args, base.data_dir), "kept", "prepared crash data")

    for step in CRASH_STEPS:
        t0 = time.monotonic()
        step_dir = os.path.join(workdir, step)
        data = os.path.join(step_dir, "data")
        shutil.copytree(base.data_dir, data)
        crasher = Broker(args.build_dir, topics_toml=compacted_topic("crash", 0), kafka=False,
                         broker_toml="retention_check_ms = 200", data_dir=data, workdir=step_dir,
                         env={"KEEL_TEST_CRASH_AT": step})
        try:
            crasher.start()
        except AssertionError:
            if crasher.proc is None or crasher.proc.returncode != -signal.SIGKILL:
                raise  # anything but the injected crash during start-up
        wait_until(lambda: crasher.proc.poll() is not None, 30, f"the broker to crash at {step}")
        assert crasher.proc.returncode == -signal.SIGKILL, \
            f"{step}: broker exited with {crasher.proc.returncode}, not SIGKILL:\n{crasher.log_text()[-3000:]}"
        assert f"KEEL_TEST_CRASH_AT={step}" in crasher.log_text(), f"{step}: the broker died elsewhere"

        # What recovery made of the crash, before any new compaction.
        got = consume_stopped(args, data)
        check_log(w, got, None, f"after a crash at {step}")
        assert_no_leftovers(os.path.join(data, "crash-0"), f"after a crash at {step}")
        if step in ROLLED_BACK:
            assert len(got) == len(w.records), \
                f"{step}: the rewrite should have rolled back, but {len(w.records) - len(got)} records are gone"
        else:
            assert len(got) < len(w.records), f"{step}: the committed rewrite was not rolled forward"
        dump_segments(args.build_dir, os.path.join(data, "crash-0"), CODEC_IDS["gzip"])

        # And compaction finishes after the restart.
        broker = Broker(args.build_dir, topics_toml=compacted_topic("crash", 0),
                        broker_toml="retention_check_ms = 200", data_dir=data, workdir=step_dir)
        with broker:
            final, _ = wait_compacted(broker, "crash", w, "gone")
        assert_no_leftovers(os.path.join(data, "crash-0"), f"after compacting past a crash at {step}")
        dump_segments(args.build_dir, os.path.join(data, "crash-0"), CODEC_IDS["gzip"])
        print(f"crash at {step}: recovered {len(got)} of {len(w.records)} records, compacted to {len(final)} "
              f"({time.monotonic() - t0:.1f} s)")
        shutil.rmtree(step_dir, ignore_errors=True)


def consume_stopped(args, data_dir):
    """Reads topic crash-0 with a broker that never compacts (its retention
    check never comes), so the log is seen exactly as recovery left it."""
    workdir = tempfile.mkdtemp(prefix="keel-cz-read-")
    try:
        broker = Broker(args.build_dir, topics_toml=compacted_topic("crash", 0),
                        broker_toml="retention_check_ms = 3600000", data_dir=data_dir, workdir=workdir)
        with broker:
            return consume(broker, "crash")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    args = parse_args()
    t0 = time.monotonic()
    with scratch_dir("keel-compaction-") as workdir:
        test_codecs(args, workdir)
        test_null_key_refused(args, workdir)
        test_crash_steps(args, workdir)
    print(f"compaction_test: all passed in {time.monotonic() - t0:.1f} s")


if __name__ == "__main__":
    main()
