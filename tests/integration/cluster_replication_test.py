"""Replication in a real 3-broker cluster on etcd (docs/design/replication.md):
followers copy their leader, the ISR means "has every acknowledged record",
acks=all waits for min_insync_replicas copies, and a leader's death moves the
partition to a follower without losing anything acknowledged.

- Every follower joins the ISR once it has caught up; the three copies of
  each partition become byte-identical (followers keep the leader's
  offsets, leader epochs and producer ids).
- SIGKILL of a leader under acks=all: another ISR member leads, every
  acknowledged record reads back from it (Ledger); the killed broker comes
  back as a follower, truncates what it had beyond the new leader's log by
  leader epoch, catches up, rejoins the ISR, and its copy matches again.
- The restarted broker leads its preferred partitions again once it is in
  sync (preferred-leader election, every leader_rebalance_interval_ms).
- With both followers of a partition gone, acks=all is refused with
  NOT_ENOUGH_REPLICAS (min_insync_replicas = 2) while acks=1 still works;
  once they return and catch up, acks=all works again.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import system_python  # noqa: E402,F401  (re-runs with /usr/bin/python3 for kafka-python)
import segment_files  # noqa: E402
from cluster_harness import Cluster, Ledger, wait_until, run_tests  # noqa: E402
from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.errors import KafkaError  # noqa: E402

BUILD_DIR = None  # set by main()
TTL_MS = 3000
PARTITIONS = 3
TOPICS = f"[topics.orders]\npartitions = {PARTITIONS}\nmin_insync_replicas = 2\n"
# Shared with the other cluster tests (imported): leaderships move only by
# the faults a test makes, never by a preferred-leader rebalance.
CLUSTER = "replica_lag_time_max_ms = 2000\nleader_rebalance_interval_ms = 0"
# This file's own cluster also hands partitions back to their preferred
# replica within a second.
REBALANCING = "replica_lag_time_max_ms = 2000\nleader_rebalance_interval_ms = 1000"


def new_cluster():
    return Cluster(BUILD_DIR, brokers=3, session_ttl_ms=TTL_MS, topics_toml=TOPICS, cluster_toml=REBALANCING)


def full_isr(c, ids, topic="orders", count=PARTITIONS, size=3):
    """The leaders when every broker of `ids` reports each partition led by
    the same broker with an ISR of `size`; None otherwise."""
    leaders = c.led_everywhere(topic, count, ids)
    if leaders is None:
        return None
    for i in ids:
        for index, (_, _, _, isr) in c.partitions(i, topic).items():
            if len(isr) != size:
                return None
    return leaders


def log_bytes(c, broker_id, partition, topic="orders"):
    """The concatenated batches of a partition's copy on a broker, each
    segment file read up to its data's end (segment_files)."""
    d = os.path.join(c.broker(broker_id).data_dir, f"{topic}-{partition}")
    return b"".join(segment_files.data_bytes(path) for path in segment_files.segment_logs(d))


def identical(c, ids, count=PARTITIONS):
    for p in range(count):
        copies = {log_bytes(c, i, p) for i in ids}
        if len(copies) != 1:
            return False
    return True


def covers_acked(c, ids, ledger, topic="orders"):
    """True when the high watermarks the leaders answer (ListOffsets latest)
    are past every acknowledged offset: a new leader's high watermark moves
    up once its ISR followers have fetched from it in its new epoch."""
    needed = {}
    for _, (partition, offset) in ledger._acked.get(topic, {}).items():
        needed[partition] = max(needed.get(partition, 0), offset + 1)
    consumer = KafkaConsumer(bootstrap_servers=",".join(c.broker(i).bootstrap for i in ids), group_id=None,
                             request_timeout_ms=5000)
    try:
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in needed])
    except Exception:  # noqa: BLE001  (a broker between leaders: ask again)
        return False
    finally:
        consumer.close()
    return all(ends[TopicPartition(topic, p)] >= n for p, n in needed.items())


def thread_names(pid):
    names = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                names.append(f.read().strip())
        except OSError:
            pass  # the thread ended meanwhile
    return names


def check_thread_names(test, c, ids):
    """Every thread of a clustered broker says what it is for
    (docs/architecture.md, "Threads"); only the main thread keeps the
    process's name."""
    every = set()
    for i in ids:
        names = thread_names(c.broker(i).proc.pid)
        every.update(names)
        test.assertEqual(names.count("keel"), 1, f"broker {i}'s threads: {sorted(names)}")
        for expected in ("flusher", "maintenance", "cluster", "repl-control", "repl-accept", "kafka-services",
                         "kafka-loop-0", "etcd-lease"):
            test.assertIn(expected, names, f"broker {i}")
    # Partitions are led all over: every broker both serves and fetches.
    test.assertIn("repl-serve", every)
    test.assertTrue(any(n.startswith("repl-fetch-") for n in every), sorted(every))


