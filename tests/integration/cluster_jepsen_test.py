"""Jepsen-minded cases against a real 3-broker cluster on one etcd
(cluster_harness.py), each under acks=all load with a Ledger of every
acknowledged record (topic min_insync_replicas = 2, [cluster]
replica_lag_time_max_ms = 2000, session TTL 3 s). At the end of each case
nothing acknowledged may be lost, moved or duplicated, and the figures
(records, recovery times) are printed.

1. Two failovers within about a second: SIGKILL the leader, SIGKILL the
   next leader the moment it is elected; the third broker leads; both come
   back, truncate what they had beyond it, catch up, and every copy of every
   partition is byte-identical (KIP-279's case).
2. A zombie leader: both followers SIGKILLed, the leader takes acks=1
   records only it holds, then is SIGSTOPped past its session TTL; the
   followers return and one leads; acks=all writes go to it. SIGCONT of the
   old leader: the acks=all writes queued to it while it was stopped are
   never acknowledged, it rejoins as a follower and truncates its tail
   ("truncated from" in its log); the acks=1 tail is gone everywhere.
3. etcd SIGSTOPped under load, first for less than the TTL (nothing
   moves), then for twice the TTL (every session is lost): the brokers
   lead every partition again and take acks=all writes.
4. The group coordinator (leader of the group's __consumer_offsets
   partition) SIGKILLed while a kafka-python consumer group commits offsets
   one after the other: the new coordinator answers at least the latest
   acknowledged commit (never an older one, at most the latest attempted),
   and the group commits again.
   A broker that is not the coordinator refuses OffsetFetch with
   NOT_COORDINATOR (it used to answer "nothing committed").
5. A rolling restart (SIGTERM, then start, each broker in turn, waiting for
   a full ISR and a write on every partition in between) under acks=all
   load.

Waits are on conditions with deadlines; the few sleeps are the length of a
fault (how long etcd stays stopped), not waits for state.

    python3 tests/integration/cluster_jepsen_test.py --build-dir build
    KEEL_IT_KEEP=1 python3 tests/integration/cluster_jepsen_test.py --build-dir build \\
        ClusterJepsenTest.test_zombie_leader
"""
import os
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import system_python  # noqa: E402,F401  (re-runs with /usr/bin/python3 for kafka-python)
import kafka_wire  # noqa: E402
from cluster_harness import Cluster, Ledger, wait_until, run_tests  # noqa: E402
from cluster_nemesis_test import Workload, table  # noqa: E402
from cluster_replication_test import CLUSTER, PARTITIONS, TOPICS, full_isr, identical, producer  # noqa: E402
from kafka import KafkaConsumer, TopicPartition  # noqa: E402
from kafka_batches import record_batch  # noqa: E402
from kafka.errors import KafkaError  # noqa: E402
from kafka.structs import OffsetAndMetadata  # noqa: E402
from ledger import read_topic  # noqa: E402

BUILD_DIR = None  # set by main()
TTL_MS = 3000
TTL_S = TTL_MS / 1000
TOPIC = "orders"  # cluster_replication_test's topic (TOPICS): its helpers name it
IDS = [1, 2, 3]
OFFSETS = "__consumer_offsets"
GROUP = "jepsen-group"
RECOVERY_S = TTL_S + 30  # bound on a failover or a rejoin


def new_cluster():
    return Cluster(BUILD_DIR, brokers=3, session_ttl_ms=TTL_MS, topics_toml=TOPICS, cluster_toml=CLUSTER)


def since(t0):
    return f"{time.monotonic() - t0:.1f} s"


def leader_of(c, ids, partition, not_on=()):
    """The leader of TOPIC's `partition` when every broker of `ids` names the
    same leader for every partition, and none of them is one of `not_on`."""
    leaders = c.led_everywhere(TOPIC, PARTITIONS, ids)
    if leaders is None or set(leaders.values()) & set(not_on):
        return None
    return leaders[partition]


def formed(c):
    """Waits until the brokers list each other and every follower of TOPIC
    is in its ISR; returns the leaders."""
    c.wait_for_cluster(30)
    return wait_until(lambda: full_isr(c, IDS), 30, f"every follower of {TOPIC} to join the ISR")


