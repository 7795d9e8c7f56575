"""The cluster test harness itself (cluster_harness.py), with real processes:

- EtcdProcess: start, put/get, SIGSTOP (no answer) and SIGCONT, SIGKILL and
  restart on the same data directory and ports (the key survives), SIGTERM;
  a missing etcd is a clear error; three members survive one member's kill.
- Cluster plumbing with N independent single-node brokers
  (cluster_section=False, until the broker understands [cluster]): distinct
  ports, Metadata from each through its Kafka proxy (its id, the proxy's
  port), cutting one broker's Kafka links and healing, each broker's own
  proxied path to etcd and isolating one of them, kill/restart on the same
  data and ports, SIGSTOP/SIGCONT, and the logs printed when a `with` block
  fails. (Cuts between two brokers need brokers that talk to each other:
  their classification is tested in link_proxy_test.)
- The [cluster] section written for cluster mode, parsed back with tomllib.
- Replication links through each broker's replication proxy, in a real
  3-broker cluster on etcd: every broker registers its proxy's port as
  listener "replication"; a leader's proxy labels its followers'
  connections with their ids; cutting one follower's link takes only that
  follower out of the ISR, and healing it brings it back.
- Ledger against real records read back with kafka-python: a clean run
  passes; a lost, a moved and a duplicated record are each reported.
"""
import argparse
import contextlib
import io
import json
import os
import shutil
import signal
import sys
import tempfile
import tomllib
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import system_python  # noqa: E402,F401  (re-runs with /usr/bin/python3 for kafka-python)
from cluster_harness import BLACKHOLE, REJECT, Cluster, EtcdMissing, EtcdProcess, Ledger, etcd_members  # noqa: E402
from keel_harness import wait_until  # noqa: E402
from kafka import KafkaProducer  # noqa: E402

BUILD_DIR = None  # set by main()


def workdir(test):
    d = tempfile.mkdtemp(prefix="keel-charness-")
    if not os.environ.get("KEEL_IT_KEEP"):
        test.addCleanup(shutil.rmtree, d, True)
    return d


def succeeds(fn):
    """Whether fn() returns without an I/O or HTTP error."""
    try:
        fn()
        return True
    except OSError:  # urllib's URLError and HTTPError included
        return False


class EtcdProcessTest(unittest.TestCase):
    def test_stop_cont_kill_restart_keep_data_and_ports(self):
        etcd = EtcdProcess(workdir(self))
        self.addCleanup(etcd.kill)
        etcd.start()
        etcd.put("/keel/probe", "one")
        self.assertEqual(etcd.get("/keel/probe"), b"one")
        self.assertIsNone(etcd.get("/keel/absent"))
        self.assertEqual(etcd.get_prefix("/keel/"), {"/keel/probe": b"one"})

        etcd.stop()
        self.assertFalse(etcd.answers(0.3), "a SIGSTOPped etcd answered")
        etcd.cont()
        wait_until(etcd.answers, 10, "etcd to answer after SIGCONT")

        port = etcd.client_port
        etcd.kill()
        self.assertFalse(etcd.alive())
        self.assertFalse(etcd.answers(0.3), "a killed etcd answered")
        etcd.restart()
        self.assertEqual(etcd.client_port, port)
        self.assertEqual(etcd.get("/keel/probe"), b"one", "the key did not survive SIGKILL and restart")

        self.assertEqual(etcd.terminate(), -signal.SIGTERM)
        etcd.start()
        self.assertEqual(etcd.get("/keel/probe"), b"one")
        self.assertEqual(etcd.terminate(), -signal.SIGTERM)

    def test_missing_etcd_says_how_to_install_it(self):
        old = os.environ.get("KEEL_ETCD")
        os.environ["KEEL_ETCD"] = "/nonexistent/etcd"
        try:
            with self.assertRaises(EtcdMissing) as e:
                EtcdProcess(workdir(self)).start()
        finally:
            if old is None:
                del os.environ["KEEL_ETCD"]
            else:
                os.environ["KEEL_ETCD"] = old
        self.assertIn("etcd-server", str(e.exception))
        self.assertIn("/nonexistent/etcd", str(e.exception))

    def test_three_members_survive_one_kill(self):
        members = etcd_members(workdir(self), 3)
        for m in members:
            self.addCleanup(m.kill)
        members[0].put("k", "v")
        members[2].kill()
        # If it led, the others elect a new leader first (etcd's 1 s
        # election timeout, longer on a loaded machine).
        wait_until(lambda: succeeds(lambda: members[1].put("k", "v2", timeout=2)), 20,
                   "a put through member 1 after member 2's kill")
        members[2].restart()
        wait_until(lambda: members[2].get("k") == b"v2", 20, "the restarted member to catch up")


