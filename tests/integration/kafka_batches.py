"""Kafka RecordBatch v2 (magic 2) built byte by byte, for tests that must
control every field: a producer id, epoch and sequence for idempotence, or a
deliberately wrong count, delta, codec or CRC.
"""
import struct
import time


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def zigzag(v):
    u = (v << 1) ^ (v >> 63)
    out = b""
    while u >= 0x80:
        out += bytes([(u & 0x7F) | 0x80])
        u >>= 7
    return out + bytes([u])


def record_bytes(values, deltas=None):
    """The records section for `values` (null keys), offset deltas 0, 1, ...
    unless given."""
    out = b""
    for i, v in enumerate(values):
        delta = i if deltas is None else deltas[i]
        body = b"\x00" + zigzag(0) + zigzag(delta) + zigzag(-1) + zigzag(len(v)) + v + zigzag(0)
        out += zigzag(len(body)) + body
    return out


def raw_batch(records, count, last_offset_delta=None, attributes=0, corrupt_crc=False, producer_id=-1,
              producer_epoch=-1, base_sequence=-1):
    """A RecordBatch v2 around a records section taken as is (already
    compressed if `attributes` names a codec); no producer id unless given.
    The CRC is right unless `corrupt_crc`, so only what the test put in is
    wrong."""
    now = int(time.time() * 1000)
    if last_offset_delta is None:
        last_offset_delta = count - 1
    after_crc = struct.pack(">hiqqqhii", attributes, last_offset_delta, now, now, producer_id, producer_epoch,
                            base_sequence, count) + records
    crc = crc32c(after_crc)
    if corrupt_crc:
        crc ^= 0x1
    tail = struct.pack(">ibI", 0, 2, crc) + after_crc  # leader epoch, magic, crc
    return struct.pack(">qi", 0, len(tail)) + tail


def record_batch(values, corrupt_crc=False):
    """An uncompressed RecordBatch v2 of `values`, no producer id."""
    return raw_batch(record_bytes(values), len(values), corrupt_crc=corrupt_crc)


def idempotent_batch(values, producer_id, epoch, base_sequence):
    """An uncompressed batch of `values` from an idempotent producer: its
    records carry sequences base_sequence .. base_sequence + len - 1."""
    return raw_batch(record_bytes(values), len(values), producer_id=producer_id, producer_epoch=epoch,
                     base_sequence=base_sequence)