def start_load(c, ledger):
    work = Workload(c.bootstrap(), ledger, topic=TOPIC, partitions=PARTITIONS, producers=2)
    work.start()
    wait_until(lambda: work.acked_since(0), 30, f"a first acknowledged write on every partition of {TOPIC}")
    return work


def finish(test, c, work, ledger, t_heal, figures):
    """Every partition writable after `t_heal`, the load stopped, every copy
    byte-identical, the ledger clean; prints `figures` and the report."""
    wait_until(lambda: work.acked_since(t_heal), RECOVERY_S,
               "an acknowledged write on every partition after the fault was healed")
    figures.append(("every partition writable again", since(t_heal)))
    work.stop()
    wait_until(lambda: full_isr(c, IDS), RECOVERY_S, "every replica back in the ISR of every partition")
    wait_until(lambda: identical(c, IDS), 30, "the three copies of every partition to be byte-identical")
    report = ledger.check(c.bootstrap(), raise_on_problem=False)
    errors = ", ".join(f"{k} {n}" for k, n in sorted(work.errors.items())) or "none"
    print(table([("figure", "value")] + figures + [
        ("acknowledged records", report.acked), ("unacknowledged attempts", report.attempted),
        ("records read back", report.read), ("client errors", errors)]))
    print(report.table())
    test.assertTrue(report.ok, report.table())
    test.assertGreater(report.acked, 0, "nothing was acknowledged")
    return report


