"""Consumer groups carry on across a broker restart (SIGTERM and SIGKILL).

Two kafka-python consumers with manual commits (enable_auto_commit=False,
a synchronous commit after every poll) share a 4-partition topic, and a
librdkafka consumer (clients/manual_commit_consumer.c, a synchronous
rd_kafka_commit after every record) reads it in a group of its own, while
the broker is stopped with SIGTERM, started again, then killed with SIGKILL
and started again; records are produced after each restart. Kafka stores a whole
group (members, generation, assignments) in __consumer_offsets and loads it
back; so does Keel, so after each restart:
  - the first commit of each consumer succeeds (kafka-python raises
    CommitFailedError on ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID, which
    would be recorded and fail the test);
  - no consumer is assigned partitions again (no rebalance, in the broker's
    log either: no "preparing rebalance" after the load);
  - every record is processed exactly once: with synchronous commits no
    record is uncommitted when the broker goes, so nothing may be re-read;
  - the committed offsets end at the log end.
A member that never comes back is removed when its session (restarted at
load) ends: one consumer vanishes (closed without LeaveGroup) and the broker
is killed and restarted; the survivor keeps committing and takes over every
partition once the vanished member's session has ended, still with no record
processed twice.
"""
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import system_python  # noqa: E402,F401  (re-runs under /usr/bin/python3 when kafka-python is missing)

from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import CommitFailedError

from client_programs import librdkafka_program  # noqa: E402
from keel_harness import Broker, parse_args, scratch_dir, wait_until  # noqa: E402

TOPIC = "restarts"
GROUP = "survives-restarts"
PARTITIONS = 4
SESSION_MS = 6000


class Counting(ConsumerRebalanceListener):
    def __init__(self, worker):
        self.worker = worker

    def on_partitions_revoked(self, revoked):
        pass

    def on_partitions_assigned(self, assigned):
        with self.worker.lock:
            self.worker.assignments.append(sorted(tp.partition for tp in assigned))


class Worker(threading.Thread):
    """Polls, records what it processed, commits synchronously."""

    def __init__(self, name, bootstrap):
        super().__init__(daemon=True, name=name)
        self.lock = threading.Lock()
        self.seen = []          # (partition, offset) in processing order
        self.commits = []       # (monotonic time, records processed so far) of successful commits
        self.fatal = []         # exceptions that stopped the consumer
        self.assignments = []   # every assignment it was given
        self.stop_flag = threading.Event()
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, group_id=GROUP, client_id=name, enable_auto_commit=False,
            auto_offset_reset="earliest", session_timeout_ms=SESSION_MS, heartbeat_interval_ms=500,
            max_poll_records=7, reconnect_backoff_ms=50, reconnect_backoff_max_ms=300,
            retry_backoff_ms=100, request_timeout_ms=15000)
        self.consumer.subscribe([TOPIC], listener=Counting(self))

    def run(self):
        try:
            while not self.stop_flag.is_set():
                batches = self.consumer.poll(timeout_ms=100)
                if not batches:
                    continue
                with self.lock:
                    for tp, records in batches.items():
                        self.seen.extend((tp.partition, r.offset) for r in records)
                self.consumer.commit()  # retries retriable errors until the broker is back
                with self.lock:
                    self.commits.append((time.monotonic(), len(self.seen)))
        except CommitFailedError as e:
            self.fatal.append(e)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.fatal.append(e)

    def snapshot(self):
        with self.lock:
            return list(self.seen), list(self.commits), list(self.assignments)


