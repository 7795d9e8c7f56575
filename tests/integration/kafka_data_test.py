"""Kafka data path end to end: Produce, Fetch, ListOffsets, InitProducerId
with real clients (kcat, kafka-python, a librdkafka C program).

- kcat: 10 000 keyed messages with headers per compression codec, consumed
  back exactly (keys, values, headers, offsets), and the stored batches
  really use the codec; ListOffsets by timestamp, latest and earliest.
- kafka-python: acks 0, 1 and all, read back with no loss and no duplicate;
  acks=0 must not hang the producer (no response may be sent).
- Long poll: a consumer waiting with fetch_max_wait_ms far above its poll
  timeout still gets a message produced while it waits, so the broker's
  wake-up works (no timing assertion: without it the poll returns empty).
- Idempotence: a librdkafka producer with enable.idempotence keeps
  producing while the broker is stopped with SIGTERM and later killed with
  SIGKILL and restarted; every value must be stored exactly once.
"""
import os
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from client_programs import librdkafka_program  # noqa: E402
import segment_files  # noqa: E402
from keel_harness import Broker, parse_args, scratch_dir, wait_until  # noqa: E402

try:
    import kafka  # noqa: F401
except ImportError:  # Debian's python3-kafka lives outside pyenv's path
    sys.path.append("/usr/lib/python3/dist-packages")
from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402

CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
COUNT = 10000


def run(cmd, timeout=60, input_text=None):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input_text)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited with {p.returncode}:\n{p.stderr[-3000:]}")
    return p.stdout


def now_ms():
    return int(time.time() * 1000)


def stored_codecs(broker, topic):
    """The compression codecs of the batches stored for topic-0."""
    found = set()
    d = os.path.join(broker.data_dir, f"{topic}-0")
    for path in segment_files.segment_logs(d):
        for _, _, _, data in segment_files.batches(path):
            found.add(struct.unpack_from(">h", data, 21)[0] & 7)
    return found


def test_kcat_codecs(broker, workdir):
    src = os.path.join(workdir, "keyed.txt")
    with open(src, "w") as f:
        for i in range(COUNT):
            f.write(f"key{i:05d}:value{i:05d}\n")
    for codec, codec_id in CODECS.items():
        topic = f"kc-{codec}"
        run(["kcat", "-b", broker.bootstrap, "-P", "-t", topic, "-K:", "-H", "h=v", "-H", "n=1",
             "-X", f"compression.codec={codec}", "-l", src])
        out = run(["kcat", "-b", broker.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
                   "-f", "%k\t%s\t%o\t%h\n"])
        lines = out.splitlines()
        assert len(lines) == COUNT, f"{topic}: consumed {len(lines)} messages, expected {COUNT}"
        for i, line in enumerate(lines):
            expected = f"key{i:05d}\tvalue{i:05d}\t{i}\th=v,n=1"
            assert line == expected, f"{topic}: message {i} is {line!r}, expected {expected!r}"
        codecs = stored_codecs(broker, topic)
        assert codec_id in codecs, f"{topic}: stored batches use codecs {codecs}, expected {codec_id}"
        print(f"kcat {codec}: {COUNT} messages round-tripped, stored codecs {sorted(codecs)}")


def query(broker, topic, ts):
    out = run(["kcat", "-b", broker.bootstrap, "-Q", "-t", f"{topic}:0:{ts}"])
    # "<topic> [0] offset <n>"
    return int(out.split("offset")[1].split()[0])


def test_list_offsets(broker, workdir):
    topic = "ts-topic"
    first = "".join(f"a{i}\n" for i in range(100))
    run(["kcat", "-b", broker.bootstrap, "-P", "-t", topic], input_text=first)
    middle = now_ms() + 1
    wait_until(lambda: now_ms() > middle, 5, "the clock to pass the middle timestamp")
    second = "".join(f"b{i}\n" for i in range(50))
    run(["kcat", "-b", broker.bootstrap, "-P", "-t", topic], input_text=second)
    assert query(broker, topic, -1) == 150, "latest offset"
    assert query(broker, topic, -2) == 0, "earliest offset"
    assert query(broker, topic, middle) == 100, "offset for the middle timestamp"
    assert query(broker, topic, 0) == 0, "offset for timestamp 0"
    print("kcat -Q: latest 150, earliest 0, by timestamp 100")


