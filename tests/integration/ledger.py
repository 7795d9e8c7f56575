"""The ledger of a Jepsen-style test: every record the cluster acknowledged,
checked at the end against what the partitions hold (python3 standard library
plus kafka-python, Debian's python3-kafka, for the read-back).

A record's value identifies it: values must be unique within a topic (a
counter in the value does it). A producer records each send with attempt()
and each acknowledgement with ack() (produce() wires both to a
kafka-python future). check() then reads every partition of every topic from
the start to its high watermark through a Kafka client, which fetches from
the partition's current leader, and compares:

- lost: an acknowledged value is in no partition;
- moved: an acknowledged value is not at its acknowledged (partition,
  offset), but elsewhere;
- duplicated: a value (acknowledged or only attempted) is stored more than
  once.

An attempted but unacknowledged value may be absent or present once (the
outcome of a timed-out send is unknown). Values nobody attempted are counted
as "unknown" in the report and are not an error by themselves.

Threads: ack() and attempt() may come from any thread (kafka-python calls
back on its I/O thread); one lock guards the tables.
"""
import threading
import time

MAX_ROWS = 40  # rows printed per report; the counts cover every record


class LedgerReport:
    """The outcome of a check: `problems` is a list of (kind, topic,
    partition, offset, value, found) rows, `found` naming where the value is
    (["p/offset", ...])."""

    def __init__(self, acked, attempted, read, problems, unknown):
        self.acked = acked
        self.attempted = attempted
        self.read = read
        self.problems = problems
        self.unknown = unknown

    @property
    def ok(self):
        return not self.problems

    def count(self, kind):
        return sum(1 for p in self.problems if p[0] == kind)

    def summary(self):
        return (f"ledger: {self.acked} acknowledged, {self.attempted} unacknowledged attempts, "
                f"{self.read} records read back; lost {self.count('lost')}, moved {self.count('moved')}, "
                f"duplicated {self.count('duplicated')}, unknown values {self.unknown}")

    def table(self):
        """The summary and one row per problem (the first MAX_ROWS)."""
        lines = [self.summary()]
        if not self.problems:
            return lines[0]
        rows = [("kind", "topic", "part", "acked at", "value", "found at")]
        for kind, topic, partition, offset, value, found in self.problems[:MAX_ROWS]:
            rows.append((kind, topic, "-" if partition is None else str(partition),
                         "-" if offset is None else str(offset), shorten(value),
                         ", ".join(found) if found else "nowhere"))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if len(self.problems) > MAX_ROWS:
            lines.append(f"  ... and {len(self.problems) - MAX_ROWS} more")
        return "\n".join(lines)


