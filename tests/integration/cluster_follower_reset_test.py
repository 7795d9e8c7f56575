"""A follower whose log ends below its leader's log start starts over there
(PartitionLog::reset_to, Kafka's truncate-fully-and-start-at) instead of
asking for offsets the leader no longer has forever.

Brokers on etcd, one partition with 1 KiB segments and size retention of
4 KiB, retention checked every 200 ms. A follower is SIGKILLed after
copying 50 records; 100 more go to the leader, whose retention deletes old
segments until its log starts past the follower's end. The follower comes
back:
- with its old data (two brokers: it was down while retention ran);
- with its partition directory wiped (two brokers: its disk was replaced);
- with its old data, after its leader died too (three brokers): the third
  broker leads in a new epoch and its retention drops every batch of the
  epoch the follower last fetched (the leader checks the log start before
  the epochs, which would otherwise answer a divergence that truncation
  cannot resolve).
In every case it logs the reset, rejoins the ISR, and its copy is byte for
byte the leader's over the offsets both hold, before and after more records.
"""
import os
import re
import shutil
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import system_python  # noqa: E402,F401  (re-runs with /usr/bin/python3 for kafka-python)
import segment_files  # noqa: E402
from cluster_harness import Cluster, run_tests, wait_until  # noqa: E402
from kafka import KafkaProducer  # noqa: E402

BUILD_DIR = None  # set by main()
TOPIC = "t"
TOPICS = f"""[topics.{TOPIC}]
partitions = 1
segment_bytes = 1024
retention = ["size"]
[topics.{TOPIC}.plugins.size]
retention_bytes = 4096
"""
BEFORE_KILL = 50
WHILE_DOWN = 100
VALUE = b"x" * 200  # one record per batch (sync sends): a few batches per segment


def new_cluster(brokers):
    return Cluster(BUILD_DIR, brokers=brokers, topics_toml=TOPICS, broker_toml="retention_check_ms = 200",
                   cluster_toml="replica_lag_time_max_ms = 2000")


def gauge(c, broker_id, name):
    """The value of gauge `name` for t-0 in broker `broker_id`'s /metrics;
    None when it does not answer or has no such line."""
    url = f"http://127.0.0.1:{c.broker(broker_id).http_port}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    m = re.search(rf'^{name}{{topic="{TOPIC}",partition="0"}} (\S+)$', text, re.M)
    return int(float(m.group(1))) if m else None


def batches(c, broker_id):
    """{base offset: batch bytes} of every batch in broker `broker_id`'s
    segment files of t-0, each read up to its data's end (segment_files:
    a reused or preallocated file goes on past it); None if a file went
    (retention) while reading."""
    d = os.path.join(c.broker(broker_id).data_dir, f"{TOPIC}-0")
    try:
        return {base: data for path in segment_files.segment_logs(d)
                for _, base, _, data in segment_files.batches(path)}
    except FileNotFoundError:
        return None


def isr(c, ask):
    parts = c.partitions(ask, TOPIC)
    return sorted(parts[0][3]) if 0 in parts else []


def produce(c, ids, count, tag):
    p = KafkaProducer(bootstrap_servers=c.bootstrap(ids), acks="all", retries=10, request_timeout_ms=10000,
                      retry_backoff_ms=200, max_in_flight_requests_per_connection=1)
    try:
        for n in range(count):
            p.send(TOPIC, VALUE + f"{tag}{n}".encode(), partition=0).get(timeout=30)
    finally:
        p.close()


