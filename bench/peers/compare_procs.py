"""Processes of bench/compare: pinning, start/stop by PID, CPU time, free ports.

Everything started here is remembered and stopped by its PID in stop_all(),
which bench/compare calls from a finally block, so an interrupted run leaves
no server behind.
"""
import os
import signal
import socket
import subprocess
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
_started = []


# Interrupt names of block devices in /proc/interrupts (virtio-blk, NVMe, SATA).
_DISK_IRQ_NAMES = ("-req.", "nvme", "ahci", "ata_piix")


def disk_irq_core(cores):
    """The core (of `cores`) that handles most block-device interrupts, with
    the interrupt names, or (None, []) when /proc/interrupts does not say."""
    try:
        with open("/proc/interrupts") as f:
            lines = f.read().splitlines()
    except OSError:
        return None, []
    cpus = [int(c[3:]) for c in lines[0].split()] if lines else []
    counts, names = {}, []
    for line in lines[1:]:
        fields = line.split()
        if not fields or not any(n in fields[-1] for n in _DISK_IRQ_NAMES):
            continue
        names.append(fields[-1])
        for cpu, value in zip(cpus, fields[1:1 + len(cpus)]):
            if value.isdigit():
                counts[cpu] = counts.get(cpu, 0) + int(value)
    best = max((c for c in counts if c in cores), key=lambda c: counts[c], default=None)
    return (best, names) if best is not None and counts[best] > 0 else (None, [])


def pins():
    """(server prefix, client prefix, description): different cores when there
    are two, the server on the one that takes the disk's interrupts (an
    fdatasync there completes without a cross-core wake-up: on the 2-core VM
    of docs/performance.md, 97 µs against 155 µs on the other core)."""
    have_taskset = subprocess.run(["sh", "-c", "command -v taskset"], capture_output=True).returncode == 0
    if len(os.sched_getaffinity(0)) >= 2 and have_taskset:
        cores = sorted(os.sched_getaffinity(0))
        server, irq_names = disk_irq_core(cores)
        why = " (it takes the disk's interrupts: {})".format(", ".join(irq_names)) if server is not None else ""
        if server is None:
            server = cores[0]
        client = next(c for c in cores if c != server)
        return (["taskset", "-c", str(server)], ["taskset", "-c", str(client)],
                "server on core {}{}, client on core {} (taskset)".format(server, why, client))
    return [], [], "not pinned ({} core(s) available)".format(len(os.sched_getaffinity(0)))


def free_port():
    # The port is free when asked; the server binds it moments later. Only
    # loopback is used, where nothing else of ours competes for ports.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd, log_path, cwd=None):
    log = open(log_path, "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd)
    log.close()
    _started.append(proc)
    return proc


def stop(proc, grace_s=30):
    """SIGTERM, then SIGKILL after grace_s: a clean stop lets servers flush."""
    if proc is None:
        return
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc in _started:
        _started.remove(proc)


def start_background(cmd, cwd=None):
    """Starts a client or a helper (a hiccup meter); finish() collects it."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            cwd=cwd, text=True)
    _started.append(proc)
    return proc


def finish(proc, timeout_s):
    """Waits for a start_background() process; returns (status, stdout, stderr)."""
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        err += "\n(killed after {} s)".format(timeout_s)
    except BaseException:
        # Ctrl-C or SIGTERM (raised as SystemExit) mid-run: the process goes
        # too, since the finally below takes it off the list stop_all() stops.
        proc.kill()
        proc.wait()
        raise
    finally:
        if proc in _started:
            _started.remove(proc)
    return proc.returncode, out, err


def stop_all():
    for proc in list(_started):
        stop(proc, grace_s=10)


def cpu_seconds(pid):
    """utime + stime of every thread of pid (fields 14, 15 of /proc/PID/stat)."""
    try:
        with open("/proc/{}/stat".format(pid)) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return float("nan")


def wait_for(predicate, proc, what, log_path, timeout_s=30):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("{} exited during start-up (status {}); its log {}:\n{}".format(
                what, proc.returncode, log_path, tail(log_path)))
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise RuntimeError("{} was not ready within {} s; its log {}:\n{}".format(what, timeout_s, log_path,
                                                                             tail(log_path)))


def tail(path, lines=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)"


def run(cmd, timeout_s, cwd=None):
    """Runs a client in the foreground; returns (status, stdout, stderr)."""
    return finish(start_background(cmd, cwd), timeout_s)