class ClusterTest(unittest.TestCase):
    def test_plumbing_with_independent_brokers(self):
        topics = "[topics.ledger]\npartitions = 3\n"
        with Cluster(BUILD_DIR, brokers=3, cluster_section=False, topics_toml=topics) as c:
            ports = [p for b in c.brokers.values()
                     for p in (b.kafka_port, b.kafka_listen_port, b.http_port, b.etcd_links[0].port)]
            self.assertEqual(len(set(ports)), 12, f"ports repeat: {ports}")
            self.assertEqual(c.bootstrap(), ",".join(f"127.0.0.1:{c.broker(i).kafka_port}" for i in (1, 2, 3)))
            for i in (1, 2, 3):  # through its proxy, advertising the proxy's port
                self.assertEqual(c.metadata(i)["brokers"], [(i, "127.0.0.1", c.broker(i).kafka_port)])
                self.assertEqual({label for label in c.broker(i).kafka_link.labels() if label is not None}, set(),
                                 "the test's connection got a broker's label")

            # Kafka links: a broker cut off from clients, and a cut between two
            # brokers that leaves clients alone.
            c.isolate_kafka(2)
            self.assertFalse(c.answers(2, 0.5), "an isolated broker answered through its proxy")
            self.assertTrue(c.answers(1) and c.answers(3))
            c.heal()
            self.assertTrue(c.answers(2, 5.0))
            c.cut(1, 2)
            self.assertTrue(c.answers(1) and c.answers(2))
            c.partition([[1], [2, 3]], mode=REJECT)
            self.assertTrue(c.answers(1) and c.answers(3))
            c.heal()

            # Each broker's own path to etcd, and cutting one of them.
            links = {i: c.broker(i).etcd_links[0].port for i in (1, 2, 3)}
            c.etcd.put("/keel/test/x", "through broker 1's link", port=links[1])
            self.assertEqual(c.etcd.get("/keel/test/x", port=links[3]), b"through broker 1's link")
            c.isolate_from_etcd(2)
            self.assertFalse(c.etcd.answers(0.5, port=links[2]), "etcd answered through an isolated link")
            self.assertTrue(c.etcd.answers(2.0, port=links[1]))
            c.heal_etcd(2)
            wait_until(lambda: c.etcd.answers(1.0, port=links[2]), 10, "etcd through broker 2's healed link")

            # Records acknowledged by broker 2 survive its SIGKILL and restart.
            ledger = Ledger()
            produce(ledger, c.broker(2).bootstrap, "ledger", 50)
            port = c.broker(2).kafka_port
            c.kill(2)
            self.assertFalse(c.answers(2, 0.5))
            c.restart(2)
            self.assertEqual(c.broker(2).kafka_port, port)
            report = ledger.check(c.broker(2).bootstrap)
            self.assertEqual((report.acked, report.read), (50, 50), report.table())

            c.stop(3)
            self.assertFalse(c.answers(3, 0.5), "a SIGSTOPped broker answered")
            self.assertEqual(c.alive_ids(), [1, 2])
            c.cont(3)
            self.assertTrue(c.answers(3, 5.0))

    def test_a_failing_block_prints_every_log_and_keeps_the_directory(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), self.assertRaises(ZeroDivisionError):
            with Cluster(BUILD_DIR, brokers=2, cluster_section=False) as c:
                1 / 0
        shutil.rmtree(c.workdir, ignore_errors=True)
        text = out.getvalue()
        for i in (1, 2):
            self.assertIn(f"---- broker {i} (", text)
        self.assertIn("broker ready", text)
        self.assertIn("---- etcd ", text)
        self.assertIn(f"kept {c.workdir}", text)
        self.assertFalse(c.broker(1).alive() or c.etcd.alive(), "processes left running")

    def test_cluster_section_points_at_each_brokers_proxies(self):
        c = Cluster(BUILD_DIR, brokers=2, etcd_count=3, workdir=workdir(self))
        self.addCleanup(c.kill_all)
        direct = Cluster(BUILD_DIR, brokers=1, kafka_proxies=False, replication_proxies=False,
                         workdir=workdir(self))
        self.addCleanup(direct.kill_all)
        with open(direct.broker(1).config_path, "rb") as f:
            config = tomllib.load(f)
        self.assertEqual(config["transports"]["kafka"], {"listen": f"127.0.0.1:{direct.broker(1).kafka_port}"})
        self.assertEqual(config["cluster"]["replication_listen"],
                         f"127.0.0.1:{direct.broker(1).replication_listen_port}")
        self.assertNotIn("replication_advertised_port", config["cluster"])
        for i in (1, 2):
            b = c.broker(i)
            with open(b.config_path, "rb") as f:
                config = tomllib.load(f)
            endpoints = ",".join(f"127.0.0.1:{link.port}" for link in b.etcd_links)
            self.assertEqual(config["cluster"], {
                "broker_id": i, "cluster_id": "test", "coordinator": "etcd", "advertised_host": "127.0.0.1",
                "default_replication_factor": 2, "replication_listen": f"127.0.0.1:{b.replication_listen_port}",
                "replication_advertised_port": b.replication_link.port,
                "etcd": {"endpoints": endpoints, "prefix": "/keel/", "session_ttl_ms": 3000}})
            self.assertEqual(config["transports"]["kafka"], {"listen": f"127.0.0.1:{b.kafka_listen_port}",
                                                             "advertised_port": b.kafka_port})
            self.assertEqual(config["broker"]["data_dir"], b.data_dir)
            self.assertEqual([link.target[1] for link in b.etcd_links], [m.client_port for m in c.etcds])
            self.assertEqual(b.replication_link.target[1], b.replication_listen_port)

    def test_replication_links_go_through_proxies(self):
        topics = "[topics.r]\npartitions = 1\n"
        with Cluster(BUILD_DIR, brokers=3, topics_toml=topics, cluster_toml="replica_lag_time_max_ms = 1000") as c:
            c.wait_for_cluster(30)
            ids = [1, 2, 3]

            def isr():
                parts = c.partitions(1, "r")
                return (parts[0][1], set(parts[0][3])) if parts and parts[0][0] == 0 else (None, set())

            leader = wait_until(lambda: (lambda led, members: led if members == set(ids) else None)(*isr()), 30,
                                "r-0's followers to join its ISR")
            followers = [i for i in ids if i != leader]
            for i in ids:  # registered at its proxy's port, not the port it binds
                record = json.loads(c.etcd.get(f"/keel/test/brokers/{i}"))
                self.assertEqual(record["listeners"]["replication"],
                                 {"host": "127.0.0.1", "port": c.broker(i).replication_link.port}, record)
            link = c.broker(leader).replication_link
            wait_until(lambda: set(followers) <= set(link.labels()), 30,
                       f"broker {leader}'s replication proxy to hold a connection of each follower {followers}")
            self.assertNotIn(None, link.labels(), "a follower's connection was not told apart")

            cut, kept = followers
            c.cut_replication(leader, cut)
            self.assertEqual(link.source_modes, {cut: BLACKHOLE})
            wait_until(lambda: isr() == (leader, {leader, kept}), 30,
                       f"only broker {cut}, cut from leader {leader}, to leave r-0's ISR")
            c.heal_replication(leader, cut)
            wait_until(lambda: isr() == (leader, set(ids)), 30, f"broker {cut} back in r-0's ISR once healed")