def consume_all(broker, topic, expected, **kwargs):
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None, enable_auto_commit=False,
                             auto_offset_reset="earliest", **kwargs)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    values = []
    deadline = time.monotonic() + 30
    while len(values) < expected and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=1000).values():
            values.extend(r.value for r in records)
    consumer.close()
    return values


def test_kafka_python_acks(broker):
    for acks in (0, 1, "all"):
        topic = f"kp-acks-{acks}"
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks=acks, linger_ms=5)
        sent = [f"{acks}-{i}".encode() for i in range(1000)]
        futures = [producer.send(topic, value=v, partition=0) for v in sent]
        producer.flush(timeout=30)
        for fut in futures:
            fut.get(timeout=30)
        producer.close(timeout=10)
        values = consume_all(broker, topic, len(sent))
        assert len(values) == len(sent), f"acks={acks}: read {len(values)} of {len(sent)}"
        assert sorted(values) == sorted(sent), f"acks={acks}: values differ (loss or duplicates)"
        print(f"kafka-python acks={acks}: 1000 produced and read back once each")


def test_long_poll(broker):
    topic = "long-poll"
    run(["kcat", "-b", broker.bootstrap, "-P", "-t", topic], input_text="first\n")
    # fetch_max_wait far above the poll timeout: only the broker's wake-up
    # on new data can deliver the message within poll().
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None, enable_auto_commit=False,
                             fetch_max_wait_ms=60000, request_timeout_ms=120000)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek(tp, 1)
    consumer.poll(timeout_ms=200)  # starts the long-polling fetch at offset 1

    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks=1)
    timer = threading.Timer(0.5, lambda: producer.send(topic, value=b"late", partition=0).get(timeout=30))
    timer.start()
    got = []
    started = time.monotonic()
    deadline = started + 20
    while not got and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=20000).values():
            got.extend(r.value for r in records)
    timer.join()
    producer.close(timeout=10)
    consumer.close()
    assert got == [b"late"], f"long poll: got {got} (the broker did not wake the waiting fetch)"
    print(f"long poll: woke after {time.monotonic() - started:.2f}s with fetch_max_wait_ms=60000")


def test_idempotent_restarts(broker, args, workdir):
    topic = "idempotent"
    count = 10000
    exe = librdkafka_program(args, "idempotent_producer", workdir)
    proc = subprocess.Popen([exe, broker.bootstrap, topic, str(count), "100"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    progress = [0]
    summary = []

    def read_stdout():
        for line in proc.stdout:
            if line.startswith("progress "):
                progress[0] = int(line.split()[1])
            elif line.startswith("summary:"):
                summary.append(line.strip())
    reader = threading.Thread(target=read_stdout, daemon=True)
    reader.start()
    try:
        wait_until(lambda: progress[0] >= 3000 or proc.poll() is not None, 60, "3000 deliveries")
        broker.stop()
        broker.start()
        wait_until(lambda: progress[0] >= 6000 or proc.poll() is not None, 60, "6000 deliveries")
        broker.kill()
        broker.start()
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=10)
    stderr = proc.stderr.read()
    assert proc.returncode == 0, f"idempotent producer failed ({summary}):\n{stderr[-3000:]}"
    out = run(["kcat", "-b", broker.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%s\n"])
    values = out.splitlines()
    expected = [f"msg-{i:06d}" for i in range(count)]
    dups = len(values) - len(set(values))
    missing = set(expected) - set(values)
    assert dups == 0 and not missing, f"idempotence: {dups} duplicate(s), {len(missing)} missing"
    assert values == expected, "idempotence: values are out of order"
    print(f"idempotent producer across SIGTERM and SIGKILL restarts: {summary[0] if summary else ''}; "
          f"{len(values)} stored exactly once, in order")


def main():
    args = parse_args()
    with scratch_dir("keel-kdata-") as workdir:
        topics = "\n".join(f"[topics.kc-{c}]\npartitions = 1" for c in CODECS)
        broker = Broker(args.build_dir, topics_toml=topics, broker_toml="auto_create_topics = true",
                        workdir=workdir)
        with broker:
            test_kcat_codecs(broker, workdir)
            test_list_offsets(broker, workdir)
            test_kafka_python_acks(broker)
            test_long_poll(broker)
            test_idempotent_restarts(broker, args, workdir)
    print("kafka_data_test: all passed")


if __name__ == "__main__":
    main()
