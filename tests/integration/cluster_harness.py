"""A local Keel cluster for integration tests: one etcd (or several members)
and N `keel` brokers, each a real process on free loopback ports with its own
data directory (python3 standard library only).

LinkProxies (link_proxy.py) sit on the links a test cuts:
- broker i -> etcd: each broker reaches each etcd member only through its own
  proxy, so isolate_from_etcd(i) cuts one broker off etcd;
- -> broker j's Kafka listener: the broker binds an internal port and
  advertises its proxy's port (transports.kafka advertised_port), so clients
  and the other brokers all come through the proxy. The proxy tells the
  brokers' connections apart by the process that opened them
  (socket_owner.py), so cut(i, j) cuts the link between brokers i and j
  only, isolate_kafka(i) cuts i from clients and peers, and
  partition([[1], [2, 3]]) cuts every link (Kafka and replication) across
  the groups. That the
  brokers reach each other at the advertised port is the cluster code's
  promise; kafka_proxies=False connects everyone directly.
- -> broker j's replication listener: the broker binds a port of its own
  ([cluster] replication_listen) and advertises its proxy's
  ([cluster] replication_advertised_port), so every follower fetches from j
  through j's replication proxy, which labels connections by the broker
  that opened them, as the Kafka proxy does: cut_replication(j, i) cuts
  the link follower i -> leader j only (i's fetches of every partition j
  leads), cut_replication(j) every follower's, isolate_replication(j) also
  j's own fetches from the others. replication_proxies=False connects the
  brokers directly.

    with Cluster(args.build_dir, brokers=3) as c:
        c.wait_for_cluster(30)          # every broker lists all 3 in Metadata
        c.isolate_from_etcd(2)          # broker 2's links to etcd black-holed
        c.partition([[1], [2, 3]])      # broker 1 alone (Kafka, replication), etcd untouched
        c.cut_replication(1, 2)         # broker 2 cannot fetch from broker 1
        c.heal()
        c.kill(3); c.restart(3)         # SIGKILL, then the same data and ports
        ledger.check(c.bootstrap())     # see ledger.py

Brokers are numbered by their broker_id, 1..N, in every method. On a failing
`with` block the tail of every broker's log and of etcd's is printed and the
scratch directory is kept (its path printed); KEEL_IT_KEEP=1 keeps it always.

Each broker's config is written at construction (so a test can read or check
it before start()): [broker], the [cluster] section with [cluster.etcd]
pointing at the broker's own proxies (with cluster_section=False: a
[cluster] on the in-process standalone coordinator instead, so the brokers
are N independent clusters of one, each reporting its broker id), and the
Kafka and HTTP transports.

Threads: a Cluster is driven from one test thread; each LinkProxy has its
own thread (link_proxy.py), which also runs the Cluster's classifier (it
only reads the brokers' pids).
"""
import argparse
import itertools
import os
import shutil
import socket
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_wire  # noqa: E402
from cluster_broker import LOG_TAIL, ClusterBroker  # noqa: E402
from etcd_process import EtcdMissing, EtcdProcess, etcd_members, free_ports  # noqa: E402
from keel_harness import wait_until  # noqa: E402
from ledger import Ledger, LedgerReport  # noqa: E402
from link_proxy import BLACKHOLE, PASS, REJECT, LinkProxy  # noqa: E402
from socket_owner import owner_pid  # noqa: E402

