"""The servers bench/compare measures, each started fresh on loopback in its
own data directory for one scenario, with the durability settings of a tier.

Tier "A": acknowledged before any fsync. Tier "B": fsync'd before the ack.
"""
import os
import re
import shutil
import socket

import compare_procs as procs


class Server:
    def __init__(self, name, proc, port, data_dir, command, log):
        self.name, self.proc, self.port, self.data_dir, self.command, self.log = name, proc, port, data_dir, command, log

    def stop(self):
        procs.stop(self.proc)
        shutil.rmtree(self.data_dir, ignore_errors=True)


KEEL_FLUSH = {"A": "os", "B": "every-batch"}


def keel_config(data_dir, plugin_dir, flush_mode):
    return """[broker]
data_dir = "{data}"
plugin_path = ["{plugins}"]
auto_create_topics = true
log_level = "info"

[topic_defaults]
partitions = 1
flush_mode = "{flush}"

[topics.bench]
partitions = 1

[transports.kafka]
listen = "127.0.0.1:0"
""".format(data=os.path.join(data_dir, "data"), plugins=plugin_dir, flush=flush_mode)


def start_keel(tier, work, build, pin):
    data_dir = os.path.join(work, "keel")
    os.makedirs(data_dir)
    config = os.path.join(data_dir, "keel.toml")
    with open(config, "w") as f:
        f.write(keel_config(data_dir, os.path.join(build, "plugins"), KEEL_FLUSH[tier]))
    log = os.path.join(data_dir, "keel.log")
    cmd = pin + [os.path.join(build, "kernel", "keel"), "--config", config]
    proc = procs.start(cmd, log)

    def port():
        text = open(log, errors="replace").read()
        if "broker ready" not in text:
            return None
        m = re.search(r"Kafka protocol listening on .*:(\d+) \(advertised", text)
        return int(m.group(1)) if m else None

    p = procs.wait_for(port, proc, "keel", log)
    return Server("keel", proc, p, data_dir, " ".join(pin + ["keel", "--config", "keel.toml"]), log)


# "A0": no AOF at all (memory only, like Keel's page cache without the log
# file); "A": AOF written every command, fsync'd once a second; "B": AOF
# fsync'd before replies go out. No RDB snapshots: a fork mid-run would
# measure the snapshot, not the stream.
def start_mock(work):
    """No server: librdkafka's in-process mock broker (keel-load with
    `--set test.mock.num.brokers=1`) answers the client. Its row is the
    client's own ceiling, what keel-load reaches against a broker that costs
    nothing. A placeholder process stands in for the server so the runner
    treats every system alike (its CPU is ~0; the mock's is the client's)."""
    data_dir = os.path.join(work, "rdkafka-mock")
    os.makedirs(data_dir)
    log = os.path.join(data_dir, "placeholder.log")
    proc = procs.start(["sleep", "infinity"], log)
    return Server("rdkafka-mock", proc, 0, data_dir,
                  "(none: librdkafka's in-process mock broker, keel-load --set test.mock.num.brokers=1)", log)


REDIS_TIERS = {
    "A0": ["--appendonly", "no"],
    "A": ["--appendonly", "yes", "--appendfsync", "everysec"],
    "B": ["--appendonly", "yes", "--appendfsync", "always"],
}


def start_redis(tier, work, pin):
    data_dir = os.path.join(work, "redis")
    os.makedirs(data_dir)
    port = procs.free_port()
    args = ["--bind", "127.0.0.1", "--port", str(port), "--dir", data_dir, "--save", "", "--daemonize", "no",
            "--logfile", ""] + REDIS_TIERS[tier]
    log = os.path.join(data_dir, "redis.log")
    proc = procs.start(pin + ["redis-server"] + args, log)
    procs.wait_for(lambda: _answers(port, b"PING\r\n", b"+PONG"), proc, "redis-server", log)
    shown = " ".join(pin + ["redis-server"] + [a if a else '""' for a in args])
    shown = shown.replace(str(port), "$PORT").replace(data_dir, "$DATA")
    return Server("redis", proc, port, data_dir, shown, log)


def start_nats(tier, work, pin):
    if tier != "A":
        raise ValueError("nats-server has no fsync-before-ack setting here")
    data_dir = os.path.join(work, "nats")
    os.makedirs(data_dir)
    port = procs.free_port()
    args = ["-a", "127.0.0.1", "-p", str(port), "-js", "-sd", data_dir]
    log = os.path.join(data_dir, "nats.log")
    proc = procs.start(pin + ["nats-server"] + args, log)
    procs.wait_for(lambda: "Server is ready" in open(log, errors="replace").read(), proc, "nats-server", log)
    shown = " ".join(pin + ["nats-server"] + args).replace(str(port), "$PORT").replace(data_dir, "$DATA")
    return Server("nats", proc, port, data_dir, shown, log)


def _answers(port, request, expect):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(request)
            return s.recv(64).startswith(expect)
    except OSError:
        return False
