"""An idempotent producer across failovers, in a real 3-broker cluster on
etcd (docs/design/replication.md; topic min_insync_replicas = 2, [cluster]
replica_lag_time_max_ms = 2000, session TTL 3 s).

A librdkafka producer (clients/sequenced_producer.c: enable.idempotence,
acks=all) sends values numbered per partition ("<partition>-<seq>") to every
partition of the topic while the test SIGKILLs the leader of partition 0,
waits for a new leader and for acknowledgements from it, restarts the
killed broker and waits for it to rejoin every ISR; twice. Batches the old
leader had appended (and its followers copied) but not acknowledged are
retried by the producer to the new leader after NOT_LEADER or a timeout: the
new leader must recognise them by producer id and sequence, from the
producer state it rebuilt from the replicated batches, and answer them as
duplicates instead of appending them again.

Read back from every partition at the end:
- every acknowledged value is there exactly once, at its acknowledged
  offset (Ledger: nothing lost, moved or duplicated);
- no value at all (acknowledged or not) is stored twice;
- per partition the producer's values are in the order it sent them (the
  sequence numbers strictly increase), and only that partition's values are
  in it.

Whether a retried batch had already reached the new leader depends on the
moment of the kill: some runs retry only batches the old leader never
appended. KEEL_IT_RDKAFKA_DEBUG=msg puts librdkafka's debug log in the kept
producer.stderr: a batch "encountered error ... MsgPossiblyPersisted" and
then "Reconstructed" for the new leader is a retry; when the killed broker's
log on restart ("opened ... offsets 0..N") already held it and it logged no
"truncated from", the new leader had it and answered the retry as a
duplicate.

Waits are on conditions with deadlines.

    python3 tests/integration/cluster_idempotence_test.py --build-dir build
    KEEL_IT_KEEP=1 python3 tests/integration/cluster_idempotence_test.py --build-dir build
"""
import os
import signal
import subprocess
import sys
import threading
import time
import types
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import system_python  # noqa: E402,F401  (re-runs with /usr/bin/python3 for kafka-python)
from client_programs import librdkafka_program  # noqa: E402
from cluster_harness import Cluster, Ledger, wait_until, run_tests  # noqa: E402
from cluster_nemesis_test import table  # noqa: E402
from cluster_replication_test import CLUSTER, covers_acked, full_isr  # noqa: E402
from ledger import read_topic  # noqa: E402

BUILD_DIR = None  # set by main()
SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TTL_MS = 3000
TOPIC = "idem"
PARTITIONS = 3
TOPICS = f"[topics.{TOPIC}]\npartitions = {PARTITIONS}\nmin_insync_replicas = 2\n"
IDS = [1, 2, 3]
FAILOVERS = 2
RECOVERY_S = TTL_MS / 1000 + 25  # bound on a failover or a rejoin
MAX_VALUES = 10_000_000  # an upper bound only: the test stops the producer with SIGTERM
ACKS_BETWEEN = 200  # acknowledgements on a partition that show it takes writes


