"""SASL on the Kafka listener (issue 15): users made with `keel-tool user add`,
a broker with security_protocol = "SASL_PLAINTEXT", and real clients:
kcat (librdkafka: SaslHandshake v1 + SaslAuthenticate) with SCRAM-SHA-256,
SCRAM-SHA-512 and PLAIN; kafka-python (SaslHandshake v0 and bare tokens).
Wrong passwords, unknown users and clients without SASL fail with the
client's own error while the broker stays up; malformed and hostile SASL
input over the raw wire (bad nonces, proofs, channel bindings, requests
before authenticating); 10,000 failed logins in a bounded loop, after which
a good client is still served; a PLAINTEXT listener answers SASL requests
with ILLEGAL_SASL_STATE.
"""
import base64
import hashlib
import hmac
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keel_harness import Broker, parse_args, run_cases  # noqa: E402
import kafka_wire  # noqa: E402

try:
    import kafka  # noqa: F401
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")
from kafka import KafkaConsumer, KafkaProducer  # noqa: E402
from kafka import errors as kerrors  # noqa: E402

TESTS = []
USERS = {"alice": "alice-secret", "bob": "bob-secret", "carol": "carol-secret"}  # bob: SCRAM-SHA-256 only;
# carol: made and deleted over the Kafka protocol
SASL_HANDSHAKE, SASL_AUTHENTICATE = 17, 36


def test(fn):
    TESTS.append(fn)
    return fn


def kcat(broker, args, mechanism="SCRAM-SHA-512", user="alice", password=None, stdin=None, timeout=30):
    password = USERS.get(user, "x") if password is None else password
    sasl = ["-X", "security.protocol=SASL_PLAINTEXT", "-X", f"sasl.mechanisms={mechanism}",
            "-X", f"sasl.username={user}", "-X", f"sasl.password={password}"] if mechanism else []
    return subprocess.run(["kcat", "-b", broker.bootstrap, *sasl, *args], input=stdin,
                          capture_output=True, text=True, timeout=timeout)


def produce_and_consume_with_kcat(broker, mechanism, user, topic):
    values = [f"{mechanism}-{user}-{i}" for i in range(5)]
    out = kcat(broker, ["-P", "-t", topic, "-p", "0"], mechanism, user, stdin="\n".join(values) + "\n")
    assert out.returncode == 0, f"kcat produce with {mechanism} as {user}: {out.stderr}"
    out = kcat(broker, ["-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q"], mechanism, user)
    assert out.returncode == 0, f"kcat consume with {mechanism} as {user}: {out.stderr}"
    got = out.stdout.split()
    assert got[-5:] == values, (mechanism, user, got)


@test
def kcat_scram_sha_512_sha_256_and_plain(broker):
    produce_and_consume_with_kcat(broker, "SCRAM-SHA-512", "alice", "t512")
    produce_and_consume_with_kcat(broker, "SCRAM-SHA-256", "alice", "t256")
    produce_and_consume_with_kcat(broker, "SCRAM-SHA-256", "bob", "t256")
    produce_and_consume_with_kcat(broker, "PLAIN", "alice", "tplain")
    produce_and_consume_with_kcat(broker, "PLAIN", "bob", "tplain")  # PLAIN checked against SHA-256 keys


def assert_kcat_refused(out, what):
    assert out.returncode != 0, f"{what}: kcat succeeded: {out.stdout}"
    text = out.stderr.lower()
    assert "authentication" in text or "sasl" in text, f"{what}: {out.stderr}"


@test
def kcat_wrong_password_unknown_user_and_missing_mechanism_fail(broker):
    assert_kcat_refused(kcat(broker, ["-L", "-m", "5"], "SCRAM-SHA-512", "alice", "wrong"), "wrong password")
    assert_kcat_refused(kcat(broker, ["-L", "-m", "5"], "SCRAM-SHA-256", "mallory", "x"), "unknown user")
    assert_kcat_refused(kcat(broker, ["-L", "-m", "5"], "PLAIN", "alice", "wrong"), "PLAIN, wrong password")
    # bob has no SCRAM-SHA-512 credential.
    assert_kcat_refused(kcat(broker, ["-L", "-m", "5"], "SCRAM-SHA-512", "bob"), "no SHA-512 credential")
    # Without SASL the broker closes the connection at the first request.
    out = kcat(broker, ["-L", "-m", "5"], mechanism=None)
    assert out.returncode != 0, out.stdout
    text = broker.log_text()
    assert "authentication failed" in text and "alice-secret" not in text and "wrong" not in text.split(
        "authentication failed")[-1][:200], text[-3000:]
    assert "before authenticating" in text, text[-3000:]


