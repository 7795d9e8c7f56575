"""Raw Kafka wire helpers for integration tests that must control every byte
(version probes, malformed input, idempotent produce): frame a request, read
a response, decode the few response layouts the tests check, and send the
few requests they make by hand (Produce v3, ListOffsets v1, InitProducerId,
OffsetCommit v2).
"""
import socket
import struct


class Decoder:
    def __init__(self, data, pos=0):
        self.data = data
        self.pos = pos

    def _take(self, fmt):
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return values[0]

    def int8(self):
        return self._take(">b")

    def int16(self):
        return self._take(">h")

    def int32(self):
        return self._take(">i")

    def int64(self):
        return self._take(">q")

    def string(self):
        n = self.int16()
        if n < 0:
            return None
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def array(self, element):
        n = self.int32()
        return None if n < 0 else [element(self) for _ in range(n)]

    def done(self):
        return self.pos == len(self.data)

    def uvarint(self):
        value, shift = 0, 0
        while True:
            b = self.data[self.pos]
            self.pos += 1
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7

    def compact_string(self):
        n = self.uvarint() - 1
        if n < 0:
            return None
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def compact_bytes(self):
        n = self.uvarint() - 1
        if n < 0:
            return None
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def compact_array(self, element):
        n = self.uvarint() - 1
        return None if n < 0 else [element(self) for _ in range(n)]

    def uuid(self):
        b = self.data[self.pos:self.pos + 16]
        self.pos += 16
        return b

    def tags(self):
        """Reads a tagged-field section; returns {tag: bytes}."""
        fields = {}
        for _ in range(self.uvarint()):
            tag, size = self.uvarint(), self.uvarint()
            fields[tag] = self.data[self.pos:self.pos + size]
            self.pos += size
        return fields


class FlexDecoder(Decoder):
    """Reads one API version's layout: compact strings/arrays and tagged
    sections when `flexible`, the classic ones otherwise."""

    def __init__(self, data, flexible):
        super().__init__(data)
        self.flexible = flexible

    def string(self):
        return self.compact_string() if self.flexible else super().string()

    def array(self, element):
        return self.compact_array(element) if self.flexible else super().array(element)

    def tags(self):
        return super().tags() if self.flexible else {}


def string(s):
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def array(items, encode):
    if items is None:
        return struct.pack(">i", -1)
    return struct.pack(">i", len(items)) + b"".join(encode(i) for i in items)


def uvarint(v):
    out = b""
    while v >= 0x80:
        out += bytes([(v & 0x7F) | 0x80])
        v >>= 7
    return out + bytes([v])


def compact_string(s):
    if s is None:
        return uvarint(0)
    b = s.encode()
    return uvarint(len(b) + 1) + b


def compact_array(items, encode):
    if items is None:
        return uvarint(0)
    return uvarint(len(items) + 1) + b"".join(encode(i) for i in items)


def tags(fields=None):
    """A tagged-field section of {tag: bytes} (empty by default)."""
    fields = fields or {}
    out = uvarint(len(fields))
    for tag in sorted(fields):
        out += uvarint(tag) + uvarint(len(fields[tag])) + fields[tag]
    return out


class Encoder:
    """Builds one API version's layout, the flexible twin of FlexDecoder."""

    def __init__(self, flexible):
        self.flexible = flexible

    def string(self, s):
        return compact_string(s) if self.flexible else string(s)

    def array(self, items, encode):
        return compact_array(items, encode) if self.flexible else array(items, encode)

    def tags(self, fields=None):
        return tags(fields) if self.flexible else b""


def flexible_request_frame(api_key, version, correlation_id, body, client_id="keel-test", header_tags=None):
    """A request with header v2 (flexible versions): header v1 plus tags."""
    payload = (struct.pack(">hhi", api_key, version, correlation_id) + string(client_id) + tags(header_tags)
               + body)
    return struct.pack(">i", len(payload)) + payload


def request_frame(api_key, version, correlation_id, body, client_id="keel-test"):
    """A request with header v1 (every non-flexible version)."""
    payload = struct.pack(">hhi", api_key, version, correlation_id) + string(client_id) + body
    return struct.pack(">i", len(payload)) + payload


def connect(port, timeout=10):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def read_response(sock):
    """Returns (correlation_id, body) of one response (header v0)."""
    size = struct.unpack(">i", recv_exact(sock, 4))[0]
    frame = recv_exact(sock, size)
    return struct.unpack_from(">i", frame)[0], frame[4:]


def roundtrip(port, api_key, version, body, correlation_id=1):
    with connect(port) as s:
        s.sendall(request_frame(api_key, version, correlation_id, body))
        corr, resp = read_response(s)
    assert corr == correlation_id, (corr, correlation_id)
    return resp


FIRST_FLEXIBLE = {0: 9, 1: 12, 2: 6, 3: 9, 10: 3, 18: 3, 22: 2, 23: 4, 60: 0}


def roundtrip_any(port, api_key, version, body, correlation_id=1):
    """Like roundtrip, for classic and flexible versions of the APIs in
    FIRST_FLEXIBLE: the flexible ones get request header v2, and their
    response header v1 (but ApiVersions') has its tagged section checked and
    stripped."""
    flexible = version >= FIRST_FLEXIBLE[api_key]
    frame = (flexible_request_frame if flexible else request_frame)(api_key, version, correlation_id, body)
    with connect(port) as s:
        s.sendall(frame)
        corr, resp = read_response(s)
    assert corr == correlation_id, (corr, correlation_id)
    if flexible and api_key != 18:
        assert resp[0] == 0, "response header v1 with tagged fields"
        resp = resp[1:]
    return resp