class ClusterJepsenTest(unittest.TestCase):
    def test_two_failovers_within_a_second(self):
        with new_cluster() as c:
            formed(c)
            ledger = Ledger()
            work = start_load(c, ledger)
            first = c.led_everywhere(TOPIC, PARTITIONS, IDS)[0]
            t0 = time.monotonic()
            c.kill(first)
            rest = [i for i in IDS if i != first]
            second = wait_until(lambda: leader_of(c, rest, 0, not_on=[first]), RECOVERY_S,
                                f"a new leader of {TOPIC}-0 after broker {first}'s SIGKILL")
            t1 = time.monotonic()
            c.kill(second)  # at once: the second failover within about a second of the first
            last = [i for i in rest if i != second][0]
            wait_until(lambda: leader_of(c, [last], 0, not_on=[first, second]), RECOVERY_S,
                       f"broker {last} to lead {TOPIC}-0 after broker {second}'s SIGKILL")
            t2 = time.monotonic()
            c.restart(first)
            c.restart(second)
            t_heal = time.monotonic()
            wait_until(lambda: full_isr(c, IDS), RECOVERY_S, "both killed brokers back in every ISR")
            isr_back = since(t_heal)
            figures = [("first failover (SIGKILL of the leader)", f"{t1 - t0:.1f} s, broker {first} -> {second}"),
                       ("second failover (SIGKILL at its election)", f"{t2 - t1:.1f} s, broker {second} -> {last}"),
                       ("both back in every ISR after restart", isr_back)]
            finish(self, c, work, ledger, t_heal, figures)

    def test_zombie_leader(self):
        with new_cluster() as c:
            leaders = formed(c)
            old = leaders[0]
            followers = [i for i in IDS if i != old]
            ledger = Ledger()
            p = producer(c, IDS)
            for n in range(150):
                ledger.produce(p, TOPIC, f"before-{n}", partition=n % PARTITIONS)
            p.flush(60)
            p.close()
            self.assertEqual(ledger.acked_count(), 150)
            # An unreplicated tail on the old leader: its followers are dead
            # (their sessions last until the TTL runs out, so the ISR stays),
            # it takes acks=1 writes only it holds, then it stops, well
            # within replica_lag_time_max_ms (it never shrinks the ISR).
            # Raw Produce requests to its own port: a client library would
            # follow the metadata to the new leader.
            port = c.broker(old).kafka_port
            t_kill = time.monotonic()
            for f in followers:
                c.kill(f)
            tail = []
            for n in range(5):
                err, base = kafka_wire.produce(port, TOPIC, 0, record_batch([f"tail-{n}-{k}".encode() for k in range(4)]))
                self.assertEqual(err, 0, f"broker {old} refused an acks=1 write with its followers dead")
                tail.append(base)
            c.stop(old)
            self.assertLess(time.monotonic() - t_kill, 2.0, "the tail took too long: the ISR may have shrunk")
            # Sent while it is stopped: they wait in its socket buffers.
            queued = []
            for n in range(3):
                s = kafka_wire.connect(port, timeout=90)
                s.sendall(kafka_wire.request_frame(0, 3, n, kafka_wire.produce_request(
                    TOPIC, 0, record_batch([f"zombie-{n}".encode()]), acks=-1, timeout_ms=30000)))
                queued.append(s)
            t_stop = time.monotonic()
            for f in followers:
                c.restart(f, wait_ready=False)
            for f in followers:
                c.broker(f).wait_for_log("broker ready", RECOVERY_S)
            new = wait_until(lambda: leader_of(c, followers, 0, not_on=[old]), RECOVERY_S,
                             f"a follower to lead {TOPIC}-0 once broker {old}'s session expired")
            elected = since(t_stop)
            p = producer(c, followers)
            for n in range(150):
                ledger.produce(p, TOPIC, f"new-leader-{n}", partition=n % PARTITIONS)
            p.flush(60)
            self.assertEqual(ledger.acked_count(), 300)

            c.cont(old)
            t_cont = time.monotonic()
            answers = []
            for n, sock in enumerate(queued):
                with sock:
                    try:
                        _, body = kafka_wire.read_response(sock)
                        answers.append(kafka_wire.parse_produce_response(body, TOPIC, 0)[0])
                    except OSError as e:  # closed without an answer: not acknowledged either
                        answers.append(type(e).__name__)
                self.assertNotEqual(answers[-1], 0, f"the zombie leader {old} acknowledged zombie-{n} (acks=all)")
            wait_until(lambda: full_isr(c, IDS), RECOVERY_S, f"broker {old} back in every ISR as a follower")
            rejoined = since(t_cont)
            self.assertIn(f"{TOPIC}-0: truncated from", c.broker(old).output(),
                          f"broker {old} did not truncate its unreplicated tail of {TOPIC}-0")
            for n in range(60):
                ledger.produce(p, TOPIC, f"after-{n}", partition=n % PARTITIONS)
            p.flush(60)
            p.close()
            wait_until(lambda: identical(c, IDS), 30, "the three copies of every partition to be byte-identical")
            stored = read_topic(c.bootstrap(), TOPIC)
            kept = sorted(v for _, v in stored[0] if v.startswith(b"tail-") or v.startswith(b"zombie-"))
            self.assertEqual(kept, [], "records only the zombie leader held are still there")
            report = ledger.check(c.bootstrap())
            print(table([("figure", "value"),
                         ("zombie leader / new leader of orders-0", f"broker {old} / broker {new}"),
                         ("acks=1 tail on the zombie (first offsets)", tail),
                         ("its answers to the acks=all writes queued while stopped", answers),
                         ("new leader elected after SIGSTOP", elected),
                         ("zombie back in every ISR after SIGCONT", rejoined)]))
            print(report.table())

    def test_etcd_stopped_under_load(self):
        with new_cluster() as c:
            formed(c)
            ledger = Ledger()
            work = start_load(c, ledger)
            before = c.led_everywhere(TOPIC, PARTITIONS, IDS)
            c.etcd.stop()
            time.sleep(0.6 * TTL_S)  # the fault's length: shorter than the TTL
            c.etcd.cont()
            t_short = time.monotonic()
            wait_until(lambda: work.acked_since(t_short), RECOVERY_S, "writes after a short etcd stop")
            short_writable = since(t_short)
            after = c.led_everywhere(TOPIC, PARTITIONS, IDS)

            c.etcd.stop()
            time.sleep(2 * TTL_S)  # the fault's length: every session runs out
            c.etcd.cont()
            t_heal = time.monotonic()
            wait_until(lambda: c.led_everywhere(TOPIC, PARTITIONS, IDS), RECOVERY_S,
                       "every partition led again after etcd came back")
            led_again = since(t_heal)
            figures = [("leaders before / after a stop shorter than the TTL", f"{before} / {after}"),
                       ("writable after the short stop", short_writable),
                       ("led everywhere after a stop of twice the TTL", led_again)]
            finish(self, c, work, ledger, t_heal, figures)
            self.assertEqual(before, after, "leadership moved although etcd stopped for less than the TTL")

    def test_group_coordinator_killed_during_commits(self):
        with new_cluster() as c:
            formed(c)
            wait_until(lambda: full_isr(c, IDS, topic=OFFSETS, count=1), 30, f"a full ISR for {OFFSETS}-0")
            committer = Committer(c.bootstrap())
            committer.start()
            committer.wait_acked(30, 30)
            coordinator = c.leader(OFFSETS, 0)
            t_kill = time.monotonic()
            c.kill(coordinator)
            committer.pause(RECOVERY_S + 30)
            acked, attempted = committer.acked, committer.attempted
            rest = [i for i in IDS if i != coordinator]
            new = wait_until(lambda: (lambda led: led if led not in (None, coordinator) else None)(
                c.leader(OFFSETS, 0, rest[0])), RECOVERY_S, f"a new leader of {OFFSETS}-0")
            seen = wait_until(lambda: committed(c, rest), RECOVERY_S + 30,
                              "the new coordinator to answer the group's committed offset")
            self.assertGreaterEqual(seen, acked, f"the new coordinator {new} answers commit {seen}, older than the "
                                    f"latest acknowledged {acked}")
            self.assertLessEqual(seen, attempted, f"commit {seen} was never attempted (latest {attempted})")
            figures = [("commits acknowledged before the kill settled", acked),
                       ("latest attempted", attempted), ("committed on the new coordinator", seen),
                       ("coordinator", f"broker {coordinator} -> {new}")]
            committer.resume()
            t_resume = time.monotonic()
            committer.wait_acked(acked + 20, RECOVERY_S)
            figures.append(("20 more commits acknowledged after the failover", since(t_resume)))
            committer.pause(30)
            committer.stop()
            final = wait_until(lambda: committed(c, rest), 30, "the group's committed offset")
            self.assertEqual(final, committer.acked, "the committed offset is not the latest acknowledged commit")
            c.restart(coordinator)
            wait_until(lambda: full_isr(c, IDS, topic=OFFSETS, count=1), RECOVERY_S,
                       f"broker {coordinator} back in the ISR of {OFFSETS}-0")
            figures += [("final committed = latest acknowledged", final),
                        ("commit errors", ", ".join(f"{k} {n}" for k, n in sorted(committer.errors.items())))]
            print(table([("figure", "value")] + figures + [("total failover", since(t_kill))]))

    # Bug found here (plugins/transport/kafka, offset_fetch_handler.cpp): a
    # broker that does not coordinate the group answers OffsetFetch with
    # error NONE and offset -1 ("nothing committed") instead of
    # NOT_COORDINATOR, so a client with a stale coordinator (after a
    # failover) resets to auto.offset.reset instead of finding the new one.
    def test_offset_fetch_on_a_non_coordinator_is_refused(self):
        with new_cluster() as c:
            formed(c)
            wait_until(lambda: full_isr(c, IDS, topic=OFFSETS, count=1), 30, f"a full ISR for {OFFSETS}-0")
            coordinator = c.leader(OFFSETS, 0)
            self.assertEqual(kafka_wire.offset_commit(c.broker(coordinator).kafka_port, GROUP, TOPIC, 0, 7), 0)
            other = [i for i in IDS if i != coordinator][0]
            _, offset, error = offset_fetch(c.broker(other).kafka_port)
        self.assertEqual(error, 16, f"broker {other} (not the coordinator) answered offset {offset}, error "
                         f"{error} instead of NOT_COORDINATOR (16)")

    def test_rolling_restart(self):
        with new_cluster() as c:
            formed(c)
            ledger = Ledger()
            work = start_load(c, ledger)
            figures = []
            t_heal = time.monotonic()
            for i in IDS:
                t0 = time.monotonic()
                c.terminate(i)
                c.restart(i)
                wait_until(lambda: full_isr(c, IDS), RECOVERY_S, f"broker {i} back in every ISR after its restart")
                figures.append((f"broker {i}: SIGTERM to full ISR", since(t0)))
                t_heal = time.monotonic()
                # Load on the full cluster before the next one goes.
                wait_until(lambda: work.acked_since(t_heal), RECOVERY_S,
                           f"an acknowledged write on every partition after broker {i} rejoined")
            report = finish(self, c, work, ledger, t_heal, figures)
            self.assertEqual(report.count("lost"), 0)


