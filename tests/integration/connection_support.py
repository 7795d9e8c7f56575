"""What the connection-limit tests share: reading a Prometheus metric from
the broker's HTTP /metrics, a process's RSS and CPU time from /proc, and
watching a socket until the broker closes it (with a deadline)."""
import os
import select
import socket
import time
import urllib.request


def metric(broker, name, labels=""):
    """The value of one sample (`labels` as rendered, e.g. 'transport="kafka"'), 0 if absent."""
    with urllib.request.urlopen(broker.http_url + "/metrics", timeout=10) as r:
        text = r.read().decode()
    wanted = f"{name}{{{labels}}}" if labels else name
    for line in text.splitlines():
        if line.startswith(wanted + " "):
            return float(line.split()[-1])
    return 0.0


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def cpu_seconds(pid):
    """utime + stime of the process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def closed_by_peer(sock):
    """True once the peer closed the connection (EOF or reset); never blocks."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


def wait_closed(sock, timeout, what, trickle=None, every=0.1):
    """Waits up to `timeout` s for the peer to close `sock`; returns the
    seconds it took. `trickle()` is called every `every` s meanwhile (a slow
    client sending its next byte); the wait on the socket paces it."""
    start = time.monotonic()
    while True:
        readable, _, _ = select.select([sock], [], [], every)
        if readable and closed_by_peer(sock):
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for the broker to close {what}")
        if trickle is not None:
            try:
                trickle()
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - start


def connect(port, timeout=10):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)
