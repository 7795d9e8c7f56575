"""A real 3-broker cluster on one etcd (cluster_harness.py): membership,
controller election and failover, partition leadership, and what a broker
answers for partitions it does not lead. Replication itself (byte-identical
copies, acks=all, NOT_ENOUGH_REPLICAS) is cluster_replication_test's; here
followers matter as the ISR a new leader is chosen from.

- The brokers list each other; one controller, the same on every broker;
  every partition of a declared topic gets a leader among its 3 replicas,
  the same on every broker.
- kafka-python produces (acks=all) through the cluster and everything
  acknowledged reads back (Ledger); a consumer group finds its coordinator
  (the leader of its __consumer_offsets partition), consumes and commits.
- HTTP on a broker that does not lead a partition answers 421 naming the
  leader; the leader takes the write.
- A topic grown on one broker (HTTP CreatePartitions) grows on every broker,
  the new partitions led and followed; never shrunk.
- A topic's settings altered through one broker (AlterConfigs) change on
  every broker.
- A topic created on one broker (CreateTopics) appears, with leaders, on
  the others.
- SIGKILL of the controller: another broker takes over once the session
  TTL passes. SIGTERM of the new one: the last takes over at once (the
  session is revoked).
- A leader cut off from etcd (not from its clients) refuses writes once its
  session is lost; an in-sync follower leads the partition instead; healed,
  it joins again with a new session as a follower, nothing acknowledged lost.
- SIGKILL of a partition's leader: an in-sync follower leads it with a
  higher leader epoch; the broker comes back as a follower and rejoins the
  ISR; every acknowledged record is there.
"""
import json
import os
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import system_python  # noqa: E402,F401  (re-runs with /usr/bin/python3 for kafka-python)
from cluster_harness import Cluster, Ledger, wait_until, run_tests  # noqa: E402
from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic  # noqa: E402

BUILD_DIR = None  # set by main()
TTL_MS = 3000
TOPICS = "[topics.orders]\npartitions = 3\n"


def controllers(c, ids):
    out = set()
    for i in ids:
        try:
            out.add(c.metadata(i)["controller"])
        except OSError:
            out.add(None)
    return out


