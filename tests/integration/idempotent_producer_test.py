"""Idempotent producers end to end: real clients and raw wire requests
against a broker that is killed (SIGKILL) and stopped (SIGTERM) while they
produce. Every acknowledged record must be stored exactly once.

- librdkafka (enable.idempotence) on 3 partitions with small segments, so
  segments roll while it produces; 3 SIGKILLs and 1 SIGTERM at seeded random
  progress points (the seed is printed; KEEL_IT_SEED=N repeats a run).
  Afterwards every value is stored once, none is missing, and each
  partition holds its values in the order they were produced.
- kafkajs (idempotent: true, acks -1) across 3 SIGKILLs at seeded random
  points: every acknowledged record once, in order per partition. kafkajs is
  installed from npm into the build tree on first use; without node/npm or
  the package the test fails and says what to install.
- Raw Produce/InitProducerId requests (kafka_wire.py): producer ids never
  repeat, also across SIGKILL and clean restarts; a retried batch is answered
  with error 0 and its original base offset and stored once; a sequence gap
  gets OUT_OF_ORDER_SEQUENCE_NUMBER (45); an older epoch INVALID_PRODUCER_EPOCH
  (47) once a newer one wrote; a producer unknown to the partition sending a
  sequence above 0 UNKNOWN_PRODUCER_ID (59); duplicates are still detected,
  epochs still fenced and sequences still continue after a SIGKILL and after
  a clean restart.
"""
import collections
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_wire as kw  # noqa: E402
from client_programs import librdkafka_program  # noqa: E402
from kafka_batches import idempotent_batch  # noqa: E402
from keel_harness import Broker, parse_args, scratch_dir, wait_until  # noqa: E402

NONE, OUT_OF_ORDER, FENCED, UNKNOWN_PRODUCER = 0, 45, 47, 59
KAFKAJS_VERSION = "2"


def run(cmd, timeout=120, cwd=None):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited with {p.returncode}:\n{p.stdout[-2000:]}{p.stderr[-3000:]}")
    return p.stdout


# ------------------------------------------------------------ shared parts


