"""A randomized, bounded fault run ("nemesis", in the Jepsen spirit) against
a real 3-broker cluster on one etcd (cluster_harness.py), with producers
writing all the while; at the end every acknowledged record must be where it
was acknowledged, once.

- Workload: PRODUCERS threads, each with its own kafka-python producer
  (acks=all), write unique values ("p<thread>-<n>") round-robin to the
  NUM_PARTITIONS partitions of TOPIC and record every attempt and
  acknowledgement in a Ledger. Client errors are expected while faults run:
  they are counted by kind, never a failure. kafka-python 2.0.2 has no
  idempotent producer, so its own retries are off (a retry after a timeout
  may legitimately store a value twice, which would hide a broker's
  duplicate): the workload re-sends a value itself only after an answer that
  says nothing was stored (LEADER_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION,
  NOT_ENOUGH_REPLICAS, refused before the append, or the send never leaving
  the client), 0.1 s later, and gives up a value whose outcome is unknown
  (timeout, lost connection): the Ledger then accepts it absent or present
  once.
- Nemesis: a seeded RNG (KEEL_NEMESIS_SEED, printed) picks one fault at a
  time, every 1-3 s, among: SIGKILL a broker and restart it; SIGTERM (it
  must exit 0) and restart; SIGSTOP a broker for longer than the session
  TTL, then SIGCONT; cut a broker off etcd (from 1 s to past the TTL), then
  heal; SIGSTOP etcd for less than the TTL, then SIGCONT. One fault at a
  time, so never more than one broker down. After each fault is undone the
  run waits (bounded) until every broker reports a live leader for every
  partition, and checks no broker process died on its own. Faults are
  started for KEEL_NEMESIS_SECONDS (default 30).
- End: everything healed, every partition led on every broker, then every
  partition must take an acknowledged write again; the producers stop and
  Ledger.check() reads every partition back: no acknowledged record lost,
  moved (not at its acknowledged offset: this also catches one offset
  acknowledged for two values, since only one of them can be there) or
  duplicated, no attempted value stored twice. A summary table is printed.

The schedule of faults is reproducible from the seed; the interleaving with
the producers is not (real time).

    KEEL_NEMESIS_SECONDS=30 python3 tests/integration/cluster_nemesis_test.py --build-dir build
    KEEL_NEMESIS_SEED=1234 KEEL_IT_KEEP=1 python3 tests/integration/cluster_nemesis_test.py --build-dir build
"""
import collections
import os
import random
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import system_python  # noqa: E402,F401  (re-runs with /usr/bin/python3 for kafka-python)
from cluster_broker import LOG_TAIL  # noqa: E402
from cluster_harness import Cluster, Ledger, wait_until, run_tests  # noqa: E402
from kafka import KafkaProducer  # noqa: E402
from kafka.errors import (KafkaError, LeaderNotAvailableError, NotEnoughReplicasError,  # noqa: E402
                          NotLeaderForPartitionError, UnknownTopicOrPartitionError)

BUILD_DIR = None  # set by main()
TTL_MS = 3000
TOPIC = "nemesis"
NUM_PARTITIONS = 6
TOPICS = f"[topics.{TOPIC}]\npartitions = {NUM_PARTITIONS}\n"
PRODUCERS = 3
RECOVERY_S = TTL_MS / 1000 + 30  # bound on a return to "every partition led everywhere"
# Answers after which the broker stored nothing: the same value may be sent
# again. NOT_ENOUGH_REPLICAS is answered before the append (the _AFTER_APPEND
# one, another class, is not among them): re-sent, with the back-off, it
# also keeps a producer from spinning while the ISR is too small.
# NOT_LEADER is not among them: an acks=all write the leader appended and then
# lost leadership over is answered NOT_LEADER too, and may have been
# replicated (Kafka answers the same); without idempotence the client cannot
# tell, so it is not sent again.
NOTHING_STORED = (LeaderNotAvailableError, UnknownTopicOrPartitionError, NotEnoughReplicasError)


