"""max_connections per listener: with N connections open, the (N+1)th is
accepted and closed at once (counted in keel_connections_rejected_total,
logged a bounded number of times), the N open ones keep working, and once
one of them closes a new client is served again. Both transports."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_wire as kw  # noqa: E402
from connection_support import connect, metric, wait_closed  # noqa: E402
from connection_timeouts_test import http_request  # noqa: E402
from keel_harness import Broker, parse_args, wait_until  # noqa: E402

CAP = 4
EXTRA = 60  # refused connections, more than the log lines allowed per second
LINES_PER_SECOND = 10  # kClientLogLinesPerSecond


def kafka_works(sock, corr=1):
    sock.sendall(kw.request_frame(18, 0, corr, b""))
    return kw.read_response(sock)[0] == corr


def http_works(sock):
    return http_request(sock, "GET", "/health")[0] == 200


def check(broker, transport, port, works):
    def open_held():
        # A connection the test closed just before (the /metrics reads of
        # the previous check) may still count for a moment, until the broker
        # sees it closed: then one of these is refused, and the whole set is
        # tried again. A broker that refuses below the cap never passes.
        held = [connect(port) for _ in range(CAP)]
        try:
            if all(works(s) for s in held):
                return held
        except (ConnectionError, AssertionError):
            pass
        for s in held:
            s.close()
        return None
    held = wait_until(open_held, 10, f"{transport}: {CAP} connections within max_connections to be served")
    start = time.monotonic()
    for _ in range(EXTRA):
        with connect(port) as extra:
            wait_closed(extra, 10, f"{transport}: a connection beyond max_connections")
    refusing = time.monotonic() - start
    for s in held:
        assert works(s), f"{transport}: an open connection stopped working at the cap"
    held.pop().close()

    def served_again():
        with connect(port) as s:
            try:
                return works(s)
            except (ConnectionError, AssertionError):
                return False
    wait_until(served_again, 10, f"{transport}: a new connection to be served after one closed")
    for s in held:
        s.close()
    # /metrics is itself an HTTP connection: read it below the cap.
    wait_until(lambda: metric(broker, "keel_connections_rejected_total", f'transport="{transport}"') >= EXTRA,
               10, f"{transport}: the refused connections to be counted")
    print(f"  {transport}: {EXTRA} connections beyond max_connections = {CAP} closed in {refusing:.2f}s; "
          "served again after one left")
    return refusing


def main():
    args = parse_args()
    cap = f"max_connections = {CAP}\n"
    with Broker(args.build_dir, http=True, kafka_toml=cap, http_toml=cap) as broker:
        seconds = check(broker, "kafka", broker.kafka_port, kafka_works)
        seconds += check(broker, "http", broker.http_port, http_works)
        # Each second starts a new allowance: at most that many per started second.
        bound = LINES_PER_SECOND * (int(seconds) + 4)
        refused = broker.log_text().count("connections are open (max_connections")
        assert 1 <= refused <= bound, f"{refused} log lines for {2 * EXTRA} refused connections (bound {bound})"
        print(f"  {refused} log lines for {2 * EXTRA} refused connections")
    print("connection_cap_test: the connection cap holds on both transports")
    return 0


if __name__ == "__main__":
    sys.exit(main())
