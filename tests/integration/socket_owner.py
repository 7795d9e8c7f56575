"""Which process opened a loopback TCP connection (python3 standard library
only, Linux /proc). A LinkProxy in front of broker j sees every peer as
127.0.0.1:<ephemeral port>; to cut the link from broker i only, it asks
which of the brokers' pids owns the socket at the other end.

The connecting socket is found in /proc/net/tcp by its two ports, then its
inode among the candidate processes' open files. Needs permission to read
those processes' /proc/<pid>/fd (same user, or root), as the test's own
children are."""
import os


def _socket_inode(local_port, remote_port):
    """The inode of the IPv4 TCP socket bound to `local_port` and connected
    to `remote_port`, or None."""
    want_local = f":{local_port:04X}"
    want_remote = f":{remote_port:04X}"
    try:
        with open("/proc/net/tcp") as f:
            next(f)  # header
            for line in f:
                fields = line.split()
                if fields[1].endswith(want_local) and fields[2].endswith(want_remote):
                    return fields[9]
    except OSError:
        return None
    return None


def owner_pid(peer_port, proxy_port, pids):
    """The pid among `pids` whose socket 127.0.0.1:`peer_port` is connected
    to `proxy_port`, or None (another process, or gone already)."""
    inode = _socket_inode(peer_port, proxy_port)
    if inode is None or inode == "0":
        return None
    target = f"socket:[{inode}]"
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"{fd_dir}/{fd}") == target:
                    return pid
            except OSError:
                continue
    return None