class Workload:
    """`producers` threads producing to the `partitions` partitions of
    `topic` (default: PRODUCERS, NUM_PARTITIONS, TOPIC; cluster_jepsen_test
    runs it on its own topic) until stop(). Counters are shared between the
    threads under `_lock`."""

    def __init__(self, bootstrap, ledger, topic=TOPIC, partitions=NUM_PARTITIONS, producers=PRODUCERS):
        self.bootstrap = bootstrap
        self.ledger = ledger
        self.topic = topic
        self.partitions = partitions
        self.window = 2 * partitions  # values in flight per producer thread
        self._lock = threading.Lock()
        self.errors = collections.Counter()  # exception class name -> count
        self.last_ack = {}  # partition -> time.monotonic() of its latest acknowledgement
        self.resent = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(t,), name=f"producer-{t}", daemon=True)
                         for t in range(1, producers + 1)]
        self.failures = []  # unexpected exceptions in a producer thread

    def start(self):
        for t in self._threads:
            t.start()

    def stop(self, timeout=60):
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
            if t.is_alive():
                raise AssertionError(f"{t.name} did not stop within {timeout}s (a produce hung)")
        if self.failures:
            raise AssertionError("a producer thread failed: " + "; ".join(self.failures))

    def _error(self, e, resend=False):
        with self._lock:
            self.errors[type(e).__name__] += 1
            self.resent += resend

    def _acked(self, partition):
        with self._lock:
            self.last_ack[partition] = time.monotonic()

    def acked_since(self, t0):
        """Whether every partition acknowledged a write after `t0`."""
        with self._lock:
            return all(self.last_ack.get(p, 0) > t0 for p in range(self.partitions))

    def _run(self, thread):
        try:
            producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", retries=0,
                                     request_timeout_ms=5000, max_block_ms=5000, linger_ms=2,
                                     reconnect_backoff_ms=50, reconnect_backoff_max_ms=500,
                                     retry_backoff_ms=100, metadata_max_age_ms=2000)
        except Exception as e:  # noqa: BLE001 (reported by stop())
            self.failures.append(f"producer-{thread}: {e!r}")
            return
        try:
            self._produce(thread, producer)
        except Exception as e:  # noqa: BLE001
            self.failures.append(f"producer-{thread}: {e!r}")
        finally:
            producer.close(10)

    def _produce(self, thread, producer):
        n = 0
        todo = collections.deque()  # values (value, partition) to send
        while not self._stop.is_set():
            while len(todo) < self.window:
                todo.append((f"p{thread}-{n}", n % self.partitions))
                n += 1
            inflight = []
            while todo:
                value, partition = todo.popleft()
                try:
                    inflight.append((value, partition, self.ledger.produce(producer, self.topic, value,
                                                                           partition=partition)))
                except KafkaError as e:  # not sent: metadata or buffer wait timed out
                    self._error(e, resend=True)
                    todo.append((value, partition))
                    break
            for value, partition, future in inflight:
                try:
                    future.get(timeout=60)
                    self._acked(partition)
                except KafkaError as e:
                    self._error(e, resend=isinstance(e, NOTHING_STORED))
                    if isinstance(e, NOTHING_STORED):
                        todo.append((value, partition))
            if todo and self._stop.wait(0.1):  # back off a little while faults last
                break


class Nemesis:
    """Applies one fault at a time to the Cluster, drawn from `rng`."""

    KINDS = ["kill", "terminate", "pause", "etcd-cut", "etcd-pause"]

    def __init__(self, c, rng, t0):
        self.c = c
        self.rng = rng
        self.t0 = t0
        self.counts = collections.Counter()
        self.recoveries = []  # (kind, seconds until every partition led everywhere again)

    def log(self, text):
        print(f"[{time.monotonic() - self.t0:6.1f} s] {text}", flush=True)

    def run_one(self):
        kind = self.rng.choice(self.KINDS)
        victim = self.rng.choice(sorted(self.c.brokers))
        ttl = TTL_MS / 1000
        c = self.c
        if kind == "kill":
            hold = self.rng.uniform(0.5, 4)
            self.log(f"SIGKILL broker {victim}, restart after {hold:.1f} s")
            c.kill(victim)
            time.sleep(hold)  # the fault's length, not a wait for state
            c.restart(victim)
        elif kind == "terminate":
            hold = self.rng.uniform(0.5, 3)
            self.log(f"SIGTERM broker {victim}, restart after {hold:.1f} s")
            c.terminate(victim)
            time.sleep(hold)
            c.restart(victim)
        elif kind == "pause":
            hold = ttl + self.rng.uniform(0.5, 3)
            self.log(f"SIGSTOP broker {victim} for {hold:.1f} s (session TTL {ttl:.0f} s)")
            c.stop(victim)
            time.sleep(hold)
            c.cont(victim)
        elif kind == "etcd-cut":
            hold = self.rng.uniform(1, ttl + 3)
            self.log(f"cut broker {victim} off etcd for {hold:.1f} s (session TTL {ttl:.0f} s)")
            c.isolate_from_etcd(victim)
            time.sleep(hold)
            c.heal_etcd(victim)
        else:
            hold = self.rng.uniform(0.5, 0.8 * ttl)
            self.log(f"SIGSTOP etcd for {hold:.1f} s (session TTL {ttl:.0f} s)")
            c.etcd.stop()
            time.sleep(hold)
            c.etcd.cont()
        self.counts[kind] += 1
        healed = time.monotonic()
        self.check_alive()
        self.wait_led()
        took = time.monotonic() - healed
        self.recoveries.append((kind, took))
        self.log(f"  healed; every partition led on every broker {took:.1f} s later")
        return healed

    def check_alive(self):
        """No broker or etcd process ended without being told to: a crash."""
        for i, b in sorted(self.c.brokers.items()):
            if not b.alive():
                raise AssertionError(f"broker {i} died on its own (exit {b.proc.returncode}):\n"
                                     + b.output()[-LOG_TAIL:])
        if not self.c.etcd.alive():
            raise AssertionError(f"etcd died (exit {self.c.etcd.proc.returncode})")

    def wait_led(self):
        wait_until(lambda: self.c.led_everywhere(TOPIC, NUM_PARTITIONS), RECOVERY_S,
                   f"every partition of {TOPIC} led, the same leader on every broker (a hang?)")


