"""Loopback ports for the brokers, etcd members and proxies the tests start.

Why not bind port 0 and pass the number on: that picks from the kernel's
ephemeral range, the same range every outgoing connection takes its source
port from. Between the pick and the child process's own bind, a client of a
test running in parallel (ctest -j2) can take the port as its source port,
and the broker fails with "Address already in use" (seen in CI runs).

So ports come from below the ephemeral range, where nothing is handed out
implicitly, and each chosen port is reserved across processes by an
exclusive lock on /tmp/keel-test-ports/<port>.lock, held by this process
until it exits (the kernel drops the lock even when it is killed). Two tests
running at once therefore never choose the same port, and a port still
bound by someone else is skipped.
"""
import fcntl
import os
import random
import socket

LOCK_DIR = "/tmp/keel-test-ports"
_held = {}  # port -> open lock file, for this process's lifetime
# Its own generator: a test that seeds `random` (the nemesis) keeps its sequence.
_rng = random.Random()


def _range():
    """[low, high) below the kernel's ephemeral range."""
    low_ephemeral = 32768
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low_ephemeral = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    high = max(low_ephemeral, 12000)
    return max(10000, high - 20000), high


def _reserve(port):
    """True if this process now holds `port`'s lock and nothing listens there."""
    os.makedirs(LOCK_DIR, exist_ok=True)
    f = open(os.path.join(LOCK_DIR, f"{port}.lock"), "a")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        return False
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            f.close()  # drops the lock
            return False
    _held[port] = f
    return True


def free_ports(count):
    """`count` distinct loopback ports, free now and reserved for this
    process against every other test process."""
    low, high = _range()
    out = []
    for _ in range(100 * count + 1000):
        if len(out) == count:
            return out
        port = _rng.randrange(low, high)
        if port in _held or port in out:
            continue
        if _reserve(port):
            out.append(port)
    raise RuntimeError(f"no {count} free loopback ports in [{low}, {high}) after many tries: "
                       f"are many tests holding ports ({LOCK_DIR})?")


def free_port():
    return free_ports(1)[0]
