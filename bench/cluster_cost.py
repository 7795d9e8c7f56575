#!/usr/bin/env python3
"""bench/cluster_cost.py: what replication costs on one machine (issue 13).

    flock /tmp/keel-bench.lock python3 bench/cluster_cost.py           (~4 min on 2 cores)
    flock /tmp/keel-bench.lock python3 bench/cluster_cost.py --quick   (~30 s: a smoke test, not figures)

Runs the same acks=all loads (keel-load, librdkafka) against two set-ups
on this machine:

  RF 1  one broker, no [cluster] section, flush_mode "every-batch"
        (--flush-mode)
  RF 3  etcd (Debian's, fsync left on) and three brokers with a [cluster]
        section as scripts/run-cluster.sh writes it: replication factor 3,
        min_insync_replicas 2, the same flush_mode; topic "bench" with one
        partition, its ISR all three replicas before anything is measured

and measures, with the two set-ups running side by side and taking turns
run by run (so that the shared machine's other load falls on both alike):
  - closed-loop throughput at 100 B and 1 KiB: --count records,
    librdkafka's default settings;
  - open-loop latency at fixed rates that both set-ups sustain (by default
    20,000 msg/s at 100 B, 5,000 at 1 KiB, and 1,000 at 100 B, where each
    record travels alone; --linger-ms 0, 5 requests in flight):
    p50/p99/p99.9 from each record's scheduled send time to its
    acknowledgement (keel-load's JSON line);
  - broker CPU per record: utime+stime (/proc/PID/stat) of every broker
    process of the set-up over each open-loop run, divided by the records
    acknowledged; etcd's separately;
  - the loopback TCP round trip (keel-tcp-rtt, 64 B ping-pong), so the p50
    that RF 3 adds can be read in round trips.

Issue 13's targets: RF 3 costs at most 2x the single node's broker CPU per
record, and adds at most one loopback round trip to p50. The script prints
whether each holds, a markdown table and one JSON line; it asserts no speed
(exit status 1 only when a run failed). The load average (/proc/loadavg) is
recorded before each run and printed with its figures.

Everything runs on 127.0.0.1, on free ports, in a temporary directory,
unpinned: the brokers, etcd and the client share the machine's cores, as a
cluster on one machine does. Every process it starts is stopped by its PID
when it ends, however it ends (an error, Ctrl-C, SIGTERM). It needs
kernel/keel, plugins/, bench/load/keel-load and bench/peers/keel-tcp-rtt in
--build-dir, and Debian's etcd (etcd-server). Run it under
`flock /tmp/keel-bench.lock` so that no other benchmark runs meanwhile.
--perf SECONDS also profiles each set-up's leader and one follower (perf
record -g) during one extra, unmeasured run of the first open-loop scenario
and prints their top symbols.
"""
import argparse
import datetime
import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench", "peers"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import compare_limits  # noqa: E402
import compare_procs as procs  # noqa: E402
import compare_servers as servers  # noqa: E402
import compare_setup  # noqa: E402
import kafka_wire  # noqa: E402
from cluster_cost_report import markdown  # noqa: E402
from etcd_process import EtcdMissing, EtcdProcess, etcd_binary  # noqa: E402
from test_ports import free_ports  # noqa: E402

SIZES = [100, 1024]
# Open-loop scenarios (size, msg/s): far below both set-ups' closed-loop
# peaks (the report gives the fraction), the first two as issue 13 asks;
# the third sends each record alone (one every 1 ms, longer than an
# acks=all round trip), so its p50 is the path of one record and no queue.
OPEN = [(100, 20000), (1024, 5000), (100, 1000)]
TOPIC = "bench"


