"""When the broker runs out of file descriptors, accept() fails with EMFILE.
The accept loop must back off instead of spinning: with the broker at its
limit for two seconds, its CPU time barely grows and the log holds a bounded
number of lines about it; once clients leave, it accepts again (including
clients that waited in the backlog) and says so."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_wire as kw  # noqa: E402
from connection_support import connect, cpu_seconds  # noqa: E402
from keel_harness import Broker, parse_args, wait_until  # noqa: E402

NOFILE = 128
WINDOW = 2.0  # seconds at the limit that are measured


def main():
    args = parse_args()
    # max_connections above the descriptor limit: accept itself must fail.
    with Broker(args.build_dir, nofile=NOFILE, kafka_toml="max_connections = 100000") as broker:
        # More clients than the broker has descriptors. connect() completes in
        # the kernel's listen backlog before the broker accepts, so the log
        # line is awaited after the connections, not raced against them.
        held = [connect(broker.kafka_port) for _ in range(NOFILE + 16)]
        wait_until(lambda: "accept failed" in broker.log_text(), 10,
                   "accept to fail (is the open-file limit applied?)")
        print(f"  accept failed with {len(held)} client connections (RLIMIT_NOFILE = {NOFILE})")
        # Clients keep arriving while the broker is at its limit.
        backlog = [connect(broker.kafka_port) for _ in range(5)]
        pid = broker.proc.pid
        cpu0, log0 = cpu_seconds(pid), broker.log_text().count("\n")
        end = time.monotonic() + WINDOW
        while time.monotonic() < end:  # the measured window, not a wait for state
            assert broker.log_text().count("\n") - log0 < 20, "the log floods while accept fails"
            time.sleep(0.05)
        cpu = cpu_seconds(pid) - cpu0
        lines = broker.log_text().count("\n") - log0
        print(f"  at the limit for {WINDOW}s: {cpu:.3f}s CPU, {lines} log lines")
        assert cpu < 0.25 * WINDOW, f"the broker used {cpu:.2f}s CPU in {WINDOW}s at the fd limit: spinning"
        assert lines <= 3, f"{lines} log lines in {WINDOW}s at the fd limit"
        for s in held:
            s.close()
        # The clients that waited in the backlog are accepted and served.
        for i, s in enumerate(backlog):
            s.settimeout(30)
            s.sendall(kw.request_frame(18, 0, i, b""))
            assert kw.read_response(s)[0] == i
            s.close()
        wait_until(lambda: "accept works again" in broker.log_text(), 10, "the recovery to be logged")
        err, _ = kw.api_versions(broker.kafka_port)
        assert err == 0
    print("fd_exhaustion_test: accept backs off at the descriptor limit and recovers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