class LedgerTest(unittest.TestCase):
    def test_reports_lost_moved_and_duplicated_records(self):
        with Cluster(BUILD_DIR, brokers=1, cluster_section=False, topics_toml="[topics.t]\npartitions = 2\n") as c:
            c.wait_for_cluster(10)
            bootstrap = c.broker(1).bootstrap
            good = Ledger()
            acks = produce(good, bootstrap, "t", 40)
            self.assertTrue(good.check(bootstrap).ok)

            bad = Ledger()
            p, o, value = acks[1]
            bad.ack("t", p, o + 1000, value)  # stored, but at another offset
            bad.ack("t", 0, 5000, "never-written")
            producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
            md = producer.send("t", value=b"twice", partition=1).get(timeout=30)
            producer.send("t", value=b"twice", partition=1).get(timeout=30)
            producer.close()
            bad.ack("t", md.partition, md.offset, "twice")
            report = bad.check(bootstrap, raise_on_problem=False)
            self.assertEqual([report.count(k) for k in ("lost", "moved", "duplicated")], [1, 1, 1], report.table())
            table = report.table()
            self.assertIn("never-written", table)
            self.assertIn(f"{p}/{o}", table)
            self.assertIn("twice", table)
            self.assertIn(f"{md.partition}/{md.offset}, {md.partition}/{md.offset + 1}", table)
            with self.assertRaises(AssertionError):
                bad.check(bootstrap)
            print(table)


def produce(ledger, bootstrap, topic, count, first=0):
    """`count` records "v-<n>" through `ledger` with acks=all; returns the
    acknowledged (partition, offset, value)."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=5)
    futures = [ledger.produce(producer, topic, f"v-{n}") for n in range(first, first + count)]
    producer.flush(30)
    producer.close()
    acks = []
    for n, f in zip(range(first, first + count), futures):
        md = f.get(timeout=1)
        acks.append((md.partition, md.offset, f"v-{n}"))
    return acks


def main():
    global BUILD_DIR
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", required=True)
    p.add_argument("--source-dir")
    args, rest = p.parse_known_args()
    BUILD_DIR = args.build_dir
    unittest.main(module="__main__", argv=[sys.argv[0], "-v", *rest])


if __name__ == "__main__":
    main()