def producer(c, ids, acks="all", retries=10):
    return KafkaProducer(bootstrap_servers=",".join(c.broker(i).bootstrap for i in ids), acks=acks,
                         retries=retries, request_timeout_ms=10000, retry_backoff_ms=200,
                         max_in_flight_requests_per_connection=1)


class ClusterReplicationTest(unittest.TestCase):
    def test_followers_copy_and_take_over(self):
        with new_cluster() as c:
            c.wait_for_cluster(30)
            ids = [1, 2, 3]
            wait_until(lambda: full_isr(c, ids), 30, "every follower of 'orders' to join the ISR")
            ledger = Ledger()
            p = producer(c, ids)
            for n in range(600):
                ledger.produce(p, "orders", f"a{n}", partition=n % PARTITIONS)
            p.flush(60)
            self.assertEqual(ledger.acked_count(), 600)
            wait_until(lambda: identical(c, ids), 30, "the three copies of every partition to be byte-identical")
            check_thread_names(self, c, ids)

            leaders = c.led_everywhere("orders", PARTITIONS, ids)
            victim = leaders[0]
            c.kill(victim)
            alive = [i for i in ids if i != victim]
            new_leaders = wait_until(
                lambda: (lambda led: led if led and victim not in led.values() else None)(
                    c.led_everywhere("orders", PARTITIONS, alive)), 30,
                f"new leaders for broker {victim}'s partitions after its SIGKILL")
            self.assertNotIn(victim, new_leaders.values())
            wait_until(lambda: covers_acked(c, alive, ledger), 30,
                       "the new leaders' high watermarks to cover every acknowledged record")
            report = ledger.check(",".join(c.broker(i).bootstrap for i in alive), timeout=60)
            self.assertEqual(report.count("lost"), 0)

            # acks=all still works with two copies (min_insync_replicas 2).
            p.close()
            p = producer(c, alive)
            for n in range(300):
                ledger.produce(p, "orders", f"b{n}", partition=n % PARTITIONS)
            p.flush(60)
            self.assertEqual(ledger.acked_count(), 900)

            # The victim returns as a follower, catches up, rejoins the ISR.
            c.restart(victim)
            wait_until(lambda: full_isr(c, ids), 60, f"broker {victim} to rejoin the ISR of every partition")
            wait_until(lambda: identical(c, ids), 30, "every copy to be byte-identical again")
            # Preferred-leader election hands its partitions back to it.
            wait_until(lambda: c.led_everywhere("orders", PARTITIONS, ids) == leaders, 30,
                       f"broker {victim} to lead its preferred partitions again (leader rebalance)")
            p.close()
            report = ledger.check(c.bootstrap(), timeout=60)
            self.assertTrue(report.ok, report.table())
            print(f"  {report.summary()}")

    def test_not_enough_replicas(self):
        with new_cluster() as c:
            c.wait_for_cluster(30)
            ids = [1, 2, 3]
            leaders = wait_until(lambda: full_isr(c, ids), 30, "every follower of 'orders' to join the ISR")
            leader = leaders[0]
            followers = [i for i in ids if i != leader]
            for f in followers:
                c.kill(f)
            # Their sessions end: the controller (the leader, the only one
            # left) takes them out of the ISR.
            wait_until(lambda: (lambda parts: parts and list(parts[0][3]) == [leader])(c.partitions(leader, "orders")), 30,
                       f"orders-0's ISR to shrink to its leader {leader}")
            p = producer(c, [leader], retries=0)
            with self.assertRaises(KafkaError) as refused:
                p.send("orders", b"refused", partition=0).get(timeout=30)
            self.assertIn("NotEnoughReplicas", type(refused.exception).__name__)
            p.close()
            p1 = producer(c, [leader], acks=1)
            p1.send("orders", b"acks-1", partition=0).get(timeout=30)
            p1.close()

            for f in followers:
                c.restart(f)
            wait_until(lambda: full_isr(c, ids), 60, "the followers to catch up and rejoin the ISR")
            p = producer(c, ids)
            md = p.send("orders", b"accepted", partition=0).get(timeout=30)
            self.assertGreaterEqual(md.offset, 1)
            p.close()


def main():
    run_tests(sys.modules[__name__])


if __name__ == "__main__":
    main()
