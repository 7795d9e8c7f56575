#!/usr/bin/python3
"""Regenerates the codec test fixtures in this directory: record batches
written by real Kafka clients, one hex line each.

  kafka_python_{gzip,snappy}.hex  kafka-python's DefaultRecordBatchBuilder
                                  (Debian python3-kafka; snappy needs
                                  python3-snappy), xerial-framed snappy.
  librdkafka_{gzip,snappy,lz4,zstd}.hex
                                  librdkafka (Debian librdkafka-dev) producing
                                  to its own mock cluster
                                  (rdkafka_mock_produce.c); the batch is then
                                  fetched raw with a Fetch v4 request, so the
                                  bytes are exactly what librdkafka sent.

The records are the ones expected_records() in codec_test.cpp builds; keep
the two in step. Run with Debian's python3: /usr/bin/python3 generate_fixtures.py
"""
import os
import socket
import struct
import subprocess
import sys
import tempfile

from kafka.protocol.api import RequestHeader
from kafka.protocol.fetch import FetchRequest, FetchResponse
from kafka.record.default_records import DefaultRecordBatchBuilder

HERE = os.path.dirname(os.path.abspath(__file__))
RECORDS = 20
BASE_TS = 1700000000000
FILLER = " the quick brown fox jumps over the lazy dog;"


def record(i):
    key = None if i == 3 else b"key-%d" % i
    value = None if i == 5 else (b"value-%d:" % i) + (FILLER * 3).encode()
    headers = [("trace", b"h-%d" % i if i % 2 == 0 else None)]
    return key, value, BASE_TS + 10 * i, headers


def write_hex(name, batch):
    with open(os.path.join(HERE, name), "w") as f:
        f.write(batch.hex() + "\n")
    print("wrote %s (%d bytes)" % (name, len(batch)))


def kafka_python(codec_name, codec_id):
    b = DefaultRecordBatchBuilder(magic=2, compression_type=codec_id, is_transactional=False,
                                  producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                  batch_size=1 << 20)
    for i in range(RECORDS):
        key, value, ts, headers = record(i)
        b.append(i, timestamp=ts, key=key, value=value, headers=headers)
    write_hex("kafka_python_%s.hex" % codec_name, bytes(b.build()))


def recv_exactly(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise RuntimeError("mock broker closed the connection")
        buf += chunk
    return buf


def fetch_raw(bootstrap):
    host, port = bootstrap.split(",")[0].rsplit(":", 1)
    req = FetchRequest[4](replica_id=-1, max_wait_time=0, min_bytes=0, max_bytes=1 << 20,
                          isolation_level=0, topics=[("fixture", [(0, 0, 1 << 20)])])
    header = RequestHeader(req, correlation_id=1, client_id="keel-fixtures")  # encode() holds it weakly
    msg = header.encode() + req.encode()
    with socket.create_connection((host, int(port))) as s:
        s.sendall(struct.pack(">i", len(msg)) + msg)
        size = struct.unpack(">i", recv_exactly(s, 4))[0]
        body = recv_exactly(s, size)[4:]  # skip the correlation id
    resp = FetchResponse[4].decode(body)
    partition = resp.topics[0][1][0]
    error, records = partition[1], partition[5]
    if error != 0:
        raise RuntimeError("fetch error %d" % error)
    length = struct.unpack(">i", records[8:12])[0]
    return records[:12 + length]  # the first (and only) batch


def librdkafka(codec_name, exe):
    p = subprocess.Popen([exe, codec_name], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        bootstrap = p.stdout.readline().strip()
        if not bootstrap:
            raise RuntimeError("rdkafka_mock_produce %s failed" % codec_name)
        batch = fetch_raw(bootstrap)
    finally:
        p.stdin.close()
        p.wait(timeout=30)
    attributes = struct.unpack(">h", batch[21:23])[0]
    if attributes & 7 == 0:
        raise RuntimeError("librdkafka left the %s batch uncompressed" % codec_name)
    write_hex("librdkafka_%s.hex" % codec_name, batch)


def main():
    kafka_python("gzip", DefaultRecordBatchBuilder.CODEC_GZIP)
    kafka_python("snappy", DefaultRecordBatchBuilder.CODEC_SNAPPY)
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "rdkafka_mock_produce")
        subprocess.check_call(["cc", "-O1", "-o", exe, os.path.join(HERE, "rdkafka_mock_produce.c"), "-lrdkafka"])
        for codec in ("gzip", "snappy", "lz4", "zstd"):
            librdkafka(codec, exe)


if __name__ == "__main__":
    sys.exit(main())