class RdConsumer:
    """clients/manual_commit_consumer.c, its output lines collected with the
    time they arrived."""

    def __init__(self, args, work, bootstrap):
        exe = librdkafka_program(args, "manual_commit_consumer", work)
        self.name = "librdkafka"
        self.proc = subprocess.Popen([exe, bootstrap, GROUP + "-librdkafka", TOPIC, str(SESSION_MS)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.lock = threading.Lock()
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.lines.append((time.monotonic(), line.split()))

    def snapshot(self):
        """(records, commit times, assignments) like Worker.snapshot()."""
        with self.lock:
            lines = list(self.lines)
        records = [(int(w[1]), int(w[2])) for _, w in lines if w[0] == "record"]
        commits = [(t, None) for t, w in lines if w[:2] == ["commit", "ok"]]
        assignments = [int(w[1]) for _, w in lines if w[0] == "assigned"]
        return records, commits, assignments

    def errors(self):
        with self.lock:
            return [" ".join(w) for _, w in self.lines if w[:2] == ["commit", "error"]]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)


def check_rd(rd, total, phase, t_restart=None):
    def done():
        assert not rd.errors(), f"{phase}: librdkafka consumer: {rd.errors()}"
        assert rd.proc.poll() is None, f"{phase}: the librdkafka consumer exited"
        return len(rd.snapshot()[0]) >= total
    wait_until(done, 90, f"{phase}: the librdkafka consumer to process {total} records")
    records, commits, assignments = rd.snapshot()
    assert assignments == [PARTITIONS], f"{phase}: librdkafka consumer assigned again: {assignments}"
    assert len(set(records)) == len(records), f"{phase}: librdkafka consumer processed records twice"
    if t_restart is not None:
        after = [t for t, _ in commits if t >= t_restart]
        assert after, f"{phase}: no successful librdkafka commit after the restart"
        return min(after) - t_restart
    return None


def produce(broker, start, count):
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", retries=20)
    for i in range(start, start + count):
        p.send(TOPIC, value=str(i).encode(), partition=i % PARTITIONS)
    p.flush(30)
    p.close(10)


def processed(workers):
    return sum(len(w.snapshot()[0]) for w in workers)


def check_healthy(workers, phase):
    for w in workers:
        assert not w.fatal, f"{phase}: {w.name} stopped: {w.fatal!r}"
        assert w.is_alive(), f"{phase}: {w.name} is not running"


def wait_all_processed(workers, total, phase):
    def done():
        check_healthy(workers, phase)
        return processed(workers) >= total
    wait_until(done, 90, f"{phase}: {total} records processed")


def restart(broker, how):
    """Stops the broker (SIGTERM or SIGKILL), starts it again on the same port
    and data dir; returns the log offset where the new run begins."""
    if how == "SIGTERM":
        broker.stop()
    else:
        broker.kill()
    mark = len(broker.log_text())
    broker.start()
    return mark


def check_restart(broker, workers, mark, total, phase, assignments_before, rd):
    t_restart = time.monotonic()
    wait_all_processed(workers, total, phase)
    for w in workers:
        _, commits, assignments = w.snapshot()
        after = [c for c in commits if c[0] >= t_restart]
        assert after, f"{phase}: {w.name} made no successful commit after the restart"
        assert assignments == assignments_before[w.name], \
            f"{phase}: {w.name} was assigned again: {assignments}"
    rd_first = check_rd(rd, total, phase, t_restart)
    log = broker.log_text()[mark:]
    assert "loaded 2 consumer group(s) with members" in log, log[-3000:]
    assert "preparing rebalance" not in log, f"{phase}: a group rebalanced after the load:\n{log[-3000:]}"
    first_commits = {w.name: min(c[0] for c in w.snapshot()[1] if c[0] >= t_restart) - t_restart
                     for w in workers}
    first_commits["librdkafka"] = rd_first
    print(f"{phase}: first commit after the restart succeeded for every member "
          f"({', '.join(f'{n} +{s:.2f}s' for n, s in sorted(first_commits.items()))}), no rebalance")


def check_exactly_once(workers, total):
    seen = [x for w in workers for x in w.snapshot()[0]]
    who = ", ".join(w.name for w in workers)
    dupes = len(seen) - len(set(seen))
    assert dupes == 0, f"{who}: {dupes} record(s) processed twice"
    per_partition = {}
    for p, o in seen:
        per_partition.setdefault(p, []).append(o)
    for p, offsets in per_partition.items():
        assert sorted(offsets) == list(range(len(offsets))), f"partition {p}: gaps in {sorted(offsets)[:50]}"
    assert len(seen) == total, (len(seen), total)


def main():
    args = parse_args()
    with scratch_dir("keel-group-restart-") as work:
        broker = Broker(args.build_dir, workdir=work,
                        topics_toml=f"[topics.{TOPIC}]\npartitions = {PARTITIONS}\n",
                        kafka_toml="group_initial_rebalance_delay_ms = 500")
        broker.start()
        workers = []
        rd = None
        try:
            produce(broker, 0, 200)
            workers = [Worker("consumer-a", broker.bootstrap), Worker("consumer-b", broker.bootstrap)]
            for w in workers:
                w.start()
            rd = RdConsumer(args, work, broker.bootstrap)

            def split():
                return all(w.snapshot()[2] and len(w.snapshot()[2][-1]) == 2 for w in workers)
            wait_until(split, 60, "both consumers to get two partitions each")
            wait_all_processed(workers, 200, "before the restarts")
            check_rd(rd, 200, "before the restarts")
            total = 200
            assignments = {w.name: w.snapshot()[2] for w in workers}
            for how in ("SIGTERM", "SIGKILL"):
                mark = restart(broker, how)
                produce(broker, total, 120)
                total += 120
                check_restart(broker, workers, mark, total, how, assignments, rd)
            check_exactly_once(workers, total)
            check_exactly_once([rd], total)
            rd.stop()
            rd = None

            # A member that never comes back: consumer-b stops polling and
            # heartbeating (closed without leaving) while the broker is down.
            b = workers[1]
            b.stop_flag.set()
            b.join(30)
            b.consumer._coordinator.maybe_leave_group = lambda: None  # no LeaveGroup: it just vanishes
            b.consumer.close(autocommit=False)
            mark = restart(broker, "SIGKILL")
            t_restart = time.monotonic()
            a = workers[0]
            wait_until(lambda: a.snapshot()[2][-1] == list(range(PARTITIONS)), 60,
                       "consumer-a to take over every partition once consumer-b's session ended")
            took = time.monotonic() - t_restart
            log = broker.log_text()[mark:]
            assert "session of member consumer-b" in log, log[-3000:]
            assert took >= SESSION_MS / 1000 * 0.9, f"consumer-b removed after {took:.1f}s, before its session"
            produce(broker, total, 40)
            total += 40
            wait_until(lambda: processed([a, b]) >= total and not a.fatal, 60,
                       "consumer-a to process the new records")
            check_healthy([a], "after consumer-b vanished")
            check_exactly_once([a, b], total)
            print(f"a member that never came back was removed {took:.1f}s after the restart "
                  f"(session {SESSION_MS} ms); the other took over")

            a.stop_flag.set()
            a.join(30)
            assert not a.fatal, a.fatal
            a.consumer.close()
            admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
            committed = admin.list_consumer_group_offsets(
                GROUP, partitions=[TopicPartition(TOPIC, p) for p in range(PARTITIONS)])
            admin.close()
            assert sum(v.offset for v in committed.values()) == total, committed
        finally:
            for w in workers:
                w.stop_flag.set()
            if rd:
                rd.proc.kill()
            broker.stop()
    print("group_restart_test: OK")


if __name__ == "__main__":
    main()
