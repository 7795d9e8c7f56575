"""The machine's limits, measured in the same run as the brokers so every
Keel figure can be given as a fraction of them.

- loopback TCP bandwidth: iperf3, one stream, server and client pinned apart
- TCP round trip: keel-tcp-rtt, 64 B ping-pong with TCP_NODELAY (a C client,
  so the figure is the kernel's and not an interpreter's)
- fdatasync'd sequential write bandwidth: fio, 1 MiB writes, fdatasync after each
- the same for SUSTAINED_SECONDS, second by second: a cloud disk may take a
  burst far faster than it sustains (the VM of docs/performance.md: ~0.9 GB/s
  for about a second, then ~270 MB/s), and a 3 s run at 1 KiB writes its
  whole burst and more, so its figure depends on how full the disk's bucket was
- 4 KiB fdatasync rate: fio, 4 KiB appends, fdatasync after each (p50/p99 too)
"""
import json
import os
import shutil
import time

import compare_procs as procs

SUSTAINED_SECONDS = 15


def measure(work, build, server_pin, client_pin, seconds, log):
    limits = {}
    limits["tcp_bandwidth"] = _iperf3(work, server_pin, client_pin, seconds)
    log("  loopback TCP (iperf3, {} s): {:.0f} MB/s".format(seconds, limits["tcp_bandwidth"]["mb_per_s"]))
    limits["tcp_rtt"] = tcp_rtt(work, build, server_pin, client_pin)
    log("  TCP round trip (64 B): p50 {p50:.1f} us, p99 {p99:.1f} us".format(**limits["tcp_rtt"]["rtt_us"]))
    fio_dir = os.path.join(work, "fio")
    os.makedirs(fio_dir)
    try:
        limits["seq_write_fdatasync"] = _fio(fio_dir, server_pin, "1M", seconds, "256M")
        log("  sequential write, 1 MiB + fdatasync each (fio, {} s): {:.0f} MB/s".format(
            seconds, limits["seq_write_fdatasync"]["mb_per_s"]))
        limits["seq_write_sustained"] = _fio_sustained(fio_dir, server_pin)
        log("  sequential write, 1 MiB + fdatasync each, per second (fio, {} s): first second {:.0f} MB/s, "
            "then median {:.0f} MB/s (min {:.0f}, max {:.0f})".format(
                SUSTAINED_SECONDS, limits["seq_write_sustained"]["first_mb_per_s"],
                limits["seq_write_sustained"]["later_median_mb_per_s"], limits["seq_write_sustained"]["later_min_mb_per_s"],
                limits["seq_write_sustained"]["later_max_mb_per_s"]))
        limits["fdatasync_4k"] = _fio(fio_dir, server_pin, "4k", seconds, "64M")
        log("  4 KiB append + fdatasync each (fio, {} s): {:,.0f}/s, p50 {:.0f} us, p99 {:.0f} us".format(
            seconds, limits["fdatasync_4k"]["iops"], limits["fdatasync_4k"]["sync_p50_us"],
            limits["fdatasync_4k"]["sync_p99_us"]))
    finally:
        shutil.rmtree(fio_dir, ignore_errors=True)
    return limits


COMMANDS = [
    "iperf3 -s -B 127.0.0.1 -p $PORT -1          # server core",
    "iperf3 -c 127.0.0.1 -p $PORT -t $SECONDS -J # client core",
    "keel-tcp-rtt serve                          # server core",
    "keel-tcp-rtt ping $PORT 20000               # client core",
    "fio --name=seq --rw=write --bs=1M --size=256M --fdatasync=1 --ioengine=psync --time_based "
    "--runtime=$SECONDS --directory=$WORK --output-format=json    # server core",
    "fio --name=sustained --rw=write --bs=1M --size=4G --fdatasync=1 --ioengine=psync --time_based "
    "--runtime={} --directory=$WORK --write_bw_log=bw --log_avg_msec=1000    # server core".format(SUSTAINED_SECONDS),
    "fio --name=sync4k --rw=write --bs=4k --size=64M --fdatasync=1 --ioengine=psync --time_based "
    "--runtime=$SECONDS --directory=$WORK --output-format=json    # server core",
]