def python_client_config(broker, mechanism, user, password):
    return dict(bootstrap_servers=broker.bootstrap, security_protocol="SASL_PLAINTEXT",
                sasl_mechanism=mechanism, sasl_plain_username=user, sasl_plain_password=password,
                request_timeout_ms=10000, api_version_auto_timeout_ms=10000)


@test
def kafka_python_scram_and_plain(broker):
    for mechanism, topic in (("SCRAM-SHA-256", "py256"), ("SCRAM-SHA-512", "py512"), ("PLAIN", "pyplain")):
        cfg = python_client_config(broker, mechanism, "alice", USERS["alice"])
        producer = KafkaProducer(acks="all", **cfg)
        try:
            for i in range(3):
                producer.send(topic, value=f"{mechanism}-{i}".encode(), partition=0).get(timeout=10)
        finally:
            producer.close()
        consumer = KafkaConsumer(topic, auto_offset_reset="earliest", consumer_timeout_ms=5000, **cfg)
        try:
            got = [m.value.decode() for m in consumer]
        finally:
            consumer.close()
        assert got == [f"{mechanism}-{i}" for i in range(3)], (mechanism, got)


@test
def kafka_python_wrong_password_fails(broker):
    for mechanism in ("SCRAM-SHA-256", "PLAIN"):
        try:
            producer = KafkaProducer(**python_client_config(broker, mechanism, "alice", "wrong"))
        except (kerrors.NoBrokersAvailable, kerrors.AuthenticationFailedError, kerrors.KafkaConnectionError):
            continue
        producer.close()
        raise AssertionError(f"kafka-python connected with a wrong password ({mechanism})")
    assert broker.alive()


# ---- the raw wire: a SCRAM client of our own, to send what clients would not


def handshake(sock, mechanism, version=1, correlation_id=1):
    sock.sendall(kafka_wire.request_frame(SASL_HANDSHAKE, version, correlation_id, kafka_wire.string(mechanism)))
    corr, body = kafka_wire.read_response(sock)
    d = kafka_wire.Decoder(body)
    error = d.int16()
    mechanisms = d.array(lambda x: x.string())
    return error, mechanisms


def authenticate(sock, token, correlation_id=2, version=1):
    body = struct.pack(">i", len(token)) + token
    sock.sendall(kafka_wire.request_frame(SASL_AUTHENTICATE, version, correlation_id, body))
    corr, resp = kafka_wire.read_response(sock)
    assert corr == correlation_id
    d = kafka_wire.Decoder(resp)
    error = d.int16()
    message = d.string()
    n = d.int32()
    data = d.data[d.pos:d.pos + n]
    return error, message, data