def run_tests(module):
    """The main of a cluster test file: --build-dir (and the --source-dir
    ctest passes) set module.BUILD_DIR; the rest goes to unittest."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--source-dir", default=None)
    args, rest = parser.parse_known_args()
    module.BUILD_DIR = args.build_dir
    unittest.main(module=module, argv=[sys.argv[0]] + rest, verbosity=2)


__all__ = ["BLACKHOLE", "PASS", "REJECT", "Cluster", "ClusterBroker", "EtcdMissing", "EtcdProcess", "Ledger",
           "LedgerReport", "LinkProxy", "etcd_members", "free_ports", "run_tests", "wait_until"]


def toml_string(s):
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


class Cluster:
    """etcd (`etcd_count` members) and `brokers` brokers in a scratch
    directory (`workdir`, default a new temporary one).

    `topics_toml` is appended to every broker's config; `broker_toml` goes
    into [broker], `cluster_toml` into [cluster], `kafka_toml` into
    [transports.kafka]; `per_broker_toml`
    (a function of the broker id returning TOML) is appended last.
    replication_factor defaults to min(3, brokers). `data_dir` (a function
    of the broker id) puts a broker's data directory elsewhere than
    <workdir>/broker-<id>/data, e.g. on a file system the test mounts.
    """

    def __init__(self, build_dir, brokers=3, cluster_section=True, etcd_count=1, kafka_proxies=True,
                 replication_proxies=True, cluster_id="test", prefix="/keel/", session_ttl_ms=3000,
                 replication_factor=None, topics_toml="", broker_toml="", kafka_toml="", per_broker_toml=None,
                 workdir=None, cluster_toml="", data_dir=None):
        self.build_dir = os.path.abspath(build_dir)
        self.keel = os.path.join(self.build_dir, "kernel", "keel")
        if not os.access(self.keel, os.X_OK):
            raise SystemExit(f"{self.keel} is missing: build the project first (bash scripts/build.sh)")
        self.workdir = workdir or tempfile.mkdtemp(prefix="keel-cluster-")
        self.cluster_section = cluster_section
        self.cluster_toml = cluster_toml
        self.cluster_id = cluster_id
        self.prefix = prefix
        self.brokers = {}
        self._proxies = []  # every LinkProxy, closed at the end
        # Every port is chosen now, in one go so that none repeats (a proxy's
        # own bind to port 0 could take a port freed for a broker), and so
        # that the configs can name them.
        ports = iter(free_ports(2 * etcd_count + brokers * (5 + etcd_count)))
        self.etcds = etcd_members(self.workdir, etcd_count, start=False,
                                  ports=[next(ports) for _ in range(2 * etcd_count)])
        rf = replication_factor if replication_factor is not None else min(3, brokers)
        try:
            for i in range(1, brokers + 1):
                bdir = os.path.join(self.workdir, f"broker-{i}")
                os.makedirs(bdir, exist_ok=True)
                listen, http, proxy_port = next(ports), next(ports), next(ports)
                kafka_link = None
                if kafka_proxies:
                    kafka_link = self._proxy(listen, proxy_port, f"-> broker {i} Kafka", classify=self._broker_of)
                b = ClusterBroker(self.keel, i, bdir, kafka_link.port if kafka_link else listen, listen, http,
                                  data_dir=data_dir(i) if data_dir else None)
                b.kafka_link = kafka_link
                b.etcd_links = [self._proxy(m.client_port, next(ports), f"broker {i} -> etcd {m.name}")
                                for m in self.etcds]
                b.replication_listen_port, replication_proxy_port = next(ports), next(ports)
                if replication_proxies and cluster_section:
                    b.replication_link = self._proxy(b.replication_listen_port, replication_proxy_port,
                                                     f"-> broker {i} replication", classify=self._broker_of)
                self.brokers[i] = b
                extra = per_broker_toml(i) if per_broker_toml else ""
                self._write_config(b, rf, session_ttl_ms, topics_toml, broker_toml, kafka_toml, extra)
        except BaseException:
            self._close_proxies()
            raise

    def _proxy(self, target_port, listen_port, name, classify=None):
        link = LinkProxy(target_port, listen_port, name=name, classify=classify)
        self._proxies.append(link)
        return link

    def _close_proxies(self):
        for link in self._proxies:
            link.close()

    def _broker_of(self, peer_port, proxy_port):
        """The id of the broker that opened the connection from `peer_port`
        to `proxy_port`; None for anyone else (a client). Runs on a proxy's
        thread: reads the pids only."""
        pids = {b.proc.pid: i for i, b in list(self.brokers.items()) if b.proc is not None}
        return pids.get(owner_pid(peer_port, proxy_port, list(pids)))

    def _write_config(self, b, rf, session_ttl_ms, topics_toml, broker_toml, kafka_toml, extra):
        lines = ["[broker]", f"data_dir = {toml_string(b.data_dir)}",
                 f"plugin_path = [{toml_string(os.path.join(self.build_dir, 'plugins'))}]", broker_toml, ""]
        if self.cluster_section:
            endpoints = ",".join(f"127.0.0.1:{link.port}" for link in b.etcd_links)
            lines += ["[cluster]", f"broker_id = {b.id}", f"cluster_id = {toml_string(self.cluster_id)}",
                      'coordinator = "etcd"', 'advertised_host = "127.0.0.1"',
                      f"default_replication_factor = {rf}",
                      f'replication_listen = "127.0.0.1:{b.replication_listen_port}"']
            if b.replication_link is not None:
                lines.append(f"replication_advertised_port = {b.replication_link.port}")
            lines += [self.cluster_toml, "", "[cluster.etcd]",
                      f"endpoints = {toml_string(endpoints)}", f"prefix = {toml_string(self.prefix)}",
                      f"session_ttl_ms = {session_ttl_ms}", ""]
        else:
            # An independent broker that still reports its own id: a cluster
            # of one on the in-process standalone coordinator.
            lines += ["[cluster]", f"broker_id = {b.id}", 'coordinator = "standalone"',
                      "default_replication_factor = 1", ""]
        lines += ["[transports.kafka]", f'listen = "127.0.0.1:{b.kafka_listen_port}"']
        if b.kafka_link is not None:
            lines.append(f"advertised_port = {b.kafka_port}")
        lines += [kafka_toml, "",
                  "[transports.http]", f'listen = "127.0.0.1:{b.http_port}"', "", topics_toml, extra]
        with open(b.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    # ---- whole cluster

    @property
    def etcd(self):
        """The first (or only) etcd member."""
        return self.etcds[0]

    def start(self, timeout=60):
        """Starts etcd, then every broker, and waits until each logged
        "broker ready"."""
        for m in self.etcds:  # a new cluster's members answer once a quorum runs
            m.start(wait=False)
        for m in self.etcds:
            m.wait_ready(timeout)
        for b in self.brokers.values():
            b.launch()
        for b in self.brokers.values():
            b.wait_for_log("broker ready", timeout)
        return self

    def shutdown(self):
        """SIGTERM to every broker (each must exit 0), then closes the
        proxies and stops etcd. Reports every failure, not just the first."""
        errors = []
        for b in self.brokers.values():
            try:
                b.terminate()
            except AssertionError as e:
                errors.append(str(e))
        self._close_proxies()
        for m in self.etcds:
            try:
                m.terminate()
            except AssertionError as e:
                errors.append(str(e))
        if errors:
            raise AssertionError("\n".join(errors))

    def kill_all(self):
        """SIGKILL to every process (the end of a failed test)."""
        for b in self.brokers.values():
            try:
                b.kill()
            except AssertionError as e:  # a sanitizer report: show it, go on cleaning up
                print(e)
        self._close_proxies()
        for m in self.etcds:
            m.kill()

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.dump_logs()
            self.kill_all()
            print(f"kept {self.workdir} for inspection")
            raise

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.dump_logs()
            self.kill_all()
            print(f"kept {self.workdir} for inspection")
            return False
        self.shutdown()
        if os.environ.get("KEEL_IT_KEEP"):
            print(f"kept {self.workdir} (KEEL_IT_KEEP)")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return False

    # ---- one broker

    def broker(self, broker_id):
        try:
            return self.brokers[broker_id]
        except KeyError:
            raise KeyError(f"no broker {broker_id}: this cluster has brokers {sorted(self.brokers)}") from None

    def kill(self, broker_id):
        """SIGKILL."""
        self.broker(broker_id).kill()

    def stop(self, broker_id):
        """SIGSTOP: the process is frozen, its connections stay open."""
        self.broker(broker_id).stop()

    def cont(self, broker_id):
        """SIGCONT."""
        self.broker(broker_id).cont()

    def terminate(self, broker_id, timeout=30):
        """SIGTERM; it must exit 0."""
        self.broker(broker_id).terminate(timeout)

    def restart(self, broker_id, timeout=60, wait_ready=True):
        """SIGKILL if it runs, then starts it again on the same data
        directory and ports; waits for "broker ready" unless told not to."""
        b = self.broker(broker_id)
        b.kill()
        b.launch()
        if wait_ready:
            b.wait_for_log("broker ready", timeout)

    # ---- network faults. mode: BLACKHOLE (default: silence, connections
    # held) or REJECT (resets); PASS undoes. See link_proxy.py.

    def isolate_from_etcd(self, broker_id, mode=BLACKHOLE):
        """Cuts broker `broker_id` off every etcd member. Other brokers keep
        their links."""
        for link in self.broker(broker_id).etcd_links:
            link.set_mode(mode)

    def heal_etcd(self, broker_id=None):
        """Restores broker `broker_id`'s links to etcd (every broker's when
        None)."""
        ids = [broker_id] if broker_id is not None else list(self.brokers)
        for i in ids:
            for link in self.broker(i).etcd_links:
                link.pass_through()

    def _kafka_link(self, broker_id):
        link = self.broker(broker_id).kafka_link
        if link is None:
            raise AssertionError("this Cluster has no Kafka proxies (kafka_proxies=False): Kafka links cannot be cut")
        return link

    def cut(self, a, b, mode=BLACKHOLE):
        """Cuts the Kafka links between brokers `a` and `b`, both ways
        (connections either opens to the other); clients are not affected."""
        self._kafka_link(b).set_mode(mode, source=a)
        self._kafka_link(a).set_mode(mode, source=b)

    def isolate_kafka(self, broker_id, mode=BLACKHOLE):
        """Cuts broker `broker_id`'s Kafka links to clients and to every other
        broker (its etcd links stay: see isolate())."""
        self._kafka_link(broker_id).set_mode(mode)
        for other in self.brokers:
            if other != broker_id:
                self._kafka_link(other).set_mode(mode, source=broker_id)

    def isolate(self, broker_id, mode=BLACKHOLE):
        """Cuts broker `broker_id` off everything: clients, brokers (Kafka
        and, with replication proxies, replication links), etcd."""
        self.isolate_kafka(broker_id, mode)
        if self.broker(broker_id).replication_link is not None:
            self.isolate_replication(broker_id, mode)
        self.isolate_from_etcd(broker_id, mode)

    def partition(self, groups, mode=BLACKHOLE):
        """Cuts every Kafka and replication link between brokers of
        different `groups` (lists of broker ids, e.g. [[1], [2, 3]]), both
        ways; links within a group, clients and etcd are not affected."""
        for g1, g2 in itertools.combinations(groups, 2):
            for a in g1:
                for b in g2:
                    self.cut(a, b, mode)
                    if self.broker(a).replication_link is not None:
                        self.cut_replication(a, b, mode)
                        self.cut_replication(b, a, mode)

    def heal(self):
        """Every link back to PASS: Kafka and replication (all sources) and
        etcd."""
        for b in self.brokers.values():
            if b.kafka_link is not None:
                b.kafka_link.pass_through()
        self.heal_replication()
        self.heal_etcd()

    def _replication_link(self, broker_id):
        link = self.broker(broker_id).replication_link
        if link is None:
            raise AssertionError("this Cluster has no replication proxies (replication_proxies=False): "
                                 "replication links cannot be cut")
        return link

    def cut_replication(self, leader, follower=None, mode=BLACKHOLE):
        """Cuts the replication link follower -> leader: broker `follower`
        can no longer fetch what broker `leader` leads (every follower's
        link when None). The other direction (what `follower` leads) and
        the Kafka and etcd links are not affected."""
        self._replication_link(leader).set_mode(mode, source=follower)

    def heal_replication(self, leader=None, follower=None):
        """Restores the link follower -> leader (from every follower when
        `follower` is None; of every leader when `leader` is None)."""
        if leader is not None:
            self._replication_link(leader).set_mode(PASS, source=follower)
            return
        for b in self.brokers.values():
            if b.replication_link is not None:
                b.replication_link.set_mode(PASS, source=follower)

    def isolate_replication(self, broker_id, mode=BLACKHOLE):
        """Cuts every replication link of broker `broker_id`, both ways: no
        follower fetches from it, and it fetches from no other broker."""
        self.cut_replication(broker_id, mode=mode)
        for other in self.brokers:
            if other != broker_id:
                self.cut_replication(other, broker_id, mode)

    # ---- observing

    def bootstrap(self, ids=None):
        """host:port,... of the brokers `ids` (default: all)."""
        ids = ids if ids is not None else sorted(self.brokers)
        return ",".join(self.broker(i).bootstrap for i in ids)

    def wait_for_cluster(self, timeout=60, ids=None):
        """Waits until each broker of `ids` (default: those running and not
        stopped) lists exactly `ids` in its Metadata."""
        def formed():
            want = set(ids) if ids is not None else set(self.alive_ids())
            return all(self.broker_ids_seen(i) == want for i in want)
        return wait_until(formed, timeout, f"brokers {sorted(ids) if ids else self.alive_ids()} "
                          "to list each other in Metadata")

    def alive_ids(self):
        return [i for i, b in sorted(self.brokers.items()) if b.alive() and not b.paused]

    def wait_until(self, condition, timeout, what):
        """Polls `condition` until truthy or fails after `timeout` s."""
        return wait_until(condition, timeout, what)

    def metadata(self, broker_id, topics=None, version=1, timeout=5.0):
        """Broker `broker_id`'s Metadata answer (kafka_wire.parse_metadata:
        brokers [(id, host, port)], controller, topics); raises OSError
        (socket.timeout for a stopped broker) when it does not answer within
        `timeout`. topics None: all."""
        port = self.broker(broker_id).kafka_port
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(kafka_wire.request_frame(3, version, 1, kafka_wire.metadata_request(version, topics)))
            _, body = kafka_wire.read_response(s)
        return kafka_wire.parse_metadata(version, body)

    def answers(self, broker_id, timeout=1.0):
        """Whether broker `broker_id` answers a Metadata request in time."""
        try:
            self.metadata(broker_id, timeout=timeout)
            return True
        except OSError:
            return False

    def broker_ids_seen(self, broker_id):
        """The broker ids in broker `broker_id`'s Metadata; empty if it does
        not answer."""
        try:
            return {node for node, _, _ in self.metadata(broker_id)["brokers"]}
        except OSError:
            return set()

    def leader(self, topic, partition, broker_id=None):
        """The leader of topic/partition according to `broker_id` (default:
        the first live broker); None when unknown."""
        ask = broker_id if broker_id is not None else (self.alive_ids() or [None])[0]
        if ask is None:
            return None
        try:
            topics = self.metadata(ask, [topic])["topics"]
        except OSError:
            return None
        for err, index, leader, _, _ in topics.get(topic, (0, False, []))[2]:
            if index == partition and err == 0 and leader >= 0:
                return leader
        return None

    def partitions(self, broker_id, topic):
        """{index: (error, leader, replicas, isr)} of `topic` in broker
        `broker_id`'s Metadata v1; {} if it does not answer or does not know
        the topic."""
        try:
            topics = self.metadata(broker_id, [topic])["topics"]
        except OSError:
            return {}
        err, _, parts = topics.get(topic, (3, False, []))
        if err != 0:
            return {}
        return {index: (perr, leader, replicas, isr) for perr, index, leader, replicas, isr in parts}

    def led_everywhere(self, topic, count, ids=None):
        """The leaders ({index: broker id}) of `topic`'s `count` partitions
        when every broker of `ids` (default: all) reports the same live
        leader for each; None otherwise (one does not answer, or a partition
        is offline or seen led by different brokers)."""
        ids = ids if ids is not None else sorted(self.brokers)
        views = [self.partitions(i, topic) for i in ids]
        if any(len(v) != count for v in views):
            return None
        leaders = {}
        for index in range(count):
            seen = {v[index][1] for v in views}
            if len(seen) != 1 or views[0][index][0] != 0 or min(seen) < 0:
                return None
            leaders[index] = seen.pop()
        return leaders

    def dump_logs(self, chars=LOG_TAIL):
        """Prints the tail of every broker's log and of etcd's."""
        for i, b in sorted(self.brokers.items()):
            state = "running" if b.alive() else ("not started" if b.proc is None else f"exited {b.proc.returncode}")
            if b.paused:
                state = "stopped (SIGSTOP)"
            print(f"---- broker {i} ({state}), {b.log_path} (tail) ----\n{b.log_text()[-chars:]}")
        for m in self.etcds:
            print(f"---- etcd {m.name}, {m.log_path} (tail) ----\n{m.log_tail(chars)}")