def _iperf3(work, server_pin, client_pin, seconds):
    # A fresh server per attempt: "-1" serves one client, and a client that
    # reached a server not yet ready ends that server's one test without a
    # result ("sum_received" missing, the reason in "error").
    last = ""
    for attempt in range(3):
        port = procs.free_port()
        log = os.path.join(work, "iperf3-server-{}.log".format(attempt))
        server = procs.start(server_pin + ["iperf3", "-s", "-B", "127.0.0.1", "-p", str(port), "-1"], log)
        try:
            status, out, err = 1, "", ""
            for _ in range(50):  # until the server listens
                status, out, err = procs.run(client_pin + ["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t",
                                                            str(seconds), "-J"], timeout_s=seconds + 30)
                # iperf3 3.12 with -J exits 0 even when it could not connect
                # (the reason is in the JSON), so the text decides.
                if "Connection refused" not in out + err:
                    break
                time.sleep(0.1)  # polling for the server's listening socket
            try:
                report = json.loads(out)
            except ValueError:
                report = {}
            received = report.get("end", {}).get("sum_received", {}).get("bits_per_second")
            if status == 0 and received:
                return {"mb_per_s": received / 8 / 1e6}
            last = report.get("error") or (err or out)[-500:]
        finally:
            procs.stop(server, grace_s=5)
    raise RuntimeError("iperf3 gave no result in 3 attempts; the last said: " + last)


def tcp_rtt(work, build, server_pin, client_pin):
    """keel-tcp-rtt serve and ping: {"rtt_us": {"p50": ..., "p99": ...}, ...}."""
    tool = os.path.join(build, "bench", "peers", "keel-tcp-rtt")
    log = os.path.join(work, "rtt-server.log")
    server = procs.start(server_pin + [tool, "serve"], log)
    try:
        port = procs.wait_for(lambda: open(log).read().strip().isdigit() and int(open(log).read()), server,
                              "keel-tcp-rtt serve", log)
        status, out, err = procs.run(client_pin + [tool, "ping", str(port), "20000"], timeout_s=60)
        if status != 0:
            raise RuntimeError("keel-tcp-rtt ping failed: " + err)
        return json.loads(out.strip().splitlines()[-1])
    finally:
        procs.stop(server, grace_s=5)


def _fio_sustained(directory, pin):
    """Bandwidth second by second: the first second, and the median of the
    rest (what a long run at the disk's limit gets)."""
    log_prefix = os.path.join(directory, "bw")
    status, out, err = procs.run(pin + [
        "fio", "--name=sustained", "--rw=write", "--bs=1M", "--size=4G", "--fdatasync=1", "--ioengine=psync",
        "--time_based", "--runtime=" + str(SUSTAINED_SECONDS), "--directory=" + directory,
        "--write_bw_log=" + log_prefix, "--log_avg_msec=1000", "--output-format=json"],
        timeout_s=SUSTAINED_SECONDS + 120)
    if status != 0:
        raise RuntimeError("fio failed: " + err[-500:])
    per_second = []  # MB/s; fio logs KiB/s
    with open(log_prefix + "_bw.1.log") as f:
        for line in f:
            fields = [x.strip() for x in line.split(",")]
            if len(fields) >= 2:
                per_second.append(int(fields[1]) * 1024 / 1e6)
    os.remove(log_prefix + "_bw.1.log")
    if len(per_second) < 3:
        raise RuntimeError("fio logged {} seconds of bandwidth, not {}".format(len(per_second), SUSTAINED_SECONDS))
    later = sorted(per_second[1:])
    return {"per_second_mb_per_s": per_second, "first_mb_per_s": per_second[0],
            "later_median_mb_per_s": later[len(later) // 2], "later_min_mb_per_s": later[0],
            "later_max_mb_per_s": later[-1]}


def _fio(directory, pin, block, seconds, size):
    status, out, err = procs.run(pin + [
        "fio", "--name=limit", "--rw=write", "--bs=" + block, "--size=" + size, "--fdatasync=1",
        "--ioengine=psync", "--time_based", "--runtime=" + str(seconds), "--directory=" + directory,
        "--output-format=json"], timeout_s=seconds + 120)
    if status != 0:
        raise RuntimeError("fio failed: " + err[-500:])
    job = json.loads(out[out.index("{"):])["jobs"][0]
    sync = job.get("sync", {}).get("lat_ns", {})
    pct = sync.get("percentile", {})
    return {
        "mb_per_s": job["write"]["bw_bytes"] / 1e6,
        "iops": job["write"]["iops"],
        "sync_p50_us": pct.get("50.000000", 0) / 1e3,
        "sync_p99_us": pct.get("99.000000", 0) / 1e3,
        "sync_mean_us": sync.get("mean", 0) / 1e3,
    }