def scram_client_final(mechanism, password, client_first_bare, server_first, cbind=b"biws", nonce=None):
    digest = hashlib.sha256 if mechanism == "SCRAM-SHA-256" else hashlib.sha512
    attrs = dict(kv.split("=", 1) for kv in server_first.decode().split(","))
    salt, iterations = base64.b64decode(attrs["s"]), int(attrs["i"])
    salted = hashlib.pbkdf2_hmac(digest().name, password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", digest).digest()
    stored_key = digest(client_key).digest()
    final_bare = b"c=" + cbind + b",r=" + (nonce or attrs["r"]).encode()
    auth_message = client_first_bare + b"," + server_first + b"," + final_bare
    signature = hmac.new(stored_key, auth_message, digest).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    return final_bare + b",p=" + base64.b64encode(proof), salted


def scram_login(port, user, password, mechanism="SCRAM-SHA-256", tamper=None):
    """Returns (error of the last step, message, socket)."""
    s = kafka_wire.connect(port)
    error, _ = handshake(s, mechanism)
    assert error == 0, error
    bare = f"n={user},r=clientnonce123".encode()
    error, message, server_first = authenticate(s, b"n,," + bare)
    if error:
        return error, message, s
    kwargs = {}
    if tamper == "nonce":
        kwargs["nonce"] = "clientnonce123forged"
    if tamper == "cbind":
        kwargs["cbind"] = base64.b64encode(b"y,,")
    final, _ = scram_client_final(mechanism, password, bare, server_first, **kwargs)
    if tamper == "proof":
        final = final[:-8] + b"AAAAAAA="
    error, message, _ = authenticate(s, final, correlation_id=3)
    return error, message, s


@test
def raw_scram_good_login_then_metadata(broker):
    error, message, s = scram_login(broker.kafka_port, "alice", USERS["alice"])
    with s:
        assert error == 0, message
        s.sendall(kafka_wire.request_frame(3, 1, 9, struct.pack(">i", -1)))  # Metadata v1, all topics
        corr, _ = kafka_wire.read_response(s)
        assert corr == 9


@test
def raw_scram_hostile_exchanges_fail_and_close(broker):
    for tamper in ("nonce", "cbind", "proof"):
        error, message, s = scram_login(broker.kafka_port, "alice", USERS["alice"], tamper=tamper)
        with s:
            assert error == 58, (tamper, error, message)  # SASL_AUTHENTICATION_FAILED
            assert message and "alice-secret" not in message, message
            assert kafka_wire.closed_by_peer(s), f"{tamper}: the connection stayed open"
    # Unknown user and wrong password read the same.
    e1, m1, s1 = scram_login(broker.kafka_port, "mallory", "x")
    e2, m2, s2 = scram_login(broker.kafka_port, "alice", "wrong")
    s1.close()
    s2.close()
    assert e1 == e2 == 58, (e1, m1, e2, m2)
    assert m1.replace("mallory", "U") == m2.replace("alice", "U"), (m1, m2)
    # Malformed client-first messages.
    for token in (b"", b"garbage", b"n,,r=nonce", b"n,,n=,r=x", b"p=tls-unique,,n=alice,r=x",
                  b"n,,n=al=ZZice,r=x", b"n,,n=alice,r=x,tokenauth=true", b"\xff" * 5000):
        with kafka_wire.connect(broker.kafka_port) as s:
            assert handshake(s, "SCRAM-SHA-512")[0] == 0
            error, message, _ = authenticate(s, token)
            assert error == 58, (token[:40], error, message)
            assert kafka_wire.closed_by_peer(s), token[:40]
    assert broker.alive()


@test
def raw_handshake_rules(broker):
    with kafka_wire.connect(broker.kafka_port) as s:
        error, mechanisms = handshake(s, "GSSAPI")
        assert error == 33, error  # UNSUPPORTED_SASL_MECHANISM
        assert set(mechanisms) == {"SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"}, mechanisms
    # Any request but ApiVersions and the handshake before authenticating:
    # the connection closes.
    with kafka_wire.connect(broker.kafka_port) as s:
        s.sendall(kafka_wire.request_frame(3, 1, 1, struct.pack(">i", -1)))
        assert kafka_wire.closed_by_peer(s)
    with kafka_wire.connect(broker.kafka_port) as s:
        s.sendall(kafka_wire.request_frame(18, 0, 1, b""))
        corr, body = kafka_wire.read_response(s)
        assert corr == 1 and struct.unpack_from(">h", body)[0] == 0
    # SaslAuthenticate without a handshake: ILLEGAL_SASL_STATE, then closed.
    with kafka_wire.connect(broker.kafka_port) as s:
        error, message, _ = authenticate(s, b"n,,n=alice,r=x")
        assert error == 34, (error, message)
    # A second handshake after a good login: ILLEGAL_SASL_STATE.
    error, message, s = scram_login(broker.kafka_port, "alice", USERS["alice"])
    with s:
        assert error == 0, message
        assert handshake(s, "PLAIN", correlation_id=7)[0] == 34


@test
def ten_thousand_failed_logins_leave_good_clients_served(broker):
    # The attacker's side is cheap: one salted password, reused.
    port = broker.kafka_port
    started = time.monotonic()
    failures = 0
    for i in range(10000):
        with kafka_wire.connect(port) as s:
            assert handshake(s, "SCRAM-SHA-256")[0] == 0
            error, _, _ = authenticate(s, b"n,,n=alice,r=n%d" % i)
            if error == 0:
                error, _, _ = authenticate(s, b"c=biws,r=wrong,p=AAAA", correlation_id=3)
            failures += error == 58
        if i % 1000 == 999:
            # A good client is served in between.
            produce_and_consume_with_kcat(broker, "SCRAM-SHA-256", "alice", "flood")
    assert failures == 10000, failures
    print(f"    10,000 failed SCRAM logins in {time.monotonic() - started:.1f} s")
    produce_and_consume_with_kcat(broker, "PLAIN", "alice", "flood")
    assert broker.alive()


@test
def kafka_python_v0_plain_bare_tokens(broker):
    # SaslHandshake v0, then a bare PLAIN token: an empty bare answer on
    # success, a closed connection on failure.
    with kafka_wire.connect(broker.kafka_port) as s:
        assert handshake(s, "PLAIN", version=0)[0] == 0
        token = b"\0alice\0" + USERS["alice"].encode()
        s.sendall(struct.pack(">i", len(token)) + token)
        assert kafka_wire.recv_exact(s, 4) == b"\0\0\0\0"
        s.sendall(kafka_wire.request_frame(18, 0, 5, b""))
        assert kafka_wire.read_response(s)[0] == 5
    with kafka_wire.connect(broker.kafka_port) as s:
        assert handshake(s, "PLAIN", version=0)[0] == 0
        token = b"\0alice\0nope"
        s.sendall(struct.pack(">i", len(token)) + token)
        assert kafka_wire.closed_by_peer(s)


def flex_request(sock, api_key, body, correlation_id):
    sock.sendall(kafka_wire.flexible_request_frame(api_key, 0, correlation_id, body))
    corr, resp = kafka_wire.read_response(sock)
    assert corr == correlation_id and resp[0] == 0, (corr, resp[:4])
    return kafka_wire.Decoder(resp, 1)  # after the response header's tags


def describe_scram(sock, users, correlation_id=20):
    body = (kafka_wire.uvarint(0) if users is None else kafka_wire.compact_array(
        users, lambda u: kafka_wire.compact_string(u) + kafka_wire.tags())) + kafka_wire.tags()
    d = flex_request(sock, 50, body, correlation_id)
    d.int32()
    assert d.int16() == 0
    d.compact_string()
    out = {}
    for _ in range(d.uvarint() - 1):
        user, error, message = d.compact_string(), d.int16(), d.compact_string()
        infos = []
        for _ in range(d.uvarint() - 1):
            infos.append((d.int8(), d.int32()))
            d.uvarint()
        d.uvarint()
        out[user] = (error, message, infos)
    return out


def alter_scram(sock, deletions, upsertions, correlation_id=21):
    def bytes_(b):
        return kafka_wire.uvarint(len(b) + 1) + b
    body = kafka_wire.compact_array(deletions, lambda d: kafka_wire.compact_string(d[0]) + struct.pack(">b", d[1])
                                    + kafka_wire.tags())
    body += kafka_wire.compact_array(upsertions, lambda u: kafka_wire.compact_string(u[0])
                                     + struct.pack(">bi", u[1], u[2]) + bytes_(u[3]) + bytes_(u[4])
                                     + kafka_wire.tags())
    body += kafka_wire.tags()
    d = flex_request(sock, 51, body, correlation_id)
    d.int32()
    out = {}
    for _ in range(d.uvarint() - 1):
        user, error, message = d.compact_string(), d.int16(), d.compact_string()
        d.uvarint()
        out[user] = (error, message)
    return out


@test
def scram_credentials_changed_on_a_running_broker(broker):
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", b"carol-secret", salt, 4096)
    error, message, s = scram_login(broker.kafka_port, "alice", USERS["alice"])
    with s:
        assert error == 0, message
        assert describe_scram(s, ["carol"])["carol"][0] == 91  # RESOURCE_NOT_FOUND
        assert alter_scram(s, [], [("carol", 1, 4096, salt, salted)]) == {"carol": (0, None)}
        listed = describe_scram(s, None)
        assert listed["carol"] == (0, None, [(1, 4096)]), listed
        assert sorted(listed["alice"][2]) == [(1, 4096), (2, 4096)], listed
        # Refusals, per user; nothing of a refused user applies.
        got = alter_scram(s, [("nobody", 1)], [("dave", 3, 4096, salt, salted), ("erin", 1, 100, salt, salted),
                                               ("frank", 2, 4096, b"", salted + salted)])
        assert got["nobody"][0] == 91 and got["dave"][0] == 33 and got["erin"][0] == 93, got
        assert got["frank"][0] == 93, got  # an empty salt
        got = alter_scram(s, [("carol", 1)], [("carol", 2, 4096, salt, salted * 2)])
        assert got == {"carol": (92, "user 'carol' is named more than once in the request")}, got
        assert describe_scram(s, ["carol", "carol"])["carol"][0] == 92
    # The new user logs in with kcat at once; deleted, it cannot.
    produce_and_consume_with_kcat(broker, "SCRAM-SHA-256", "carol", "carol-topic")
    error, message, s = scram_login(broker.kafka_port, "alice", USERS["alice"])
    with s:
        assert alter_scram(s, [("carol", 1)], []) == {"carol": (0, None)}
    assert_kcat_refused(kcat(broker, ["-L", "-m", "5"], "SCRAM-SHA-256", "carol", "carol-secret"), "deleted user")
    assert "carol-secret" not in broker.log_text()


def add_users(build_dir, data_dir):
    tool = os.path.join(build_dir, "kernel", "keel-tool")
    for user, password in USERS.items():
        if user == "carol":
            continue
        args = [tool, "user", "add", user, "-d", data_dir, "--iterations", "4096"]
        if user == "bob":
            args += ["--mechanism", "SCRAM-SHA-256"]
        out = subprocess.run(args, input=password + "\n", capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
    out = subprocess.run([tool, "user", "list", "-d", data_dir], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    lines = sorted(out.stdout.splitlines())
    assert lines == ["alice\tSCRAM-SHA-256\t4096 iterations", "alice\tSCRAM-SHA-512\t4096 iterations",
                     "bob\tSCRAM-SHA-256\t4096 iterations"], lines
    stored = open(os.path.join(data_dir, ".security", "scram-credentials.json")).read()
    assert "alice-secret" not in stored and "bob-secret" not in stored


def plaintext_listener_refuses_sasl(build_dir):
    with Broker(build_dir) as plain:
        with kafka_wire.connect(plain.kafka_port) as s:
            error, mechanisms = handshake(s, "PLAIN")
            assert error == 34 and mechanisms == [], (error, mechanisms)
        out = subprocess.run(["kcat", "-b", plain.bootstrap, "-L", "-m", "5"], capture_output=True,
                             text=True, timeout=30)
        assert out.returncode == 0, out.stderr


def main():
    args = parse_args()
    broker = Broker(args.build_dir, kafka_toml='security_protocol = "SASL_PLAINTEXT"',
                    broker_toml="", topics_toml="[topic_defaults]\npartitions = 1\n")
    os.makedirs(broker.data_dir, exist_ok=True)
    add_users(args.build_dir, broker.data_dir)
    # A running broker holds the data dir: the tool refuses to change users.
    with broker:
        out = subprocess.run([os.path.join(args.build_dir, "kernel", "keel-tool"), "user", "add", "carol",
                              "-d", broker.data_dir], input="pw\n", capture_output=True, text=True, timeout=30)
        assert out.returncode == 3 and "in use by a running broker" in out.stderr, (out.returncode, out.stderr)
        assert "SASL_PLAINTEXT, SASL mechanisms SCRAM-SHA-512 SCRAM-SHA-256 PLAIN" in broker.log_text()
        status = run_cases(broker, TESTS)
        assert broker.alive(), "broker died"
    # A damaged credentials file stops the start, naming the file, instead
    # of starting with no users.
    with open(os.path.join(broker.data_dir, ".security", "scram-credentials.json"), "w") as f:
        f.write("{ damaged")
    out = subprocess.run([os.path.join(args.build_dir, "kernel", "keel"), "--config", broker.config_path],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "scram-credentials.json' is damaged" in out.stdout + out.stderr, (
        out.returncode, out.stdout[-2000:])
    print("ok: a damaged credentials file stops the start with a message naming it")
    plaintext_listener_refuses_sasl(args.build_dir)
    print("ok: a PLAINTEXT listener answers SaslHandshake with ILLEGAL_SASL_STATE")
    return status


if __name__ == "__main__":
    sys.exit(main())