def shorten(value, limit=32):
    text = value.decode(errors="backslashreplace") if isinstance(value, bytes) else str(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def as_bytes(value):
    if value is None:  # a tombstone read back
        return b""
    return value.encode() if isinstance(value, str) else bytes(value)


class Ledger:
    def __init__(self):
        self._lock = threading.Lock()
        self._acked = {}  # topic -> {value: (partition, offset)}
        self._attempted = {}  # topic -> set of values sent, acknowledged or not

    def attempt(self, topic, value):
        with self._lock:
            self._attempted.setdefault(topic, set()).add(as_bytes(value))

    def ack(self, topic, partition, offset, value):
        value = as_bytes(value)
        with self._lock:
            acked = self._acked.setdefault(topic, {})
            if value in acked:
                raise ValueError(f"ledger: value {shorten(value)!r} of topic {topic} acknowledged twice "
                                 f"(at {acked[value]} and ({partition}, {offset})): values must be unique per topic")
            acked[value] = (partition, offset)
            self._attempted.setdefault(topic, set()).add(value)

    def produce(self, producer, topic, value, **kwargs):
        """Sends `value` with a kafka-python producer and records the
        outcome when it comes; returns the send future."""
        value = as_bytes(value)
        self.attempt(topic, value)
        future = producer.send(topic, value=value, **kwargs)
        future.add_callback(lambda md: self.ack(md.topic, md.partition, md.offset, value))
        return future

    def acked(self, topic):
        """{value: (partition, offset)} of `topic`'s acknowledged records, a
        copy taken under the lock (producers may be acknowledging meanwhile)."""
        with self._lock:
            return dict(self._acked.get(topic, {}))

    def acked_count(self):
        with self._lock:
            return sum(len(v) for v in self._acked.values())

    def topics(self):
        with self._lock:
            return sorted(set(self._acked) | set(self._attempted))

    def compare(self, stored):
        """Compares with `stored` = {topic: {partition: [(offset, value)]}}
        (what the partitions hold); returns a LedgerReport."""
        with self._lock:
            acked = {t: dict(v) for t, v in self._acked.items()}
            attempted = {t: set(v) for t, v in self._attempted.items()}
        problems = []
        unknown = read = 0
        for topic in sorted(set(acked) | set(attempted) | set(stored)):
            where = {}  # value -> [(partition, offset)]
            for partition, records in stored.get(topic, {}).items():
                for offset, value in records:
                    where.setdefault(as_bytes(value), []).append((partition, offset))
                    read += 1
            known = attempted.get(topic, set())
            unknown += sum(1 for v in where if v not in known)
            topic_acked = acked.get(topic, {})
            for value, (partition, offset) in sorted(topic_acked.items(), key=lambda kv: kv[1]):
                found = where.get(value, [])
                names = [f"{p}/{o}" for p, o in sorted(found)]
                if not found:
                    problems.append(("lost", topic, partition, offset, value, names))
                elif len(found) > 1:
                    problems.append(("duplicated", topic, partition, offset, value, names))
                elif found[0] != (partition, offset):
                    problems.append(("moved", topic, partition, offset, value, names))
            for value in sorted(known - set(topic_acked)):
                found = where.get(value, [])
                if len(found) > 1:
                    problems.append(("duplicated", topic, None, None, value,
                                     [f"{p}/{o}" for p, o in sorted(found)]))
        return LedgerReport(sum(len(v) for v in acked.values()),
                            sum(len(attempted[t] - set(acked.get(t, {}))) for t in attempted), read, problems,
                            unknown)

    def check(self, bootstrap, timeout=60, raise_on_problem=True):
        """Reads back every topic in the ledger from `bootstrap` and
        compares; raises AssertionError with the report's table when a record
        is lost, moved or duplicated (unless raise_on_problem=False).
        Returns the LedgerReport."""
        stored = {topic: read_topic(bootstrap, topic, timeout) for topic in self.topics()}
        report = self.compare(stored)
        if raise_on_problem and not report.ok:
            raise AssertionError(report.table())
        return report


def kafka_module():
    try:
        import kafka
    except ImportError:  # Debian's python3-kafka lives outside pyenv's or a venv's path
        import sys
        sys.path.append("/usr/lib/python3/dist-packages")
        import kafka
    return kafka


def read_topic(bootstrap, topic, timeout=60):
    """{partition: [(offset, value bytes)]} of every record of `topic`, from
    each partition's start to its high watermark, read with kafka-python
    (from each partition's leader, as its metadata names it)."""
    kafka = kafka_module()
    servers = bootstrap.split(",") if isinstance(bootstrap, str) else list(bootstrap)
    consumer = kafka.KafkaConsumer(bootstrap_servers=servers, group_id=None, enable_auto_commit=False,
                                   auto_offset_reset="earliest", request_timeout_ms=10000,
                                   reconnect_backoff_ms=50, reconnect_backoff_max_ms=500, retry_backoff_ms=100)
    try:
        deadline = time.monotonic() + timeout
        partitions = None
        while not partitions:
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                if time.monotonic() > deadline:
                    raise AssertionError(f"ledger: no partitions of topic {topic} in the metadata of {bootstrap} "
                                         f"within {timeout}s")
                time.sleep(0.1)  # poll interval: metadata refresh
        tps = [kafka.TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        stored = {tp.partition: [] for tp in tps}
        while True:
            behind = [tp for tp in tps if consumer.position(tp) < ends[tp]]
            if not behind:
                return stored
            if time.monotonic() > deadline:
                where = ", ".join(f"{tp.partition} at {consumer.position(tp)} of {ends[tp]}" for tp in behind)
                raise AssertionError(f"ledger: reading {topic} back from {bootstrap} stalled after {timeout}s "
                                     f"(partition {where})")
            for tp, records in consumer.poll(timeout_ms=200).items():
                stored[tp.partition].extend((r.offset, r.value) for r in records if r.offset < ends[tp])
    finally:
        consumer.close()
