#!/usr/bin/env python3
"""bench/tls_cost.py: what SASL_SSL, and authorization, cost against PLAINTEXT (issue 15).

    flock /tmp/keel-bench.lock python3 bench/tls_cost.py --build-dir build   (~1 min on 2 cores)

Starts two brokers on this machine, one after the other, with the same
config but the Kafka listener's security_protocol: PLAINTEXT, and SASL_SSL
(SCRAM-SHA-512; a certificate made here with the openssl CLI, a user made
with keel-tool). Against each, in turns (run 1 PLAINTEXT, run 1 SASL_SSL,
run 2 ...), keel-load (librdkafka) produces --count records of 1 KiB,
closed loop, acks=1, then consumes them all from the beginning. Prints
msgs/s and MB/s of both, and the broker's CPU (utime+stime) per MB moved,
as a markdown table (medians, with the range over runs) and one JSON line.
The broker's flush_mode is "os" so that the disk does not hide the cost of
encryption.

With --acl a third broker runs SASL_SSL with `[authorizer] strategy = "acl"`
and 10,000 ACL bindings (the bench user's own, ALL on the topics it uses
and on every group, among 9,997 of other users on other topics), so that
every produce and fetch request is checked against a full store.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from test_ports import free_port  # noqa: E402


def openssl(cwd, *args):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(d):
    openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=bench CA",
            "-keyout", "ca.key", "-out", "ca.pem")
    openssl(d, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key",
            "-out", "server.csr")
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    openssl(d, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "server.ext", "-out", "server.pem")


def write_acls(directory, principal, total):
    """The acl authorizer's file (plugins/authorizer/acl/acl_store.cpp) with
    `total` bindings: `principal` may do everything on topics "r..." and on
    every group, and idempotent writes; the rest belong to other users."""
    def binding(rtype, name, pattern, who, op):
        return {"resource_type": rtype, "resource_name": name, "pattern_type": pattern, "principal": who,
                "host": "*", "operation": op, "permission": "ALLOW"}
    acls = [binding("TOPIC", "r", "PREFIXED", principal, "ALL"), binding("GROUP", "*", "LITERAL", principal, "ALL"),
            binding("CLUSTER", "kafka-cluster", "LITERAL", principal, "IDEMPOTENT_WRITE")]
    acls += [binding("TOPIC", f"team-{i % 500}-topic-{i}", "LITERAL", f"User:user{i % 1000}", "READ")
             for i in range(total - len(acls))]
    os.makedirs(directory, mode=0o700, exist_ok=True)
    with open(os.path.join(directory, "acls.json"), "w") as f:
        json.dump({"version": 1, "acls": acls}, f)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Setup:
    def __init__(self, name, build, work, protocol, certs, acl=False):
        self.name, self.build = name, build
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir)
        self.port = free_port()
        security = f'security_protocol = "{protocol}"\n'
        self.props = []
        if protocol == "SASL_SSL":
            security += f'ssl_certificate = "{certs}/server.pem"\nssl_key = "{certs}/server.key"\n'
            subprocess.run([os.path.join(build, "kernel", "keel-tool"), "user", "add", "bench", "-d",
                            os.path.join(self.dir, "data"), "--iterations", "4096",
                            "--mechanism", "SCRAM-SHA-512"], input="bench-secret\n", text=True, check=True,
                           capture_output=True, timeout=30)
            self.props = ["security.protocol=SASL_SSL", f"ssl.ca.location={certs}/ca.pem",
                          "sasl.mechanisms=SCRAM-SHA-512", "sasl.username=bench", "sasl.password=bench-secret"]
        authorizer = ""
        if acl:
            authorizer = '[authorizer]\nstrategy = "acl"\n'
            write_acls(os.path.join(self.dir, "data", ".security", "authorizer-acl"), "User:bench", 10000)
        with open(os.path.join(self.dir, "keel.toml"), "w") as f:
            f.write(f'[broker]\ndata_dir = "{self.dir}/data"\nplugin_path = ["{build}/plugins"]\n'
                    f'\n[transports.kafka]\nlisten = "127.0.0.1:{self.port}"\n{security}\n'
                    '[topic_defaults]\npartitions = 1\nflush_mode = "os"\n' + authorizer)
        self.proc = None

    def start(self):
        log = open(os.path.join(self.dir, "keel.log"), "a")
        self.proc = subprocess.Popen([os.path.join(self.build, "kernel", "keel"), "--config",
                                      os.path.join(self.dir, "keel.toml")], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while "broker ready" not in open(os.path.join(self.dir, "keel.log")).read():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{self.name}: the broker did not start; see {self.dir}/keel.log")
            time.sleep(0.05)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)

    def load(self, mode, topic, count):
        cmd = [os.path.join(self.build, "bench", "load", "keel-load"), mode, "--brokers",
               f"127.0.0.1:{self.port}", "--topic", topic]
        if mode == "produce":
            cmd += ["--count", str(count), "--size", "1024", "--acks", "1"]
        for p in self.props:
            cmd += ["--set", p]
        before = cpu_seconds(self.proc.pid)
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        cpu = cpu_seconds(self.proc.pid) - before
        if out.returncode != 0:
            raise SystemExit(f"{self.name} {mode}: keel-load failed: {out.stderr[-2000:]}")
        data = json.loads([line for line in out.stdout.splitlines() if line.startswith("{")][-1])
        data["broker_cpu_s"] = cpu
        return data


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--count", type=int, default=500000, help="records per run (1 KiB each)")
    ap.add_argument("--acl", action="store_true", help="also SASL_SSL with the acl authorizer and 10,000 bindings")
    args = ap.parse_args()
    build = os.path.abspath(args.build_dir)
    work = tempfile.mkdtemp(prefix="keel-tls-cost-")
    certs = os.path.join(work, "certs")
    os.makedirs(certs)
    make_certificates(certs)
    setups = [Setup("PLAINTEXT", build, work, "PLAINTEXT", certs), Setup("SASL_SSL", build, work, "SASL_SSL", certs)]
    if args.acl:
        setups.append(Setup("SASL_SSL+ACL", build, work, "SASL_SSL", certs, acl=True))
    results = {s.name: {"produce": [], "consume": []} for s in setups}
    try:
        for run in range(args.runs):
            for s in setups:
                s.start()
                try:
                    topic = f"r{run}"
                    for mode in ("produce", "consume"):
                        d = s.load(mode, topic, args.count)
                        moved = d.get("mb_per_s", 0) * d["seconds"]
                        results[s.name][mode].append({"msgs_per_s": d["msgs_per_s"], "mb_per_s": d["mb_per_s"],
                                                      "broker_cpu_s_per_mb": d["broker_cpu_s"] / moved})
                        print(f"run {run + 1} {s.name:12} {mode:7} {d['msgs_per_s']:>10,.0f} msgs/s "
                              f"{d['mb_per_s']:7.1f} MB/s  broker CPU {1000 * d['broker_cpu_s'] / moved:.2f} ms/MB",
                              flush=True)
                finally:
                    s.stop()
    finally:
        for s in setups:
            s.stop()
    print("\n| Listener | Load | msgs/s | MB/s | Broker CPU ms per MB |\n|---|---|---|---|---|")
    for s in setups:
        for mode in ("produce", "consume"):
            rows = results[s.name][mode]

            def cell(key, scale=1.0, fmt="{:,.0f}"):
                values = [r[key] * scale for r in rows]
                return (fmt.format(statistics.median(values)) + " (" + fmt.format(min(values)) + "–"
                        + fmt.format(max(values)) + ")")
            print(f"| {s.name} | {mode} 1 KiB | {cell('msgs_per_s')} | {cell('mb_per_s', fmt='{:.1f}')} | "
                  f"{cell('broker_cpu_s_per_mb', 1000, '{:.2f}')} |")
    print(json.dumps({"bench": "tls_cost", "count": args.count, "results": results}))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