class SequencedProducer:
    """clients/sequenced_producer.c in the background. A reader thread
    parses its output: `acked` [(partition, offset, value)], `failed`
    [(partition, value, error)], `summary` {key: value} once it ends.

    Threads: the reader thread appends to the lists under `lock`; the test
    thread reads them through the methods below."""

    def __init__(self, exe, bootstrap, err_path, out_path):
        self.err_path = err_path
        self.out_path = out_path  # a copy of its output, kept with the cluster's logs
        with open(err_path, "w") as err:
            self.proc = subprocess.Popen([exe, bootstrap, TOPIC, str(PARTITIONS), str(MAX_VALUES)],
                                         stdout=subprocess.PIPE, stderr=err, text=True)
        self.lock = threading.Lock()
        self.acked = []
        self.failed = []
        self.summary = None
        self.bad_lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        with open(self.out_path, "w") as out:
            for line in self.proc.stdout:
                out.write(line)
                self._parse(line)
        self.proc.stdout.close()

    def _parse(self, line):
        words = line.split()
        with self.lock:
            if words[:1] == ["acked"] and len(words) == 4:
                self.acked.append((int(words[1]), int(words[2]), words[3]))
            elif words[:1] == ["failed"] and len(words) >= 3:
                self.failed.append((int(words[1]), words[2], " ".join(words[3:])))
            elif words[:1] == ["summary"]:
                head, _, fatal = line.strip().partition(" fatal=")
                self.summary = dict(w.split("=", 1) for w in head.split()[1:])
                self.summary["fatal"] = fatal
            else:
                self.bad_lines.append(line)

    def acked_on(self, partition):
        """How many acknowledgements for `partition` it printed so far;
        fails if it exited."""
        if self.proc.poll() is not None:
            raise AssertionError(f"the producer exited with {self.proc.returncode} while producing:\n"
                                 + self.stderr_tail())
        with self.lock:
            return sum(1 for p, _, _ in self.acked if p == partition)

    def stop(self, timeout=90):
        """SIGTERM: it stops producing, flushes and prints its summary.
        Returns its exit code."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the producer did not finish within {timeout}s of SIGTERM:\n"
                                 + self.stderr_tail()) from None
        self.reader.join(timeout)
        return code

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stderr_tail(self, chars=3000):
        with open(self.err_path, errors="replace") as f:
            return f.read()[-chars:]


def leader_of_0(c, ids, not_on):
    """The leader of TOPIC-0 when every broker of `ids` names the same leader
    for every partition and none is one of `not_on`."""
    leaders = c.led_everywhere(TOPIC, PARTITIONS, ids)
    if leaders is None or set(leaders.values()) & set(not_on):
        return None
    return leaders[0]


def since(t0):
    return f"{time.monotonic() - t0:.1f} s"


def order_problems(stored):
    """Per partition, the values that are not the producer's own for that
    partition, or whose sequence number does not exceed the one before."""
    problems = []
    for partition, records in sorted(stored.items()):
        last = -1
        for offset, value in records:
            text = (value or b"").decode(errors="replace")
            prefix, _, seq = text.partition("-")
            if prefix != str(partition) or not seq.isdigit():
                problems.append(f"{partition}/{offset}: {text!r} is not a value sent to partition {partition}")
                continue
            if int(seq) <= last:
                problems.append(f"{partition}/{offset}: {text!r} after sequence {last} (sent earlier)")
            last = max(last, int(seq))
    return problems


class ClusterIdempotenceTest(unittest.TestCase):
    def test_idempotent_producer_across_failovers(self):
        with Cluster(BUILD_DIR, brokers=3, session_ttl_ms=TTL_MS, topics_toml=TOPICS, cluster_toml=CLUSTER) as c:
            dirs = types.SimpleNamespace(build_dir=BUILD_DIR, source_dir=SOURCE_DIR)
            exe = librdkafka_program(dirs, "sequenced_producer", c.workdir)
            c.wait_for_cluster(30)
            wait_until(lambda: full_isr(c, IDS, TOPIC, PARTITIONS), 30, f"every follower of {TOPIC} to join the ISR")
            producer = SequencedProducer(exe, c.bootstrap(), os.path.join(c.workdir, "producer.stderr"),
                                         os.path.join(c.workdir, "producer.out"))
            figures = []
            try:
                wait_until(lambda: all(producer.acked_on(p) >= ACKS_BETWEEN for p in range(PARTITIONS)), 30,
                           f"{ACKS_BETWEEN} acknowledgements on every partition of {TOPIC}")
                for n in range(1, FAILOVERS + 1):
                    victim = c.led_everywhere(TOPIC, PARTITIONS, IDS)[0]
                    rest = [i for i in IDS if i != victim]
                    t_kill = time.monotonic()
                    c.kill(victim)
                    new = wait_until(lambda: leader_of_0(c, rest, not_on=[victim]), RECOVERY_S,
                                     f"a new leader of {TOPIC}-0 after broker {victim}'s SIGKILL")
                    elected = since(t_kill)
                    mark = producer.acked_on(0)
                    wait_until(lambda: producer.acked_on(0) >= mark + ACKS_BETWEEN, RECOVERY_S,
                               f"{ACKS_BETWEEN} acknowledgements on {TOPIC}-0 from its new leader, broker {new}")
                    resumed = since(t_kill)
                    t_restart = time.monotonic()
                    c.restart(victim)
                    wait_until(lambda: full_isr(c, IDS, TOPIC, PARTITIONS), RECOVERY_S,
                               f"broker {victim} back in every ISR of {TOPIC}")
                    figures.append((f"failover {n}: SIGKILL of {TOPIC}-0's leader",
                                    f"broker {victim} -> {new}, elected in {elected}, acks again after {resumed}, "
                                    f"back in every ISR {since(t_restart)} after restart"))
                marks = [producer.acked_on(p) for p in range(PARTITIONS)]
                wait_until(lambda: all(producer.acked_on(p) >= marks[p] + ACKS_BETWEEN for p in range(PARTITIONS)),
                           RECOVERY_S, f"{ACKS_BETWEEN} more acknowledgements on every partition after the failovers")
                code = producer.stop()
            finally:
                producer.kill()
            summary = producer.summary or {}
            self.assertEqual(producer.bad_lines, [], "unexpected producer output")
            self.assertEqual(code, 0, f"the producer failed ({summary}):\n{producer.stderr_tail()}")
            self.assertEqual(summary.get("fatal"), "none", producer.stderr_tail())

            ledger = Ledger()
            for seq in range(int(summary["sent"])):
                ledger.attempt(TOPIC, f"{seq % PARTITIONS}-{seq // PARTITIONS:07d}")
            for partition, offset, value in producer.acked:
                ledger.ack(TOPIC, partition, offset, value)
            wait_until(lambda: covers_acked(c, IDS, ledger, topic=TOPIC), RECOVERY_S,
                       "the leaders' high watermarks to cover every acknowledged record")
            stored = read_topic(c.bootstrap(), TOPIC, timeout=60)
            report = ledger.compare({TOPIC: stored})
            disorder = order_problems(stored)
            print(table([("figure", "value")] + figures + [
                ("values produced", summary["sent"]), ("acknowledged", report.acked),
                ("delivery failures", len(producer.failed)), ("records read back", report.read),
                ("failovers", FAILOVERS), ("duplicates", report.count("duplicated")),
                ("lost", report.count("lost")), ("moved", report.count("moved")),
                ("out of order or foreign", len(disorder))]))
            self.assertTrue(report.ok, report.table())
            self.assertEqual(report.unknown, 0, "values the producer never sent were read back")
            self.assertEqual(disorder, [], "\n".join(disorder[:40]))
            self.assertEqual(producer.failed, [], "deliveries failed (not acknowledged within "
                             "message.timeout.ms 60 s) although every failover ended within seconds")
            self.assertEqual(int(summary["acked"]), report.acked)


def main():
    run_tests(sys.modules[__name__])


if __name__ == "__main__":
    main()
