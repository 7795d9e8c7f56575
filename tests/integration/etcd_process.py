"""A real etcd (Debian's etcd-server 3.4) as a child process for tests
(python3 standard library only): free loopback client and peer ports (never
a system etcd's 2379/2380), its own data directory, readiness polled with a
deadline through the v3 JSON gateway, and the faults a test injects: SIGKILL,
SIGSTOP/SIGCONT, restart on the same data directory and ports.

One member by default; etcd_members(workdir, 3) starts a three-member etcd
cluster for tests of etcd's own faults.
"""
import base64
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request

from keel_harness import read_log
from test_ports import free_ports  # re-exported: cluster_harness, link_proxy_test
from child_process import ChildProcess

INSTALL_HINT = ("install Debian's etcd-server (sudo bash scripts/install-deps.sh, or "
                "sudo apt-get install etcd-server) or point KEEL_ETCD at an etcd 3.4+ binary")


class EtcdMissing(RuntimeError):
    pass


def etcd_binary():
    """The etcd to run: $KEEL_ETCD if set, else /usr/bin/etcd, else etcd on
    PATH."""
    chosen = os.environ.get("KEEL_ETCD")
    if chosen:
        if os.access(chosen, os.X_OK):
            return chosen
        raise EtcdMissing(f"KEEL_ETCD={chosen} is not an executable file: unset it, or {INSTALL_HINT}")
    for candidate in ("/usr/bin/etcd", shutil.which("etcd")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise EtcdMissing(f"etcd is not installed (no /usr/bin/etcd, none on PATH): {INSTALL_HINT}")


def b64(data):
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


class EtcdProcess(ChildProcess):
    """One etcd member in `workdir` (data in workdir/data, log in
    workdir/etcd.log). `initial_cluster` ("name=peer-url,...") joins it to
    other members; by default it is a cluster of one.

    fsync=False (the tests' default) runs it with --unsafe-no-fsync; a
    benchmark of the real thing (bench/cluster_cost.py) passes fsync=True.

    Signals: kill() is SIGKILL, stop() SIGSTOP (frozen: it holds its
    connections but answers nothing), cont() SIGCONT, terminate() SIGTERM.
    restart() starts it again with the same data directory and ports.
    """

    def __init__(self, workdir, name="keel-etcd", client_port=None, peer_port=None, initial_cluster=None,
                 extra_args=(), fsync=False):
        self.workdir = workdir
        self.fsync = fsync
        self.name = name
        if client_port is None or peer_port is None:
            client_port, peer_port = free_ports(2)
        self.client_port = client_port
        self.peer_port = peer_port
        self.initial_cluster = initial_cluster or f"{name}={self.peer_url}"
        self.extra_args = list(extra_args)
        self.data_dir = os.path.join(workdir, "data")
        self.log_path = os.path.join(workdir, "etcd.log")
        self.proc = None
        os.makedirs(workdir, exist_ok=True)

    @property
    def endpoint(self):
        """host:port, as the broker's [cluster.etcd] endpoints take it."""
        return f"127.0.0.1:{self.client_port}"

    @property
    def client_url(self):
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def peer_url(self):
        return f"http://127.0.0.1:{self.peer_port}"

    def command(self):
        return [etcd_binary(), f"--name={self.name}", f"--data-dir={self.data_dir}",
                f"--listen-client-urls={self.client_url}", f"--advertise-client-urls={self.client_url}",
                f"--listen-peer-urls={self.peer_url}", f"--initial-advertise-peer-urls={self.peer_url}",
                f"--initial-cluster={self.initial_cluster}", "--initial-cluster-state=new",
                "--initial-cluster-token=keel-test",
                # Not listed by etcd 3.4's --help, but defined (3.4.23 accepts
                # it; an unknown flag exits 2): no fsync, tests only.
                *([] if self.fsync else ["--unsafe-no-fsync"]), "--logger=zap", "--log-outputs=stderr",
                *self.extra_args]

    def start(self, timeout=30, wait=True):
        """Starts etcd (again: same data and ports); waits until it serves a
        linearizable read unless wait=False (members of a new cluster only
        answer once a quorum runs: start them all, then wait_ready each)."""
        if self.alive():
            raise AssertionError(f"etcd {self.name} is already running (pid {self.proc.pid})")
        cmd = self.command()
        with open(self.log_path, "a") as log:
            log.write(f"---- keel test: starting {' '.join(cmd)}\n")
            log.flush()
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"etcd {self.name} exited with {self.proc.returncode} during start-up; "
                                     f"its log ({self.log_path}):\n{self.log_tail()}")
            if self.answers(0.5):
                return self
            if time.monotonic() > deadline:
                raise AssertionError(f"etcd {self.name} did not answer on {self.endpoint} within {timeout}s; "
                                     f"its log ({self.log_path}):\n{self.log_tail()}")
            time.sleep(0.02)  # poll interval

    def answers(self, timeout=1.0, port=None):
        """Whether a linearizable read succeeds within `timeout` (on `port`,
        e.g. a proxy in front of it; default: etcd's own client port)."""
        try:
            self.request("/v3/kv/range", {"key": b64("keel-test-probe")}, timeout, port)
            return True
        except (OSError, urllib.error.URLError, ValueError):
            return False

    # ---- the v3 JSON gateway, for tests that look at or plant keys

    def request(self, path, body, timeout=5.0, port=None):
        url = f"http://127.0.0.1:{port or self.client_port}{path}"
        req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"{}")

    def put(self, key, value, timeout=5.0, port=None):
        self.request("/v3/kv/put", {"key": b64(key), "value": b64(value)}, timeout, port)

    def get(self, key, timeout=5.0, port=None):
        """The value of `key` as bytes, or None if absent."""
        kvs = self.request("/v3/kv/range", {"key": b64(key)}, timeout, port).get("kvs", [])
        return base64.b64decode(kvs[0].get("value", "")) if kvs else None

    def get_prefix(self, prefix, timeout=5.0, port=None):
        """{key: value} (str: bytes) of every key under `prefix`."""
        p = prefix.encode()
        end = p[:-1] + bytes([p[-1] + 1]) if p and p[-1] < 0xFF else b"\0"
        kvs = self.request("/v3/kv/range", {"key": b64(p), "range_end": b64(end)}, timeout, port).get("kvs", [])
        return {base64.b64decode(kv["key"]).decode(errors="replace"): base64.b64decode(kv.get("value", ""))
                for kv in kvs}

    # ---- faults

    # alive(), kill() (SIGKILL), stop() (SIGSTOP), cont() (SIGCONT): ChildProcess

    def terminate(self, timeout=15):
        """SIGTERM (after SIGCONT, in case it is stopped); SIGKILL after
        `timeout`. Returns the exit code: -SIGTERM after a clean stop, as
        etcd re-raises the signal once it has shut down."""
        if not self.alive():
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        self.proc.send_signal(signal.SIGCONT)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"etcd {self.name} did not stop within {timeout}s of SIGTERM; "
                                 f"its log:\n{self.log_tail()}")

    def restart(self, timeout=30, wait=True):
        """SIGKILL if it still runs, then start on the same data and ports."""
        self.kill()
        return self.start(timeout, wait)

    # ---- its log

    def log_text(self):
        return read_log(self.log_path)

    def log_tail(self, chars=4000):
        return self.log_text()[-chars:]


def etcd_members(workdir, count, start=True, timeout=30, ports=None):
    """`count` etcd members forming one cluster, each in workdir/etcd-<i>;
    started and answering unless start=False. `ports`: 2 * count ports
    (client, peer, client, ...), default free ones."""
    ports = ports or free_ports(2 * count)
    names = [f"keel-etcd-{i}" for i in range(count)]
    initial = ",".join(f"{n}=http://127.0.0.1:{ports[2 * i + 1]}" for i, n in enumerate(names))
    members = [EtcdProcess(os.path.join(workdir, f"etcd-{i}"), n, ports[2 * i], ports[2 * i + 1], initial)
               for i, n in enumerate(names)]
    if start:
        try:
            for m in members:
                m.start(wait=False)
            for m in members:
                m.wait_ready(timeout)
        except BaseException:
            for m in members:
                m.kill()
            raise
    return members