def http(c, broker_id, method, path, body=None):
    """(status, decoded JSON) of an HTTP request to broker_id."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{c.broker(broker_id).http_port}{path}", data=data,
                                 method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


class ClusterMembershipTest(unittest.TestCase):
    def test_membership_leadership_and_failover(self):
        with Cluster(BUILD_DIR, brokers=3, session_ttl_ms=TTL_MS, topics_toml=TOPICS) as c:
            c.wait_for_cluster(30)
            ids = [1, 2, 3]
            leaders = wait_until(lambda: c.led_everywhere("orders", 3, ids), 30,
                                 "every broker to report the same leader for each partition of 'orders'")
            ctl = wait_until(lambda: (lambda s: s.pop() if len(s) == 1 and None not in s and -1 not in s else None)(
                controllers(c, ids)), 30, "one controller, the same on every broker")
            self.assertIn(ctl, ids)
            wait_until(lambda: all(len(p[3]) == 3 for p in c.partitions(1, "orders").values()), 30,
                       "the followers of every partition of 'orders' to join its ISR")
            for index, (err, leader, replicas, isr) in c.partitions(1, "orders").items():
                self.assertEqual(sorted(replicas), ids, f"orders-{index}: replication factor 3")
                self.assertEqual(sorted(isr), ids, f"orders-{index}: every replica in sync")

            # Produce through the cluster: the client finds the leaders.
            ledger = Ledger()
            producer = KafkaProducer(bootstrap_servers=c.bootstrap(), acks="all", retries=10,
                                     request_timeout_ms=10000)
            for n in range(60):
                ledger.produce(producer, "orders", f"v{n}", partition=n % 3)
            producer.flush(30)
            self.assertEqual(ledger.acked_count(), 60)

            # Metrics: every broker sees 3 brokers; one is the controller.
            def metric(i, name):
                with urllib.request.urlopen(f"http://127.0.0.1:{c.broker(i).http_port}/metrics", timeout=10) as r:
                    text = r.read().decode()
                for line in text.splitlines():
                    if line.startswith(name + " "):
                        return float(line.split()[1])
                raise AssertionError(f"{name} missing from broker {i}'s /metrics")
            self.assertEqual([metric(i, "keel_cluster_brokers") for i in ids], [3.0, 3.0, 3.0])
            self.assertEqual(sum(metric(i, "keel_cluster_controller") for i in ids), 1.0)
            self.assertEqual(sum(metric(i, "keel_cluster_leader_partitions") for i in ids), 4.0)  # orders + offsets
            self.assertEqual(sum(metric(i, "keel_cluster_offline_partitions") for i in ids), 0.0)
            # Followers waiting at the log's end got the records from the
            # thread that appended them (ReplicaServer, "A parked fetch").
            self.assertGreater(
                sum(metric(i, "keel_replication_parked_fetches_answered_on_append") for i in ids), 0.0)

            # A consumer group through the cluster: its coordinator is the
            # leader of the group's __consumer_offsets partition.
            consumer = KafkaConsumer("orders", group_id="cluster-group", bootstrap_servers=c.bootstrap(),
                                     auto_offset_reset="earliest", enable_auto_commit=False,
                                     consumer_timeout_ms=20000)
            got = []
            for record in consumer:
                got.append(record.value)
                if len(got) == 60:
                    break
            self.assertEqual(sorted(got), sorted(f"v{n}".encode() for n in range(60)))
            consumer.commit()
            committed = {p: consumer.committed(TopicPartition("orders", p)) for p in range(3)}
            self.assertEqual(committed, {0: 20, 1: 20, 2: 20})
            consumer.close()

            # HTTP on a broker that does not lead orders-0: 421 naming the
            # leader; the leader itself takes it.
            other = next(i for i in ids if i != leaders[0])
            status, answer = http(c, other, "POST", "/topics/orders/records",
                                  {"records": [{"value": "via-http", "partition": 0}]})
            self.assertEqual(status, 421, answer)
            self.assertEqual(answer["error"]["leader"], leaders[0], answer)
            status, answer = http(c, leaders[0], "POST", "/topics/orders/records",
                                  {"records": [{"value": "via-http", "partition": 0}]})
            self.assertEqual(status, 200, answer)
            ledger.ack("orders", 0, answer["records"][0]["offset"], "via-http")

            # A topic created on broker 2 appears everywhere, led.
            admin = KafkaAdminClient(bootstrap_servers=c.broker(2).bootstrap, request_timeout_ms=10000)
            admin.create_topics([NewTopic("made-on-2", num_partitions=2, replication_factor=1)])
            admin.close()
            wait_until(lambda: c.led_everywhere("made-on-2", 2, ids), 30,
                       "topic 'made-on-2', created on broker 2, to be led and known on every broker")

            # Its settings changed through broker 3 change on every broker.
            admin = KafkaAdminClient(bootstrap_servers=c.broker(3).bootstrap, request_timeout_ms=10000)
            admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "made-on-2",
                                                configs={"retention.ms": "3600000"})])
            admin.close()

            def retention_ms(i):
                status, topic = http(c, i, "GET", "/topics/made-on-2")
                return topic["configs"].get("retention.ms") if status == 200 else None
            wait_until(lambda: all(retention_ms(i) == "3600000" for i in ids), 30,
                       "retention.ms=3600000, set through broker 3, on every broker")

            # Growing a topic on one broker grows it on every broker; the
            # new partitions get leaders and followers.
            status, answer = http(c, 1, "POST", "/topics/orders/partitions", {"count": 6})
            self.assertEqual(status, 200, answer)
            wait_until(lambda: c.led_everywhere("orders", 6, ids), 30,
                       "'orders', grown to 6 partitions on broker 1, to be led everywhere")
            wait_until(lambda: all(len(p[3]) == 3 for p in c.partitions(2, "orders").values()), 30,
                       "the new partitions' followers to join their ISR")
            status, answer = http(c, 2, "POST", "/topics/orders/partitions", {"count": 4})
            self.assertEqual(status, 400, answer)  # never fewer
            self.assertEqual(len(c.partitions(3, "orders")), 6)

            # Controller failover: SIGKILL, then the session TTL.
            t0 = time.monotonic()
            c.kill(ctl)
            rest = [i for i in ids if i != ctl]
            new_ctl = wait_until(
                lambda: (lambda s: s.pop() if len(s) == 1 and s <= set(rest) else None)(controllers(c, rest)),
                TTL_MS / 1000 + 20, f"a new controller among {rest} after controller {ctl} was killed")
            print(f"controller {ctl} killed: broker {new_ctl} took over in {time.monotonic() - t0:.1f} s "
                  f"(session TTL {TTL_MS} ms)")
            c.restart(ctl)
            c.wait_for_cluster(30)
            # A clean stop ends the session at once: no TTL to wait for.
            t0 = time.monotonic()
            c.terminate(new_ctl)
            rest = [i for i in ids if i != new_ctl]
            wait_until(lambda: (lambda s: len(s) == 1 and s <= set(rest))(controllers(c, rest)), 20,
                       f"a new controller among {rest} after controller {new_ctl} stopped")
            print(f"controller {new_ctl} stopped: a new one in {time.monotonic() - t0:.1f} s")
            c.restart(new_ctl)
            c.wait_for_cluster(30)

            # Leader loss: an in-sync follower takes over with a higher
            # epoch; the old leader returns as a follower.
            leaders = wait_until(lambda: c.led_everywhere("orders", 6, ids), 30, "'orders' led everywhere")
            # The restarted brokers must be back in every ISR first: a
            # partition whose only in-sync replica is the victim rightly
            # stays offline (no unclean election).
            wait_until(lambda: all(len(p[3]) == 3 for p in c.partitions(leaders[1], "orders").values()), 30,
                       "the restarted brokers to rejoin the ISR of every partition of 'orders'")
            victim = leaders[1]
            epoch_before = self.leader_epoch(c, victim, "orders", 1)
            c.kill(victim)
            rest = [i for i in ids if i != victim]
            new_leader = wait_until(
                lambda: (lambda led: led[1] if led and led[1] != victim else None)(c.led_everywhere("orders", 6, rest)),
                TTL_MS / 1000 + 20, f"an in-sync follower to lead orders-1 after its leader {victim} died")
            self.assertGreater(self.leader_epoch(c, new_leader, "orders", 1), epoch_before)
            c.restart(victim)
            wait_until(lambda: all(len(p[3]) == 3 for p in c.partitions(new_leader, "orders").values()), 60,
                       f"broker {victim} to rejoin the ISR of every partition")
            ledger.check(c.bootstrap())

    def test_a_leader_cut_off_from_etcd_stops_leading_and_comes_back(self):
        with Cluster(BUILD_DIR, brokers=3, session_ttl_ms=TTL_MS, topics_toml=TOPICS) as c:
            c.wait_for_cluster(30)
            ids = [1, 2, 3]
            leaders = wait_until(lambda: c.led_everywhere("orders", 3, ids), 30, "'orders' led everywhere")
            victim = leaders[0]
            # Only an in-sync follower may take over (no unclean election):
            # cut before the followers joined the ISR and orders-0 would
            # rightly stay offline.
            wait_until(lambda: all(len(p[3]) == 3 for p in c.partitions(victim, "orders").values()), 30,
                       "the followers of every partition of 'orders' to join its ISR")
            ledger = Ledger()
            sent = iter(range(1000000))

            def write_to_victim():
                value = f"w{next(sent)}"
                status, answer = http(c, victim, "POST", "/topics/orders/records",
                                      {"records": [{"value": value, "partition": 0}]})
                if status == 200:
                    ledger.ack("orders", 0, answer["records"][0]["offset"], value)
                return status

            self.assertEqual(write_to_victim(), 200)
            # Cut off from etcd but not from its clients: once its session
            # is lost it must refuse writes, whatever it still believes.
            c.isolate_from_etcd(victim)
            t0 = time.monotonic()
            wait_until(lambda: write_to_victim() != 200, TTL_MS / 1000 + 20,
                       f"broker {victim}, cut off from etcd, to stop taking writes for orders-0")
            print(f"broker {victim} cut off from etcd: refused writes after {time.monotonic() - t0:.1f} s "
                  f"(session TTL {TTL_MS} ms)")
            rest = [i for i in ids if i != victim]
            new_leader = wait_until(
                lambda: (lambda led: led[0] if led and led[0] != victim else None)(c.led_everywhere("orders", 3, rest)),
                TTL_MS / 1000 + 20, "an in-sync follower to lead orders-0 on the other brokers")
            for _ in range(3):
                self.assertNotEqual(write_to_victim(), 200, f"broker {victim} took a write without a session")
            c.heal_etcd(victim)
            wait_until(lambda: all(len(p[3]) == 3 for p in c.partitions(new_leader, "orders").values()), 60,
                       f"broker {victim} to rejoin the cluster and the ISR of every partition")
            value = "after-heal"
            status, answer = http(c, new_leader, "POST", "/topics/orders/records",
                                  {"records": [{"value": value, "partition": 0}]})
            self.assertEqual(status, 200, answer)
            ledger.ack("orders", 0, answer["records"][0]["offset"], value)
            ledger.check(c.bootstrap())

    @staticmethod
    def leader_epoch(c, broker_id, topic, partition):
        """The leader epoch of topic/partition in broker_id's GET /cluster."""
        status, view = http(c, broker_id, "GET", "/cluster")
        assert status == 200, view
        for t in view["topics"]:
            if t["name"] == topic:
                for p in t["partitions"]:
                    if p["partition"] == partition:
                        return p["leader_epoch"]
        raise AssertionError(f"{topic}-{partition} not in GET /cluster of broker {broker_id}: {view}")


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
