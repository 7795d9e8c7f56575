"""LinkProxy (link_proxy.py) against a real echo server on loopback: it
forwards both ways (megabytes, and a half-close), a black hole stalls
existing and new connections without closing them and lets the held bytes
through once healed, reject resets, and a dead target resets the client.

Silence can only be observed by waiting: the black-hole checks wait
QUIET_S for bytes that must not come."""
import argparse
import os
import socket
import socketserver
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from etcd_process import free_ports  # noqa: E402
from keel_harness import wait_until  # noqa: E402
from link_proxy import LinkProxy  # noqa: E402
from socket_owner import owner_pid  # noqa: E402

QUIET_S = 0.5

# A process that connects to the port given, says so, and holds the
# connection until killed.
CHILD_CONNECTS = """
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"c")
assert s.recv(1) == b"c"
print("connected", flush=True)
time.sleep(600)
"""


class EchoServer(socketserver.ThreadingTCPServer):
    """Echoes every byte back; closes when the client half-closes. Counts
    connections and bytes received (read by the test thread)."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.accepted = 0
        self.received = 0
        super().__init__(("127.0.0.1", 0), EchoHandler)
        self.port = self.server_address[1]


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        self.server.accepted += 1
        while True:
            try:
                data = self.request.recv(65536)
            except OSError:
                return
            if not data:
                return
            self.server.received += len(data)
            self.request.sendall(data)


def connect(port, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(sock, n):
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise AssertionError(f"connection closed after {len(out)} of {n} bytes")
        out += chunk
    return bytes(out)


def assert_silent(test, sock):
    """Nothing arrives on `sock` for QUIET_S and it is not closed."""
    sock.settimeout(QUIET_S)
    with test.assertRaises(socket.timeout, msg="bytes or a close came through a black hole"):
        sock.recv(1)
    sock.settimeout(5.0)


def assert_reset(test, sock):
    """`sock` is reset or closed by the proxy (recv fails or sees EOF)."""
    sock.settimeout(5.0)
    try:
        data = sock.recv(1)
    except (ConnectionResetError, BrokenPipeError):
        return
    test.assertEqual(data, b"", "expected the proxy to reset the connection")


def assert_new_connection_reset(test, port):
    """A new connection to `port` is reset: at connect (the reset can win
    the race with connect's return on loopback) or at the first read."""
    try:
        s = connect(port)
    except (ConnectionResetError, ConnectionRefusedError):
        return
    with s:
        assert_reset(test, s)


class LinkProxyTest(unittest.TestCase):
    def setUp(self):
        self.server = EchoServer()
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.proxy = LinkProxy(self.server.port, name="test proxy")
        self.addCleanup(self.proxy.close)
        self.socks = []
        self.addCleanup(lambda: [s.close() for s in self.socks])

    def client(self):
        s = connect(self.proxy.port)
        self.socks.append(s)
        return s

    def roundtrip(self, sock, data):
        sock.sendall(data)
        self.assertEqual(recv_exact(sock, len(data)), data)

    def test_forwards_megabytes_both_ways_and_a_half_close(self):
        c = self.client()
        payload = os.urandom(3 << 20)  # above the proxy's per-direction buffer
        sender = threading.Thread(target=lambda: (c.sendall(payload), c.shutdown(socket.SHUT_WR)))
        sender.start()
        got = bytearray()
        while True:
            chunk = c.recv(1 << 16)
            if not chunk:  # the server closed after our FIN reached it through the proxy
                break
            got += chunk
        sender.join()
        self.assertEqual(len(got), len(payload))
        self.assertTrue(got == payload, "the bytes came back changed")
        wait_until(lambda: self.proxy.connections() == 0, 10, "the proxy to drop the closed link")
        self.assertEqual(self.proxy.bytes_to_target, len(payload))
        self.assertEqual(self.proxy.bytes_to_client, len(payload))

    def test_black_hole_stalls_old_and_new_connections_then_heals(self):
        old = self.client()
        self.roundtrip(old, b"before")
        self.proxy.black_hole()
        old.sendall(b"held-old")
        new = self.client()  # accepted by the proxy, not passed on
        new.sendall(b"held-new")
        assert_silent(self, old)
        assert_silent(self, new)
        self.assertEqual(self.server.accepted, 1, "a connection reached the target through a black hole")
        self.assertEqual(self.server.received, len(b"before"), "bytes reached the target through a black hole")
        self.assertEqual(self.proxy.connections(), 2)

        self.proxy.pass_through()
        self.assertEqual(recv_exact(old, 8), b"held-old")
        self.assertEqual(recv_exact(new, 8), b"held-new")
        self.roundtrip(self.client(), b"after")
        self.assertEqual(self.server.accepted, 3)

    def test_reject_resets_every_connection_then_heals(self):
        old = self.client()
        self.roundtrip(old, b"before")
        self.proxy.reject()
        assert_reset(self, old)
        assert_new_connection_reset(self, self.proxy.port)
        self.assertEqual(self.server.accepted, 1)
        self.proxy.pass_through()
        self.roundtrip(self.client(), b"after")

    def test_dead_target_resets_the_client(self):
        (dead_port,) = free_ports(1)
        with LinkProxy(dead_port, name="proxy to nothing") as proxy:
            assert_new_connection_reset(self, proxy.port)

    def test_a_mode_for_one_source_leaves_the_others_alone(self):
        labels = {}  # local port of a test connection -> its label
        with LinkProxy(self.server.port, classify=lambda peer, _: labels.get(peer)) as proxy:
            def client(label):
                s = socket.socket()
                self.socks.append(s)
                s.bind(("127.0.0.1", 0))
                labels[s.getsockname()[1]] = label
                s.connect(("127.0.0.1", proxy.port))
                s.settimeout(5.0)
                return s
            a_old, b_old = client("a"), client("b")
            self.roundtrip(a_old, b"a1")
            proxy.black_hole(source="a")
            a_old.sendall(b"a2")
            a_new = client("a")
            a_new.sendall(b"a3")
            self.roundtrip(b_old, b"b1")
            self.roundtrip(client("b"), b"b2")
            self.roundtrip(client(None), b"unlabelled")
            assert_silent(self, a_old)
            assert_silent(self, a_new)
            proxy.reject(source="b")
            assert_reset(self, b_old)
            proxy.pass_through()  # every source again
            self.assertEqual(recv_exact(a_old, 2), b"a2")
            self.assertEqual(recv_exact(a_new, 2), b"a3")
            self.roundtrip(client("b"), b"b3")

    def test_sockets_are_told_apart_by_the_process_that_opened_them(self):
        child = subprocess.Popen([sys.executable, "-c", CHILD_CONNECTS, str(self.proxy.port)],
                                 stdout=subprocess.PIPE, text=True)
        self.addCleanup(child.stdout.close)
        self.addCleanup(child.wait)
        self.addCleanup(child.kill)
        owners = {child.pid: "child", os.getpid(): "test"}
        self.proxy.classify = lambda peer, port: owners.get(owner_pid(peer, port, list(owners)))
        self.assertEqual(child.stdout.readline().strip(), "connected")
        mine = self.client()
        self.roundtrip(mine, b"x")
        self.assertEqual(sorted(self.proxy.labels()), ["child", "test"])

    def test_unknown_mode_is_refused(self):
        with self.assertRaises(ValueError):
            self.proxy.set_mode("drop-half")
        self.roundtrip(self.client(), b"still passing")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir")  # passed by ctest; the proxy needs no build
    p.add_argument("--source-dir")
    _, rest = p.parse_known_args()
    unittest.main(module="__main__", argv=[sys.argv[0], "-v", *rest])


if __name__ == "__main__":
    main()
