#!/usr/bin/python3
"""Regenerates corpus/kafka_request/: real request frames from real clients.

Starts the built broker behind a recording TCP proxy (the broker advertises
the proxy's port, so every connection goes through it), runs kcat
(librdkafka), kafka-python and the librdkafka idempotent producer against
it, and keeps the first frame of each (client, API, version), without its
4-byte size prefix: exactly what Connection::dispatch receives.

  /usr/bin/python3 tests/fuzz/capture_kafka_seeds.py --build-dir build --source-dir .
"""
import os
import socket
import struct
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import keel_harness  # noqa: E402

API_NAMES = {0: "produce", 1: "fetch", 2: "list_offsets", 3: "metadata", 8: "offset_commit",
             9: "offset_fetch", 10: "find_coordinator", 11: "join_group", 12: "heartbeat",
             13: "leave_group", 14: "sync_group", 15: "describe_groups", 16: "list_groups",
             18: "api_versions", 19: "create_topics", 20: "delete_topics", 22: "init_producer_id",
             32: "describe_configs"}
MAX_SEED = 4096


class RecordingProxy:
    def __init__(self):
        self.target_port = None  # the broker's, set once it is chosen
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.client = "unknown"
        self.frames = {}  # (client, api, version) -> frame
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.listener.accept()
            except OSError:
                return
            b = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pump, args=(c, b, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(b, c, False), daemon=True).start()

    def _pump(self, src, dst, record):
        buf = b""
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                return
            if record:
                buf += data
                while len(buf) >= 4 and len(buf) >= 4 + struct.unpack(">i", buf[:4])[0]:
                    n = struct.unpack(">i", buf[:4])[0]
                    self._keep(buf[4:4 + n])
                    buf = buf[4 + n:]
            try:
                dst.sendall(data)
            except OSError:
                return

    def _keep(self, frame):
        api, version = struct.unpack(">hh", frame[:4])
        if len(frame) > MAX_SEED:
            return
        with self.lock:
            self.frames.setdefault((self.client, api, version), frame)


def run(cmd, **kw):
    subprocess.run(cmd, check=True, timeout=60, stdout=subprocess.DEVNULL, **kw)


def main():
    args = keel_harness.parse_args()
    out_dir = os.path.join(args.source_dir, "tests", "fuzz", "corpus", "kafka_request")
    proxy = RecordingProxy()
    broker = keel_harness.Broker(args.build_dir, kafka_toml=f"advertised_port = {proxy.port}",
                                 broker_toml="auto_create_topics = true")
    proxy.target_port = broker.kafka_port
    boot = f"127.0.0.1:{proxy.port}"
    with broker:
        proxy.client = "kcat"
        run(["kcat", "-b", boot, "-L"])
        for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
            run(["kcat", "-b", boot, "-P", "-t", "seeds", "-z", codec, "-K:"], input=b"k1:v1\nk2:v2\n")
        run(["kcat", "-b", boot, "-C", "-t", "seeds", "-o", "beginning", "-e", "-q"])
        run(["kcat", "-b", boot, "-G", "seed-group", "-o", "beginning", "-e", "-q", "seeds"])
        proxy.client = "rdkafka_idempotent"
        producer = os.path.join(args.build_dir, "tests", "integration", "keel_it_idempotent_producer")
        if os.path.exists(producer):
            run([producer, boot, "seeds", "5"])
        proxy.client = "kafka_python"
        from kafka import KafkaConsumer, KafkaProducer
        from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
        p = KafkaProducer(bootstrap_servers=boot, compression_type="gzip")
        p.send("seeds", key=b"k", value=b"v", headers=[("h", b"1")]).get(timeout=30)
        p.close()
        c = KafkaConsumer("seeds", bootstrap_servers=boot, group_id="py-group", auto_offset_reset="earliest",
                          consumer_timeout_ms=3000)
        for _ in c:
            pass
        c.commit()
        c.close()
        a = KafkaAdminClient(bootstrap_servers=boot)
        a.create_topics([NewTopic("seeds2", 2, 1)])
        a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "seeds")])
        a.list_consumer_groups()
        a.describe_consumer_groups(["py-group"])
        from kafka.structs import TopicPartition
        a.list_consumer_group_offsets("py-group", partitions=[TopicPartition("seeds", 0)])
        a.delete_topics(["seeds2"])
        a.close()
    os.makedirs(out_dir, exist_ok=True)
    for (client, api, version), frame in sorted(proxy.frames.items()):
        name = f"{client}_{API_NAMES.get(api, 'api%d' % api)}_v{version}"
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(frame)
    print(f"wrote {len(proxy.frames)} seeds to {out_dir}")


if __name__ == "__main__":
    main()
