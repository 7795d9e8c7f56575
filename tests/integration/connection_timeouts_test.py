"""Both transports close connections that hold resources without using
them: an idle connection after idle_timeout_ms, a request whose bytes
trickle in after request_timeout_ms, and (HTTP) headers dribbled by a
slowloris client after header_timeout_ms. Connections that are in use, or
wait for a long poll, stay open. Each close is counted in
keel_connections_timed_out_total{transport,reason}."""
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_wire as kw  # noqa: E402
from connection_support import connect, closed_by_peer, metric, wait_closed  # noqa: E402
from keel_harness import Broker, parse_args, wait_until  # noqa: E402

IDLE_MS = 500
SLOW_MS = 1000
TOPIC = "quiet"


def http_request(sock, method, path, body=b""):
    """One keep-alive request on a raw socket; returns (status, body)."""
    head = f"{method} {path} HTTP/1.1\r\nHost: keel\r\nContent-Length: {len(body)}\r\n\r\n"
    sock.sendall(head.encode() + body)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the broker closed a connection in use"
        data += chunk
    header, rest = data.split(b"\r\n\r\n", 1)
    lines = header.decode().split("\r\n")
    length = next(int(v) for k, _, v in (ln.partition(": ") for ln in lines[1:]) if k.lower() == "content-length")
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "the broker closed a connection in use"
        rest += chunk
    return int(lines[0].split()[1]), rest


def timed_out(broker, transport, reason):
    return metric(broker, "keel_connections_timed_out_total", f'transport="{transport}",reason="{reason}"')


def expect_idle_close(broker, port, transport):
    with connect(port) as s:
        took = wait_closed(s, 10, f"an idle {transport} connection")
    # The check runs every quarter of the timeout: never before it.
    assert took >= IDLE_MS / 1000 * 0.9, f"{transport}: idle connection closed after {took:.2f}s, before the timeout"
    wait_until(lambda: timed_out(broker, transport, "idle") >= 1, 10, f"{transport} idle close to be counted")
    print(f"  {transport}: idle connection closed after {took:.2f}s (idle_timeout_ms = {IDLE_MS})")


def kafka_active_stays(broker):
    """Requests back to back for four idle timeouts: never closed."""
    with connect(broker.kafka_port) as s:
        end, n = time.monotonic() + 4 * IDLE_MS / 1000, 0
        while time.monotonic() < end:
            s.sendall(kw.request_frame(18, 0, n, b""))
            corr, _ = kw.read_response(s)
            assert corr == n
            n += 1
        assert not closed_by_peer(s)


def http_active_stays(broker):
    with connect(broker.http_port) as s:
        end = time.monotonic() + 4 * IDLE_MS / 1000
        while time.monotonic() < end:
            assert http_request(s, "GET", "/health")[0] == 200
        # A long poll three times the idle timeout is waiting, not idle.
        start = time.monotonic()
        status, body = http_request(s, "GET", f"/topics/{TOPIC}/partitions/0/records?offset=0&timeout_ms=1500")
        assert status == 200, body
        assert time.monotonic() - start >= 1.4, "the long poll did not wait"
        assert http_request(s, "GET", "/health")[0] == 200


def kafka_trickled_frame(broker):
    """A frame announcing 1000 bytes whose bytes come one per 100 ms."""
    with connect(broker.kafka_port) as s:
        s.sendall(struct.pack(">i", 1000))
        took = wait_closed(s, 15, "a Kafka connection trickling a request", trickle=lambda: s.send(b"\x00"))
    assert took >= SLOW_MS / 1000 * 0.9, f"closed after {took:.2f}s, before request_timeout_ms"
    wait_until(lambda: timed_out(broker, "kafka", "request") >= 1, 10, "the slow request to be counted")
    print(f"  kafka: trickled request closed after {took:.2f}s (request_timeout_ms = {SLOW_MS})")


def http_slowloris(broker):
    """Headers dribbled a byte per 100 ms: they never end in time."""
    header = iter(b"X-Slow: " + b"a" * 10000)
    with connect(broker.http_port) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: keel\r\n")
        took = wait_closed(s, 15, "a slowloris HTTP client", trickle=lambda: s.send(bytes([next(header)])))
    assert took >= SLOW_MS / 1000 * 0.9, f"closed after {took:.2f}s, before header_timeout_ms"
    wait_until(lambda: timed_out(broker, "http", "header") >= 1, 10, "the slowloris close to be counted")
    print(f"  http: slowloris client closed after {took:.2f}s (header_timeout_ms = {SLOW_MS})")


def http_trickled_body(broker):
    with connect(broker.http_port) as s:
        s.sendall(f"POST /topics/{TOPIC}/records HTTP/1.1\r\nHost: keel\r\nContent-Type: application/json\r\n"
                  "Content-Length: 1000\r\n\r\n".encode())
        took = wait_closed(s, 15, "an HTTP client trickling a body", trickle=lambda: s.send(b" "))
    assert took >= SLOW_MS / 1000 * 0.9, f"closed after {took:.2f}s, before request_timeout_ms"
    wait_until(lambda: timed_out(broker, "http", "request") >= 1, 10, "the slow body to be counted")
    print(f"  http: trickled body closed after {took:.2f}s (request_timeout_ms = {SLOW_MS})")


def main():
    args = parse_args()
    limits = f"idle_timeout_ms = {IDLE_MS}\nrequest_timeout_ms = {SLOW_MS}\n"
    with Broker(args.build_dir, http=True, topics_toml=f"[topics.{TOPIC}]\npartitions = 1\n",
                kafka_toml=limits, http_toml=limits + f"header_timeout_ms = {SLOW_MS}\n") as broker:
        expect_idle_close(broker, broker.kafka_port, "kafka")
        expect_idle_close(broker, broker.http_port, "http")
        kafka_active_stays(broker)
        http_active_stays(broker)
        kafka_trickled_frame(broker)
        http_slowloris(broker)
        http_trickled_body(broker)
        assert timed_out(broker, "kafka", "idle") >= 1 and timed_out(broker, "http", "idle") >= 1
        assert broker.alive()
    print("connection_timeouts_test: idle, slow-header and slow-request connections closed; active ones kept")
    return 0


if __name__ == "__main__":
    sys.exit(main())