def table(rows):
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  " + "  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows)


class ClusterNemesisTest(unittest.TestCase):
    def test_nothing_acknowledged_is_lost_under_faults(self):
        seconds = float(os.environ.get("KEEL_NEMESIS_SECONDS", "30"))
        seed = int(os.environ.get("KEEL_NEMESIS_SEED") or random.SystemRandom().randrange(1, 2 ** 31))
        print(f"nemesis seed {seed} (again: KEEL_NEMESIS_SEED={seed}), {seconds:.0f} s of faults", flush=True)
        rng = random.Random(seed)
        with Cluster(BUILD_DIR, brokers=3, session_ttl_ms=TTL_MS, topics_toml=TOPICS) as c:
            c.wait_for_cluster(30)
            wait_until(lambda: c.led_everywhere(TOPIC, NUM_PARTITIONS), 30, f"{TOPIC} led everywhere")
            ledger = Ledger()
            work = Workload(c.bootstrap(), ledger)
            work.start()
            t0 = time.monotonic()
            nemesis = Nemesis(c, rng, t0)
            wait_until(lambda: work.acked_since(0), 30, "a first acknowledgement on every partition")
            last_heal = None
            try:
                while time.monotonic() - t0 < seconds:
                    time.sleep(rng.uniform(1, 3))  # quiet time between faults, drawn from the seed
                    last_heal = nemesis.run_one()
                # Everything healed (each fault is undone before the next);
                # the cluster must take writes on every partition again.
                c.heal()
                nemesis.wait_led()
                led_after = time.monotonic() - (last_heal or t0)
                wait_until(lambda: work.acked_since(last_heal or t0), RECOVERY_S,
                           "an acknowledged write on every partition after the last fault was healed")
                writable_after = time.monotonic() - (last_heal or t0)
            finally:
                work.stop()
            nemesis.check_alive()
            report = ledger.check(c.bootstrap(), raise_on_problem=False)

            rows = [("faults", "count")] + [(k, nemesis.counts[k]) for k in Nemesis.KINDS]
            print("\nnemesis summary (seed %d, %.0f s of faults, %.0f s in all)" % (seed, seconds,
                                                                                  time.monotonic() - t0))
            print(table(rows))
            errors = [("client errors", "count")] + sorted(work.errors.items(), key=lambda kv: -kv[1])
            print(table(errors if len(errors) > 1 else errors + [("(none)", 0)]))
            worst = max(nemesis.recoveries, key=lambda r: r[1], default=("-", 0.0))
            print(table([("figure", "value"),
                         ("acknowledged records", report.acked),
                         ("unacknowledged attempts", report.attempted),
                         ("records read back", report.read),
                         ("values re-sent after a refusal", work.resent),
                         ("slowest recovery (led everywhere)", f"{worst[1]:.1f} s after {worst[0]}"),
                         ("after the last heal: led everywhere", f"{led_after:.1f} s"),
                         ("after the last heal: every partition writable", f"{writable_after:.1f} s")]))
            print(report.table())
            if not report.ok:
                raise AssertionError(f"seed {seed}: the ledger found problems (KEEL_IT_KEEP=1 keeps the logs)\n"
                                     + report.table())
            self.assertGreater(report.acked, 0, "nothing was acknowledged at all")


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