class FollowerResetTest(unittest.TestCase):
    def run_case(self, wipe=False, new_epoch=False):
        brokers = 3 if new_epoch else 2
        with new_cluster(brokers) as c:
            c.wait_for_cluster(30)
            ids = list(range(1, brokers + 1))
            leader = wait_until(lambda: c.leader(TOPIC, 0) if isr(c, 1) == ids else None, 30,
                                "t-0 to have a leader and every broker in its ISR")
            follower = [i for i in ids if i != leader][-1]
            produce(c, ids, BEFORE_KILL, "a")
            # A producer's retry may store a record twice: count offsets, not sends.
            kept = wait_until(lambda: (lambda e: e if e and e == gauge(c, follower, "keel_log_end_offset") else None)(
                gauge(c, leader, "keel_log_end_offset")), 30, f"broker {follower} to copy all of t-0")
            c.kill(follower)
            alive = [i for i in ids if i != follower]

            produce(c, [leader], WHILE_DOWN, "b")
            behind = kept  # the leader's log must start past this
            if new_epoch:
                # The leader dies: the third broker leads in a new epoch, and
                # its retention drops every batch of the epoch the follower
                # last fetched, so its leader epoch cache starts after it.
                c.kill(leader)
                alive.remove(leader)
                leader = alive[0]
                wait_until(lambda: c.leader(TOPIC, 0, leader) == leader, 30,
                           f"broker {leader} to lead t-0 after the SIGKILL of its leader")
                behind = gauge(c, leader, "keel_log_end_offset")  # where the new epoch starts
                produce(c, [leader], WHILE_DOWN, "d")

            def start_past():
                s = gauge(c, leader, "keel_log_start_offset")
                if s is not None and s > behind:
                    return s
                produce(c, [leader], 5, "e")  # a follower's large appends make large segments: more to roll
                return None
            start = wait_until(start_past, 60,
                               f"leader broker {leader}'s retention to move its log start past {behind}")
            end = gauge(c, leader, "keel_log_end_offset")
            self.assertGreaterEqual(end, kept + WHILE_DOWN * (2 if new_epoch else 1))
            if wipe:
                shutil.rmtree(os.path.join(c.broker(follower).data_dir, f"{TOPIC}-0"))

            c.restart(follower)
            alive = sorted(alive + [follower])
            b = c.broker(follower)
            wait_until(lambda: b.logged(f"{TOPIC}-0: reset to offset"), 30,
                       f"broker {follower} to reset t-0 to the leader's log start")
            line = re.search(rf"{TOPIC}-0: reset to offset (\d+).*", b.output())
            print(f"  broker {follower}: {line.group(0)}")
            reset_at = int(line.group(1))
            self.assertGreaterEqual(reset_at, start)
            self.assertIn(f"below leader broker {leader}'s log start", line.group(0))
            wait_until(lambda: isr(c, leader) == alive, 30, f"broker {follower} to rejoin t-0's ISR")
            self.same_copies(c, leader, follower, end, reset_at)

            # It goes on copying, in the ISR (acks=all waits for it).
            produce(c, alive, 20, "c")
            self.same_copies(c, leader, follower, end + 20, reset_at)
            self.assertEqual(isr(c, leader), alive)

    def same_copies(self, c, leader, follower, at_least, reset_at):
        wait_until(lambda: (lambda ends: ends[0] == ends[1] and ends[0] >= at_least)(
            [gauge(c, i, "keel_log_end_offset") or 0 for i in (leader, follower)]), 30,
                   f"both copies of t-0 to end at the same offset, at least {at_least}")

        def compared():
            mine, theirs = batches(c, follower), batches(c, leader)
            if not mine or not theirs:
                return None
            # Each side's retention trims its own copy: compare what both hold.
            common = max(min(mine), min(theirs))
            return ({o: v for o, v in mine.items() if o >= common}, {o: v for o, v in theirs.items() if o >= common},
                    min(mine))
        mine, theirs, first = wait_until(compared, 30, "the segment files of both copies to be readable")
        self.assertGreater(len(theirs), 1)
        self.assertEqual(sorted(mine), sorted(theirs))
        self.assertEqual(mine, theirs, "the copies differ byte for byte")
        # Nothing of the old log came back.
        self.assertGreaterEqual(first, reset_at)

    def test_follower_behind_the_leaders_log_start_resets(self):
        self.run_case(wipe=False)

    def test_follower_with_a_replaced_disk_resets(self):
        self.run_case(wipe=True)

    def test_follower_whose_last_epoch_the_leader_no_longer_holds_resets(self):
        self.run_case(new_epoch=True)


def main():
    run_tests(sys.modules[__name__])


if __name__ == "__main__":
    main()