def offset_fetch(port):
    """(partition, offset, error) of OffsetFetch v1 of GROUP's TOPIC-0 at
    `port`."""
    body = kafka_wire.string(GROUP) + struct.pack(">i", 1) + kafka_wire.string(TOPIC) + struct.pack(">ii", 1, 0)
    d = kafka_wire.Decoder(kafka_wire.roundtrip(port, 9, 1, body))
    d.int32(), d.string(), d.int32()  # one topic, one partition
    partition, offset, _, error = d.int32(), d.int64(), d.string(), d.int16()
    return partition, offset, error


def committed(c, ids):
    """The group's committed offset of TOPIC-0 as its coordinator answers
    (FindCoordinator v0 to the first broker of `ids` that answers, then
    OffsetFetch v1 to the coordinator it names; raw requests, each with a
    socket timeout); -1 when none is committed, None when no answer."""
    for i in ids:
        try:
            d = kafka_wire.Decoder(kafka_wire.roundtrip(c.broker(i).kafka_port, 10, 0, kafka_wire.string(GROUP)))
            error, _, _, port = d.int16(), d.int32(), d.string(), d.int32()
            if error != 0:
                continue
            _, offset, error = offset_fetch(port)
            return offset if error == 0 else None
        except OSError:
            continue
    return None