def size_rate(text):
    try:
        size, rate = (int(x) for x in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError("expected SIZE:RATE in bytes and msg/s, e.g. 100:20000, not " + repr(text))
    if size <= 0 or rate <= 0:
        raise argparse.ArgumentTypeError("size and rate must be positive: " + repr(text))
    return size, rate


def build_identity(build):
    """Where the measured binaries come from: the build's source tree (from
    its CMakeCache), that tree's commit and uncommitted files, and the keel
    binary's time and hash, so a figure can be tied to the code it ran."""
    keel = os.path.join(build, "kernel", "keel")
    source = None
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            source = next((l.split("=", 1)[1].strip() for l in f if l.startswith("keel_SOURCE_DIR:")), None)
    except OSError:
        pass
    out = {"keel": keel, "keel_mtime": datetime.datetime.fromtimestamp(
        os.stat(keel).st_mtime, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")}
    with open(keel, "rb") as f:
        out["keel_sha256"] = hashlib.file_digest(f, "sha256").hexdigest()[:12]
    if source:
        git = ["git", "-C", source]
        out["source"] = source
        out["commit"] = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True,
                                       text=True).stdout.strip() or "unknown"
        out["uncommitted"] = [l[3:] for l in subprocess.run(git + ["status", "--porcelain", "--untracked-files=no"],
                                                            capture_output=True, text=True).stdout.splitlines()]
    return out


def log(text):
    print("cluster_cost: " + text, file=sys.stderr, flush=True)


class Setup:
    """The brokers of one set-up ({broker id: Popen}), etcd when there is
    one, and where clients bootstrap from."""

    def __init__(self, name, brokers, bootstrap, etcd=None, leader=None, logs=None):
        self.name, self.brokers, self.bootstrap, self.etcd, self.leader = name, brokers, bootstrap, etcd, leader
        self.logs = logs if logs is not None else {}

    def broker_cpu(self):
        return {i: procs.cpu_seconds(p.pid) for i, p in self.brokers.items()}

    def etcd_cpu(self):
        return procs.cpu_seconds(self.etcd.proc.pid) if self.etcd else 0.0

    def dead(self):
        """What has exited, as text; empty while everything runs."""
        out = ["broker {} (status {}), log {}:\n{}".format(i, p.returncode, self.logs.get(i), procs.tail(
            self.logs.get(i, ""), 10)) for i, p in self.brokers.items() if p.poll() is not None]
        if self.etcd and not self.etcd.alive():
            out.append("etcd, log {}".format(self.etcd.log_path))
        return "\n".join(out)

    def stop(self):
        for p in self.brokers.values():
            procs.stop(p)
        if self.etcd:
            self.etcd.terminate()


def start_rf1(work, build, flush_mode):
    tier = next(t for t, mode in servers.KEEL_FLUSH.items() if mode == flush_mode)
    server = servers.start_keel(tier, work, build, [])
    return Setup("RF 1", {1: server.proc}, "127.0.0.1:{}".format(server.port), leader=1, logs={1: server.log})


def cluster_config(work, build, broker_id, kafka_port, etcd_endpoint, flush_mode):
    """scripts/run-cluster.sh's broker config, with the RF 1 broker's
    flush_mode, topic "bench" declared, and no HTTP transport (the RF 1
    broker has none either)."""
    return """[broker]
data_dir = "{data}"
plugin_path = ["{plugins}"]
auto_create_topics = true
log_level = "info"

[cluster]
broker_id = {id}
cluster_id = "bench"
coordinator = "etcd"
advertised_host = "127.0.0.1"
default_replication_factor = 3
# The leader stays where it was placed for the whole run: a preferred-leader
# move in the middle of a run would be measured as a stall.
leader_rebalance_interval_ms = 0

[topic_defaults]
partitions = 1
flush_mode = "{flush}"
# acks=all needs two copies of three: one broker may die without loss.
min_insync_replicas = 2

[topics.{topic}]
partitions = 1

[cluster.etcd]
endpoints = "{etcd}"
prefix = "/keel/"
session_ttl_ms = 3000

[transports.kafka]
listen = "127.0.0.1:{port}"
""".format(data=os.path.join(work, "broker-{}".format(broker_id), "data"), plugins=os.path.join(build, "plugins"),
           id=broker_id, topic=TOPIC, etcd=etcd_endpoint, port=kafka_port, flush=flush_mode)


def start_rf3(work, build, flush_mode):
    etcd = EtcdProcess(os.path.join(work, "etcd"), name="keel-bench", fsync=True)
    etcd.start(timeout=60)
    brokers, logs, ports = {}, {}, dict(zip((1, 2, 3), free_ports(3)))
    setup = Setup("RF 3", brokers, ",".join("127.0.0.1:{}".format(p) for p in ports.values()), etcd, logs=logs)
    try:
        for i, port in ports.items():
            bdir = os.path.join(work, "broker-{}".format(i))
            os.makedirs(bdir)
            config = os.path.join(bdir, "keel.toml")
            with open(config, "w") as f:
                f.write(cluster_config(work, build, i, port, etcd.endpoint, flush_mode))
            logs[i] = os.path.join(bdir, "keel.log")
            brokers[i] = procs.start([os.path.join(build, "kernel", "keel"), "--config", config], logs[i])
        for i, p in brokers.items():
            procs.wait_for(lambda: "broker ready" in open(logs[i], errors="replace").read(), p,
                           "broker {}".format(i), logs[i], timeout_s=60)
        setup.leader = wait_for_full_isr(setup, ports, timeout_s=120)
        return setup
    except BaseException:
        setup.stop()
        raise


def wait_for_full_isr(setup, ports, timeout_s):
    """The leader of bench/0 once every broker reports the same leader and an
    ISR of all three replicas."""
    deadline = time.monotonic() + timeout_s
    seen = None
    while time.monotonic() < deadline:
        if setup.dead():
            raise RuntimeError("a process of the cluster exited during start-up: " + setup.dead())
        views = []
        for port in ports.values():
            try:
                err, _, parts = kafka_wire.metadata(port, 1, [TOPIC])["topics"].get(TOPIC, (3, False, []))
                views.append(next(((p[2], tuple(sorted(p[4]))) for p in parts if p[1] == 0 and p[0] == 0 and err == 0),
                                  None))
            except OSError:
                views.append(None)
        seen = views
        if all(v is not None for v in views) and len(set(views)) == 1 and views[0][0] >= 0 and \
                len(views[0][1]) == 3:
            return views[0][0]
        time.sleep(0.1)  # polling the cluster's metadata, up to the deadline
    raise RuntimeError("{}/0 did not get one leader and an ISR of 3 within {} s; (leader, ISR) per broker: {}; "
                       "broker logs: {}".format(TOPIC, timeout_s, seen, ", ".join(setup.logs.values())))


def load_command(build, bootstrap, size, count, rate=None):
    cmd = [os.path.join(build, "bench", "load", "keel-load"), "produce", "--brokers", bootstrap, "--topic", TOPIC,
           "--partitions", "1", "--size", str(size), "--count", str(count), "--acks", "all"]
    if rate:
        # As bench/compare's latency runs: no linger (it would be most of the
        # p50), and at most 5 requests in flight (Kafka's Java client's default).
        cmd += ["--rate", str(rate), "--linger-ms", "0", "--inflight", "5"]
    return cmd


def shown(cmd, build, bootstrap):
    return " ".join(cmd).replace(build + "/", "$BUILD/").replace(bootstrap, "$BROKERS")


def load_average():
    return " ".join(open("/proc/loadavg").read().split()[:3])


def measure(setup, cmd, what):
    """One keel-load run with the brokers' and etcd's CPU time around it.
    Returns keel-load's JSON plus what was measured here, or a failure."""
    load = load_average()
    cpu0, etcd0 = setup.broker_cpu(), setup.etcd_cpu()
    status, out, err = procs.run(cmd, timeout_s=600)
    cpu1, etcd1 = setup.broker_cpu(), setup.etcd_cpu()
    line = next((l for l in reversed(out.splitlines()) if l.startswith("{")), None)
    if status != 0 or not line or setup.dead():
        log("  [{} {}] FAILED (status {}): {}{}".format(setup.name, what, status, err.strip()[-500:],
                                                       ("\n" + setup.dead()) if setup.dead() else ""))
        return {"failed_run": True, "load": load, "status": status}
    data = json.loads(line)
    acked = data["sent"] - data["failed"]
    broker = {str(i): cpu1[i] - cpu0[i] for i in cpu0}
    data.update({"load": load, "acked": acked, "broker_cpu_s": broker, "etcd_cpu_s": etcd1 - etcd0,
                 "broker_us_per_record": sum(broker.values()) / acked * 1e6,
                 "etcd_us_per_record": (etcd1 - etcd0) / acked * 1e6})
    lat = data["latency_us"]
    log("  [{} {}] {:,.0f} msgs/s; p50 {:.0f} us, p99 {:.0f} us, p99.9 {:.0f} us; broker CPU {:.2f} us/record "
        "(etcd {:.2f}); load {}".format(setup.name, what, data["msgs_per_s"], lat["p50"], lat["p99"], lat["p999"],
                                        data["broker_us_per_record"], data["etcd_us_per_record"], load))
    return data


def idle_cpu(setups, seconds):
    """Each set-up's brokers' and etcd's CPU while no client runs, in % of a
    core (one window for all: they run side by side)."""
    before = [(s.broker_cpu(), s.etcd_cpu()) for s in setups]
    t0 = time.monotonic()
    time.sleep(seconds)  # the measurement window itself
    dt = time.monotonic() - t0
    out = []
    for s, (cpu0, etcd0) in zip(setups, before):
        cpu1 = s.broker_cpu()
        out.append({"brokers_pct": {str(i): 100 * (cpu1[i] - cpu0[i]) / dt for i in cpu0},
                    "etcd_pct": 100 * (s.etcd_cpu() - etcd0) / dt})
    return out


def scenario_key(size, rate):
    return "{}@{}".format(size, rate)


def run_all(args, setups, build):
    """Every scenario on every set-up. Both set-ups run side by side and take
    turns run by run (RF 1, RF 3, RF 1, ...), so that a change in the
    machine's other load (it is shared) falls on both alike."""
    idle = idle_cpu(setups, args.idle_seconds)
    results = [{"name": s.name, "leader": s.leader, "brokers": sorted(s.brokers), "idle": i, "open": {},
                "closed": {}} for s, i in zip(setups, idle)]
    commands = []
    for s in setups:
        # Fresh memory is several times slower on first touch: a discarded pass.
        if measure(s, load_command(build, s.bootstrap, 100, args.count[100] // 4), "warm-up").get("failed_run"):
            raise RuntimeError("{}: the warm-up run failed; see above".format(s.name))
    # Latency first, while the page cache and the disk are not yet busy
    # writing back the closed-loop runs' data.
    plan = [("open", scenario_key(size, rate), size, int(rate * args.latency_seconds), rate)
            for size, rate in args.open] + [("closed", str(size), size, args.count[size], None) for size in SIZES]
    for kind, key, size, count, rate in plan:
        commands.append(shown(load_command(build, "$BROKERS", size, count, rate), build, "$BROKERS"))
        for r in range(args.runs):
            for s, res in zip(setups, results):
                what = "{} B {} run {}".format(size, "open loop at {:,}/s".format(rate) if rate else "closed loop",
                                               r + 1)
                res[kind].setdefault(key, []).append(measure(s, load_command(build, s.bootstrap, size, count, rate),
                                                             what))
    if args.perf:
        for s, res in zip(setups, results):
            res["perf"] = profile(args, s, build, os.path.dirname(s.logs[s.leader]))
    return results, commands


def profile(args, setup, build, work):
    """perf record -g of the leader and one follower (if any) during an
    extra, unmeasured run of the first open-loop scenario: their top symbols
    by self time, and the share of each thread."""
    targets = {"leader (broker {})".format(setup.leader): setup.brokers[setup.leader]}
    followers = sorted(i for i in setup.brokers if i != setup.leader)
    if followers:
        targets["follower (broker {})".format(followers[0])] = setup.brokers[followers[0]]
    recs = {}
    for name, p in targets.items():
        data = os.path.join(work, "perf-{}.data".format(p.pid))
        recs[name] = (data, procs.start(["perf", "record", "-g", "-o", data, "-p", str(p.pid), "--", "sleep",
                                         str(args.perf)], data + ".log"))
    size, rate = args.perf_scenario or args.open[0]
    cmd = load_command(build, setup.bootstrap, size, int(rate * (args.perf + 2)), rate)
    log("{}: profiling {} for {:g} s (perf record -g), run not measured".format(
        setup.name, " and ".join(targets), args.perf))
    procs.run(cmd, timeout_s=600)
    out = {}
    for name, (data, rec) in recs.items():
        rec.wait(timeout=60)
        report = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "-g", "none",
                                 "--sort", "dso,symbol", "-F", "overhead,dso,sym"], capture_output=True, text=True)
        rows = []
        for line in report.stdout.splitlines():
            fields = line.split()  # overhead, dso, [k] or [.], symbol (may hold spaces), then "-" columns
            if len(fields) >= 4 and fields[0].endswith("%"):
                while fields[-1] == "-":
                    fields.pop()
                rows.append((float(fields[0][:-1]), " ".join(fields)))
        rows.sort(key=lambda r: -r[0])
        kernel = sum(pct for pct, text in rows if " [k] " in text)
        rows = [text for _, text in rows]
        out[name] = rows[:args.perf_top] + ["(kernel symbols, [k]: {:.0f}% of the samples)".format(kernel),
                                            "inclusive: " + inclusive(data)]
    return out


# Kernel functions whose inclusive share says what a broker's CPU time is
# spent on (each counts everything it calls; they may nest, e.g. a softirq
# inside a send).
INCLUSIVE = [("fdatasync", ["ext4_sync_file", "vfs_fsync_range"]),
             ("file write", ["ext4_buffered_write_iter", "vfs_write", "vfs_writev"]),
             ("file read", ["filemap_read", "vfs_read"]), ("TCP send", ["tcp_sendmsg"]),
             ("TCP receive", ["tcp_recvmsg"]), ("sendfile", ["do_sendfile"]),
             ("poll/epoll", ["do_sys_poll", "do_epoll_wait"]), ("futex", ["do_futex"]),
             ("network softirq", ["net_rx_action"])]


def inclusive(data):
    report = subprocess.run(["perf", "report", "-i", data, "--stdio", "--children", "-g", "none", "--sort", "symbol"],
                            capture_output=True, text=True)
    children = {}
    for line in report.stdout.splitlines():
        fields = line.split()  # children, self, [k] or [.], symbol, ...
        if len(fields) >= 4 and fields[0].endswith("%") and fields[1].endswith("%"):
            children[fields[3]] = float(fields[0][:-1])
    return ", ".join("{} {:.0f}%".format(label, max(children.get(sym, 0) for sym in syms))
                     for label, syms in INCLUSIVE)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"), help="where keel and the clients are built "
                    "(./build)")
    ap.add_argument("--runs", type=int, default=3, help="measured runs per scenario; the median is reported (3)")
    ap.add_argument("--latency-seconds", type=float, default=10, help="length of each open-loop run (10)")
    ap.add_argument("--open", action="append", metavar="SIZE:RATE", type=size_rate,
                    help="an open-loop scenario: record size in bytes and msg/s; repeatable (default: "
                    + " ".join("--open {}:{}".format(*x) for x in OPEN) + ")")
    ap.add_argument("--count-100", type=int, default=1000000, help="records per closed-loop run at 100 B (1000000)")
    ap.add_argument("--count-1k", type=int, default=200000, help="records per closed-loop run at 1 KiB (200000)")
    ap.add_argument("--flush-mode", choices=sorted(servers.KEEL_FLUSH.values()), default="every-batch",
                    help="both set-ups' flush_mode (every-batch: fsync'd before the acknowledgement; os: a "
                    "diagnostic, the same loads without fsync)")
    ap.add_argument("--idle-seconds", type=float, default=3, help="idle CPU window before the runs (3)")
    ap.add_argument("--perf", type=float, default=0, metavar="SECONDS",
                    help="profile each set-up's leader and a follower this long (0: no profile)")
    ap.add_argument("--perf-scenario", metavar="SIZE:RATE", type=size_rate,
                    help="the open-loop load during the profile (default: the first --open)")
    ap.add_argument("--perf-top", type=int, default=8, help="symbols shown per profiled broker (8)")
    ap.add_argument("--quick", action="store_true", help="1 short run per scenario: a smoke test, not figures")
    ap.add_argument("--json", help="also write the report here (indented)")
    args = ap.parse_args()
    if args.quick:
        args.runs, args.latency_seconds, args.idle_seconds = 1, 3, 1
        args.count_100, args.count_1k = args.count_100 // 10, args.count_1k // 10
    args.open = args.open or OPEN
    args.count = {100: args.count_100, 1024: args.count_1k}

    build = os.path.abspath(args.build_dir)
    need = [os.path.join(build, p) for p in ("kernel/keel", "bench/load/keel-load", "bench/peers/keel-tcp-rtt")]
    missing = [p for p in need if not os.access(p, os.X_OK)]
    if missing:
        raise SystemExit("cluster_cost: missing {}: build them (cmake --build {} --target keel "
                         "keel_builtin_plugins keel-load keel-tcp-rtt) or pass --build-dir".format(
                             ", ".join(missing), build))
    if args.perf and not shutil.which("perf"):
        raise SystemExit("cluster_cost: --perf needs perf (Debian: linux-perf)")

    # SIGTERM unwinds like Ctrl-C, so the finally below stops every process.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = tempfile.mkdtemp(prefix="keel-cluster-cost.")
    started = time.monotonic()
    setups = []
    failed = 0
    try:
        machine = compare_setup.machine(ROOT, work, "not pinned: brokers, etcd and client share every core")
        machine["build"] = build_identity(build)
        log("machine: {cpu}, {cores} cores, {memory}; load average at start {load}".format(**machine))
        rtt = compare_limits.tcp_rtt(work, build, [], [])
        log("loopback TCP round trip (64 B): p50 {p50:.1f} us, p99 {p99:.1f} us".format(**rtt["rtt_us"]))
        setups = []
        for start in (start_rf1, start_rf3):
            d = os.path.join(work, start.__name__)
            os.makedirs(d)
            setups.append(start(d, build, args.flush_mode))
            log("{}: up, leader of {}/0 is broker {}".format(setups[-1].name, TOPIC, setups[-1].leader))
        results, commands = run_all(args, setups, build)
        machine["load_end"] = load_average()
        if build_identity(build)["keel_sha256"] != machine["build"]["keel_sha256"]:
            log("WARNING: {} changed during the run (rebuilt?); the brokers ran the one of the start".format(
                machine["build"]["keel"]))
            machine["build"]["changed_during_run"] = True
        machine["elapsed_s"] = time.monotonic() - started
        machine.pop("versions", None)  # bench/compare's peers: not used here
        report = {"date": datetime.date.today().isoformat(), "machine": machine, "rtt": rtt,
                  "etcd": subprocess.run([etcd_binary(), "--version"], capture_output=True,
                                         text=True).stdout.splitlines()[0],
                  "args": {k: v for k, v in vars(args).items() if k not in ("open", "count")},
                  "options": "".join(" " + shlex.quote(a) for a in sys.argv[1:]),
                  "open": [[size, rate] for size, rate in args.open], "commands": commands, "setups": results}
        failed = sum(1 for s in results for kind in ("open", "closed") for runs in s[kind].values() for r in runs
                     if r.get("failed_run"))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(report, f, indent=1)
        print(markdown(report))
        print(json.dumps(report, separators=(",", ":")))
        return 1 if failed else 0
    except EtcdMissing as e:
        raise SystemExit("cluster_cost: {}".format(e))
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        for s in setups:
            try:
                s.stop()
            except Exception as e:  # e.g. etcd not stopping: it was killed; stop the rest
                log("stopping {}: {}".format(s.name, e))
        procs.stop_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