def closed_by_peer(sock, timeout=10):
    """True when the broker closes the connection without answering."""
    sock.settimeout(timeout)
    try:
        data = sock.recv(1)
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
    return data == b""


def metadata_request(version, topics, allow_auto_create=True):
    """Metadata v0-4; topics None = all (v1+)."""
    body = array(topics, string)
    if version >= 4:
        body += struct.pack(">b", 1 if allow_auto_create else 0)
    return body


def parse_metadata(version, body):
    """Returns {'brokers': [(node, host, port)], 'controller': id or None,
    'cluster_id': str or None, 'topics': {name: (error, internal, [partition tuple])}}
    where a partition tuple is (error, index, leader, replicas, isr)."""
    d = Decoder(body)
    if version >= 3:
        d.int32()  # throttle_time_ms

    def broker(d):
        node, host, port = d.int32(), d.string(), d.int32()
        if version >= 1:
            d.string()  # rack
        return (node, host, port)

    brokers = d.array(broker)
    cluster_id = d.string() if version >= 2 else None
    controller = d.int32() if version >= 1 else None

    def partition(d):
        err, index, leader = d.int16(), d.int32(), d.int32()
        replicas = tuple(d.array(lambda d: d.int32()))
        isr = tuple(d.array(lambda d: d.int32()))
        return (err, index, leader, replicas, isr)

    topics = {}

    def topic(d):
        err, name = d.int16(), d.string()
        internal = bool(d.int8()) if version >= 1 else False
        topics[name] = (err, internal, d.array(partition))

    d.array(topic)
    assert d.done(), "trailing bytes in the Metadata response"
    return {"brokers": brokers, "controller": controller, "cluster_id": cluster_id, "topics": topics}


def metadata(port, version, topics, allow_auto_create=True):
    body = roundtrip(port, 3, version, metadata_request(version, topics, allow_auto_create))
    return parse_metadata(version, body)


def api_versions(port, version=0):
    """Returns (error, {key: (min, max)}) decoded in the v0 layout."""
    body = roundtrip(port, 18, version, b"")
    d = Decoder(body)
    err = d.int16()
    ranges = {}
    for _ in range(d.int32()):
        key, lo, hi = d.int16(), d.int16(), d.int16()
        ranges[key] = (lo, hi)
    return err, ranges


def produce_request(topic, partition, records, acks=1, timeout_ms=10000):
    """The body of a Produce v3 of `records` (RecordBatch bytes) to one
    partition."""
    return (string(None) + struct.pack(">hi", acks, timeout_ms) + struct.pack(">i", 1) + string(topic)
            + struct.pack(">i", 1) + struct.pack(">ii", partition, len(records)) + records)


def produce(port, topic, partition, records, acks=1):
    """Produce v3 of `records` (RecordBatch bytes) to one partition; returns
    (error_code, base_offset)."""
    return parse_produce_response(roundtrip(port, 0, 3, produce_request(topic, partition, records, acks)),
                                  topic, partition)


def parse_produce_response(resp, topic, partition):
    """(error_code, base_offset) of a Produce v3 answer for one partition."""
    d = Decoder(resp)
    assert d.int32() == 1 and d.string() == topic and d.int32() == 1, resp
    index, error, base = d.int32(), d.int16(), d.int64()
    d.int64()  # log_append_time
    d.int32()  # throttle_time_ms
    assert index == partition and d.done(), resp
    return error, base


def latest_offset(port, topic, partition):
    """ListOffsets v1, timestamp -1: the high watermark."""
    body = (struct.pack(">i", -1) + struct.pack(">i", 1) + string(topic) + struct.pack(">i", 1)
            + struct.pack(">iq", partition, -1))
    d = Decoder(roundtrip(port, 2, 1, body))
    assert d.int32() == 1 and d.string() == topic and d.int32() == 1
    index, error, _ts, offset = d.int32(), d.int16(), d.int64(), d.int64()
    assert index == partition and error == 0, error
    return offset


def init_producer_id(port, transactional_id=None, version=0):
    """InitProducerId (v0-1, no transaction); returns (error, producer_id, epoch)."""
    body = roundtrip(port, 22, version, string(transactional_id) + struct.pack(">i", 60000))
    d = Decoder(body)
    d.int32()  # throttle_time_ms
    error, producer_id, epoch = d.int16(), d.int64(), d.int16()
    assert d.done(), "trailing bytes in the InitProducerId response"
    return error, producer_id, epoch


def offset_commit(port, group, topic, partition, offset, generation=-1, member=""):
    """OffsetCommit v2 of one offset, outside any group protocol by default
    (generation -1, no member: as consumers using assign() commit); returns
    the partition's error code."""
    body = (string(group) + struct.pack(">i", generation) + string(member) + struct.pack(">q", -1)
            + struct.pack(">i", 1) + string(topic) + struct.pack(">i", 1)
            + struct.pack(">iq", partition, offset) + string(""))
    d = Decoder(roundtrip(port, 8, 2, body))
    assert d.int32() == 1 and d.string() == topic and d.int32() == 1
    index, error = d.int32(), d.int16()
    assert index == partition and d.done(), "unexpected OffsetCommit response"
    return error