class Committer:
    """A consumer of GROUP subscribed to TOPIC committing offsets 1, 2, 3...
    of TOPIC-0, one after the other (synchronous commits), on its own
    thread. `acked` is the latest commit the coordinator acknowledged,
    `attempted` the latest sent; both only grow. Guarded by `_cv`."""

    def __init__(self, bootstrap):
        self.bootstrap = bootstrap
        self._cv = threading.Condition()
        self.acked = 0
        self.attempted = 0
        self.errors = {}
        self._paused = False
        self._idle = False
        self._stop = False
        self.failure = None
        self._thread = threading.Thread(target=self._run, name="committer", daemon=True)

    def start(self):
        self._thread.start()

    def wait_acked(self, n, timeout):
        with self._cv:
            if not self._cv.wait_for(lambda: self.acked >= n or self.failure, timeout):
                raise AssertionError(f"only {self.acked} of {n} commits acknowledged within {timeout}s "
                                     f"(errors {self.errors})")
            if self.failure:
                raise AssertionError(f"the committer failed: {self.failure}")

    def pause(self, timeout):
        """Stops committing and waits until no commit is in flight."""
        with self._cv:
            self._paused = True
            self._cv.notify_all()
            if not self._cv.wait_for(lambda: self._idle or self.failure, timeout):
                raise AssertionError(f"a commit stayed in flight for {timeout}s (a hang?)")

    def resume(self):
        with self._cv:
            self._paused = False
            self._cv.notify_all()

    def stop(self):
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        self._thread.join(30)

    def _run(self):
        consumer = None
        try:
            consumer = KafkaConsumer(bootstrap_servers=self.bootstrap.split(","), group_id=GROUP,
                                     enable_auto_commit=False, request_timeout_ms=10000, session_timeout_ms=6000,
                                     heartbeat_interval_ms=1000, retry_backoff_ms=100, reconnect_backoff_ms=50,
                                     reconnect_backoff_max_ms=500, metadata_max_age_ms=2000)
            consumer.subscribe([TOPIC])
            tp = TopicPartition(TOPIC, 0)
            while True:
                with self._cv:
                    self._idle = True
                    self._cv.notify_all()
                    self._cv.wait_for(lambda: self._stop or not self._paused)
                    if self._stop:
                        return
                    self._idle = False
                # Heartbeats and rejoins after a rebalance; not a member yet:
                # nothing may be committed.
                consumer.poll(timeout_ms=0 if consumer.assignment() else 100)
                if not consumer.assignment():
                    continue
                with self._cv:
                    n = self.attempted + 1
                    self.attempted = n
                try:
                    consumer.commit({tp: OffsetAndMetadata(n, "")})
                except KafkaError as e:
                    with self._cv:
                        self.errors[type(e).__name__] = self.errors.get(type(e).__name__, 0) + 1
                    continue
                with self._cv:
                    self.acked = n
                    self._cv.notify_all()
        except Exception as e:  # noqa: BLE001 (reported by wait_acked and pause)
            with self._cv:
                self.failure = repr(e)
                self._cv.notify_all()
        finally:
            if consumer is not None:
                consumer.close(autocommit=False)


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