class Client:
    """A producer program in the background. `parse(line)` turns each stdout
    line into progress (records acknowledged so far) or None."""

    def __init__(self, cmd, parse):
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.progress = 0
        self.lines = []
        self._stderr = []
        self._parse = parse
        # Both pipes are drained as the client writes: a client blocked on a
        # full stderr pipe would stop producing.
        self._readers = [threading.Thread(target=self._read, daemon=True),
                         threading.Thread(target=lambda: self._stderr.extend(self.proc.stderr), daemon=True)]
        for t in self._readers:
            t.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            n = self._parse(line)
            if n is not None:
                self.progress = max(self.progress, n)

    def stderr(self):
        return "".join(self._stderr)[-3000:]

    def finish(self, timeout):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"producer still running after {timeout}s (progress {self.progress}):\n"
                                 + self.stderr())
        finally:
            for t in self._readers:
                t.join(timeout=10)
        return self.proc.returncode, self.stderr()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def restart_plan(rng, total, signals):
    """Progress points (between 10 % and 85 % of `total`) paired with the
    signals in a random order: when to stop the broker, and how."""
    points = sorted(rng.sample(range(total // 10, total * 85 // 100), len(signals)))
    order = list(signals)
    rng.shuffle(order)
    return list(zip(points, order))


def restart_during(broker, client, plan, what):
    """Stops the broker as the plan says while `client` produces, restarting
    it each time."""
    for i, (point, signal) in enumerate(plan):
        wait_until(lambda: client.progress >= point or client.proc.poll() is not None, 120,
                   f"{what}: {point} records acknowledged")
        assert client.proc.poll() is None, (f"{what}: the producer ended (exit {client.proc.returncode}) before "
                                            f"restart {i + 1} at {point}; stderr:\n{client.stderr()}")
        if signal == "SIGKILL":
            broker.kill()
        else:
            broker.stop()
        broker.start()
        print(f"{what}: {signal} at {client.progress} records acknowledged (planned {point}), restarted")


def stored_values(broker, topic):
    """{partition: [value, ...]} in offset order, read with kcat."""
    out = run(["kcat", "-b", broker.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%p %s\n"])
    by_partition = collections.defaultdict(list)
    for line in out.splitlines():
        p, value = line.split(" ", 1)
        by_partition[int(p)].append(value)
    return by_partition


def check_exactly_once(by_partition, acknowledged, prefix, what):
    """Every acknowledged value stored exactly once; no value stored twice
    (acknowledged or not); values of the producer only; each partition in
    the order produced (the values are numbered in produce order)."""
    stored = [v for vs in by_partition.values() for v in vs]
    counts = collections.Counter(stored)
    dups = sorted(v for v, c in counts.items() if c > 1)
    missing = sorted(set(acknowledged) - set(stored))
    foreign = sorted(v for v in counts if not v.startswith(prefix))
    assert not dups, f"{what}: {len(dups)} value(s) stored more than once, e.g. {dups[:5]}"
    assert not missing, f"{what}: {len(missing)} acknowledged value(s) missing, e.g. {missing[:5]}"
    assert not foreign, f"{what}: values no producer sent: {foreign[:5]}"
    for p, values in sorted(by_partition.items()):
        numbers = [int(v[len(prefix):]) for v in values]
        assert numbers == sorted(numbers), f"{what}: partition {p} holds its values out of produce order"
    return len(stored)


def segment_counts(broker, topic, partitions):
    return [len([f for f in os.listdir(os.path.join(broker.data_dir, f"{topic}-{p}")) if f.endswith(".log")])
            for p in range(partitions)]


# ---------------------------------------------------------------- librdkafka


def librdkafka_across_restarts(args, workdir, rng):
    topic, partitions, count = "rdk", 3, 20000
    # ~30 librdkafka batches per 16 KiB segment: every partition rolls many
    # times, so recovery starts from producer snapshots and replays after them.
    broker = Broker(args.build_dir, workdir=workdir,
                    topics_toml=f"[topics.{topic}]\npartitions = {partitions}\nsegment_bytes = 16384\n")
    with broker:
        exe = librdkafka_program(args, "idempotent_producer", workdir)
        client = Client([exe, broker.bootstrap, topic, str(count), "100"],
                        lambda line: int(line.split()[1]) if line.startswith("progress ") else None)
        try:
            plan = restart_plan(rng, count, ["SIGKILL"] * 3 + ["SIGTERM"])
            restart_during(broker, client, plan, "librdkafka")
            rc, stderr = client.finish(180)
        finally:
            client.kill()
        summary = [line for line in client.lines if line.startswith("summary:")]
        assert rc == 0, f"librdkafka producer failed ({summary}):\n{stderr[-3000:]}"
        by_partition = stored_values(broker, topic)
        expected = [f"msg-{i:06d}" for i in range(count)]
        stored = check_exactly_once(by_partition, expected, "msg-", "librdkafka")
        assert stored == count, f"librdkafka: {stored} records stored, {count} produced"
        assert len(by_partition) == partitions, f"librdkafka: only partitions {sorted(by_partition)} got records"
        segments = segment_counts(broker, topic, partitions)
        assert min(segments) > 1, f"librdkafka: segments per partition {segments}: nothing rolled"
        print(f"librdkafka: {summary[0] if summary else ''}; {count} records stored exactly once in produce order "
              f"({[len(by_partition[p]) for p in range(partitions)]} per partition, segments {segments})")


# ------------------------------------------------------------------- kafkajs


def kafkajs_modules(args):
    """The node_modules dir holding kafkajs 2, installed from npm into the
    build tree on first use (a later run reuses it)."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise AssertionError(f"'{tool}' is not installed; the kafkajs check needs Node.js and npm "
                                 "(run scripts/install-deps.sh as root)")
    prefix = os.path.join(os.path.abspath(args.build_dir), "tests", "integration", "kafkajs")
    modules = os.path.join(prefix, "node_modules")
    manifest = os.path.join(modules, "kafkajs", "package.json")

    def installed_version():
        try:
            with open(manifest) as f:
                return json.load(f)["version"]
        except (OSError, ValueError, KeyError):
            return None

    version = installed_version()
    if version is None or version.split(".")[0] != KAFKAJS_VERSION:
        os.makedirs(prefix, exist_ok=True)
        try:
            run(["npm", "install", "--no-audit", "--no-fund", "--prefix", prefix, f"kafkajs@{KAFKAJS_VERSION}"],
                timeout=300, cwd=prefix)
        except (AssertionError, subprocess.TimeoutExpired) as e:
            raise AssertionError(f"could not install kafkajs@{KAFKAJS_VERSION} from npm into {prefix} "
                                 f"(the npm registry must be reachable): {e}")
        version = installed_version()
        assert version, f"npm install finished but {manifest} is missing"
    return modules, version


def kafkajs_across_restarts(args, workdir, rng):
    topic, partitions, sends, per = "kjs", 3, 300, 10
    modules, version = kafkajs_modules(args)
    script = os.path.join(args.source_dir, "tests", "integration", "clients", "kafkajs_idempotent_producer.js")
    broker = Broker(args.build_dir, workdir=workdir,
                    topics_toml=f"[topics.{topic}]\npartitions = {partitions}\nsegment_bytes = 16384\n")
    acked = []

    def parse(line):
        if not line.startswith("acked "):
            return None
        first, last = map(int, line.split()[1:3])
        acked.extend(f"kjs-{n:07d}" for n in range(first, last + 1))
        return last + 1

    with broker:
        client = Client(["node", script, modules, broker.bootstrap, topic, str(partitions), str(sends), str(per)],
                        parse)
        try:
            total = sends * partitions * per
            restart_during(broker, client, restart_plan(rng, total, ["SIGKILL"] * 3), "kafkajs")
            rc, stderr = client.finish(180)
        finally:
            client.kill()
        assert rc == 0, f"kafkajs {version} producer failed after {len(acked)} acknowledged records:\n{stderr[-3000:]}"
        assert len(acked) == total, f"kafkajs: {len(acked)} of {total} records acknowledged"
        by_partition = stored_values(broker, topic)
        stored = check_exactly_once(by_partition, acked, "kjs-", "kafkajs")
        assert stored == total, f"kafkajs: {stored} records stored, {total} acknowledged"
        print(f"kafkajs {version}: {total} acknowledged records stored exactly once in produce order")


# ---------------------------------------------------------------- raw wire


class WireProducer:
    """One idempotent producer speaking raw Produce v3: remembers each batch
    it sent, as a client keeps them for its retries."""

    def __init__(self, broker, topic, expected):
        self.broker = broker
        self.topic = topic
        self.expected = expected  # every value the partition must hold, in order
        err, self.id, self.epoch = kw.init_producer_id(broker.kafka_port)
        assert err == NONE and self.id >= 0 and self.epoch == 0, (err, self.id, self.epoch)
        self.seq = 0
        self.sent = []  # (batch bytes, base offset, values)

    def send(self, n, epoch=None, seq=None):
        """Sends the next n values; returns (error, base offset)."""
        epoch = self.epoch if epoch is None else epoch
        seq = self.seq if seq is None else seq
        values = [f"{self.topic}-{self.id}-{epoch}-{seq + i}".encode() for i in range(n)]
        batch = idempotent_batch(values, self.id, epoch, seq)
        err, base = kw.produce(self.broker.kafka_port, self.topic, 0, batch, acks=-1)
        if err == NONE:
            self.epoch, self.seq = epoch, seq + n
            self.sent.append((batch, base, values))
            self.expected.extend(v.decode() for v in values)
        return err, base

    def resend(self, back=1):
        """Retries the batch sent `back` batches ago, byte for byte; asserts
        it is answered as stored, at its original offset."""
        batch, base, _ = self.sent[-back]
        err, again = kw.produce(self.broker.kafka_port, self.topic, 0, batch, acks=-1)
        assert (err, again) == (NONE, base), (f"retry of the batch {back} back: error {err} base offset {again}, "
                                              f"expected error 0 and its original offset {base}")


def assert_stored(broker, topic, expected, what):
    end = kw.latest_offset(broker.kafka_port, topic, 0)
    values = stored_values(broker, topic)[0]
    assert end == len(expected) and values == expected, (
        f"{what}: the partition holds {len(values)} records (end offset {end}), expected {len(expected)}: "
        f"first difference at {next((i for i, (a, b) in enumerate(zip(values, expected)) if a != b), None)}")


def producer_ids_never_repeat(broker):
    ids = []
    for round_ in ("first run", "after SIGKILL", "after SIGTERM"):
        for _ in range(5):
            err, pid, epoch = kw.init_producer_id(broker.kafka_port)
            assert err == NONE and pid >= 0 and epoch == 0, f"InitProducerId {round_}: {err, pid, epoch}"
            ids.append(pid)
        if round_ == "first run":
            broker.kill()
            broker.start()
        elif round_ == "after SIGKILL":
            broker.stop()
            broker.start()
    assert len(set(ids)) == len(ids), f"InitProducerId handed out an id twice: {ids}"
    print(f"wire: 15 InitProducerId answers across a SIGKILL and a SIGTERM restart, all distinct ({ids[0]}..)")


def retries_gaps_epochs_unknown(broker, topic, expected):
    a = WireProducer(broker, topic, expected)
    for n in (3, 2, 4, 1):
        assert a.send(n)[0] == NONE
    a.resend(1)
    a.resend(4)  # the oldest of the last four: still answered from the producer's history
    assert_stored(broker, topic, expected, "after retries")
    print("wire: retried batches answered with error 0 and their original offsets, stored once")

    err, _ = a.send(2, seq=a.seq + 3)
    assert err == OUT_OF_ORDER, f"a sequence gap: error {err}, expected OUT_OF_ORDER_SEQUENCE_NUMBER (45)"
    assert a.send(2)[0] == NONE, "the sequence that follows after a refused gap"
    assert_stored(broker, topic, expected, "after a sequence gap")
    print("wire: a sequence gap is refused with 45 and stores nothing")

    b = WireProducer(broker, topic, expected)
    err, _ = b.send(2, seq=5)
    assert err == UNKNOWN_PRODUCER, f"unknown producer at sequence 5: error {err}, expected UNKNOWN_PRODUCER_ID (59)"
    assert b.send(2)[0] == NONE, "the same producer starting at sequence 0"
    assert_stored(broker, topic, expected, "after an unknown producer")
    print("wire: a producer unknown to the partition starting at sequence 5 is refused with 59")

    assert b.send(1, epoch=1, seq=0)[0] == NONE, "a new epoch starting at sequence 0"
    err, _ = b.send(1, epoch=0, seq=2)
    assert err == FENCED, f"the old epoch after a newer one wrote: error {err}, expected INVALID_PRODUCER_EPOCH (47)"
    assert b.send(1)[0] == NONE, "the new epoch goes on"
    assert_stored(broker, topic, expected, "after an epoch bump")
    print("wire: an older epoch is refused with 47 once a newer epoch has written")
    return a, b


def state_survives_restarts(broker, topic, expected, a, b):
    # Enough batches to roll the 2 KiB segments a few times first: the
    # restarts then recover from producer snapshots plus replay after them.
    for _ in range(40):
        assert a.send(3)[0] == NONE
    for how in ("SIGKILL", "SIGTERM"):
        if how == "SIGKILL":
            broker.kill()
        else:
            broker.stop()
        broker.start()
        a.resend(1)
        a.resend(3)
        err, _ = b.send(1, epoch=0, seq=b.seq)
        assert err == FENCED, f"after {how}: the old epoch got error {err}, expected 47"
        assert a.send(2)[0] == NONE, f"after {how}: the next sequence"
        err, _ = a.send(2, seq=a.seq + 1)
        assert err == OUT_OF_ORDER, f"after {how}: a sequence gap got error {err}, expected 45"
        assert_stored(broker, topic, expected, f"after {how}")
        print(f"wire: after {how} and restart, retries answered with their original offsets, stored once; "
              "the old epoch still fenced; sequences go on")
    segments = segment_counts(broker, topic, 1)[0]
    assert segments > 1, f"wire: {segments} segment(s): nothing rolled"


def wire_checks(args, workdir):
    topic = "wire"
    broker = Broker(args.build_dir, workdir=workdir,
                    topics_toml=f"[topics.{topic}]\npartitions = 1\nsegment_bytes = 2048\n")
    with broker:
        producer_ids_never_repeat(broker)
        expected = []
        a, b = retries_gaps_epochs_unknown(broker, topic, expected)
        state_survives_restarts(broker, topic, expected, a, b)


# ---------------------------------------------------------------------- main


def main():
    args = parse_args()
    seed = int(os.environ.get("KEEL_IT_SEED", time.time_ns() % 2**32))
    print(f"seed {seed} (KEEL_IT_SEED={seed} repeats the restart points)")
    sections = [
        ("wire", lambda w: wire_checks(args, w)),
        ("librdkafka", lambda w: librdkafka_across_restarts(args, w, random.Random(seed))),
        ("kafkajs", lambda w: kafkajs_across_restarts(args, w, random.Random(seed + 1))),
    ]
    only = os.environ.get("KEEL_IT_ONLY")
    failed = 0
    ran = 0
    for name, fn in sections:
        if only and name not in only.split(","):
            continue
        ran += 1
        try:
            with scratch_dir(f"keel-idem-{name}-") as workdir:
                fn(workdir)
            print(f"PASS {name}")
        except Exception as e:  # report every section, then fail the run
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}")
    print(f"{ran - failed} passed, {failed} failed")
    return 1 if failed or not ran else 0


if __name__ == "__main__":
    sys.exit(main())
