"""Security with kafkajs (issue 15): a broker with a SASL_SSL listener
(certificate signed by a test CA made with the openssl CLI), the users
admin, alice and bob (keel-tool, both SCRAM mechanisms) and the acl
authorizer with super user User:admin. kafkajs 2 is installed from npm into
the build tree on first use (idempotent_producer_test.kafkajs_modules); the
client program is clients/kafkajs_security.js, one operation per run,
trusting the test CA (ssl: { ca: [pem] }).

1. SCRAM-SHA-256 and SCRAM-SHA-512 over TLS: a kafkajs producer (acks -1)
   sends 60 records to 3 partitions, a kafkajs consumer in a group reads
   every one back (values, per-partition order) and commits.
2. A wrong password (each mechanism) fails with kafkajs'
   KafkaJSSASLAuthenticationError; the broker stays up and serves a good
   client afterwards.
3. kafkajs' admin client as admin: createAcls, describeAcls (every field of
   every binding; filters by principal and by resource type), deleteAcls
   by a filter (the deleted binding reported; deleting again matches
   nothing).
4. Enforcement as kafkajs sees it: alice's idempotent producer
   (InitProducerId allowed by WRITE on a topic, KIP-679) writes "orders"
   and alice reads it in group g1; bob is refused: his produce with
   TOPIC_AUTHORIZATION_FAILED (by Metadata without any binding, by Produce
   itself once he may DESCRIBE the topic), his idempotent producer's
   InitProducerId with CLUSTER_AUTHORIZATION_FAILED, his createAcls with
   CLUSTER_AUTHORIZATION_FAILED; nothing of his is stored. alice in a group
   she has no binding for: the broker's GROUP_AUTHORIZATION_FAILED, which
   kafkajs 2 reports as KafkaJSGroupCoordinatorNotFound (it swallows the
   FindCoordinator error), the denial seen in the broker's log.
Each kafkajs error is checked by the name (and protocol error type) of the
error kafkajs hands the application and of the causes under it.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from idempotent_producer_test import kafkajs_modules  # noqa: E402
from keel_harness import Broker, parse_args, run_cases, wait_until  # noqa: E402
from tls_test import make_ca, make_cert  # noqa: E402

USERS = {"admin": "admin-secret", "alice": "alice-secret", "bob": "bob-secret"}
MECHANISMS = ("scram-sha-256", "scram-sha-512")  # kafkajs' names
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


class KafkaJS:
    """Runs clients/kafkajs_security.js: one operation as one user."""

    def __init__(self, args, broker, ca):
        self.modules, self.version = kafkajs_modules(args)
        self.script = os.path.join(args.source_dir, "tests", "integration", "clients", "kafkajs_security.js")
        self.broker = broker
        self.ca = ca

    def run(self, user, op, mechanism="scram-sha-256", password=None, timeout=60, **kwargs):
        spec = dict(bootstrap=self.broker.bootstrap, ca=self.ca, mechanism=mechanism, user=user,
                    password=USERS[user] if password is None else password, op=op, **kwargs)
        p = subprocess.run(["node", self.script, self.modules, json.dumps(spec)], capture_output=True, text=True,
                           timeout=timeout)
        lines = p.stdout.strip().splitlines()
        assert p.returncode == 0 and lines, (f"kafkajs {op} as {user}: exit {p.returncode}\n"
                                             f"{p.stdout[-2000:]}{p.stderr[-3000:]}")
        return json.loads(lines[-1])

    def ok(self, user, op, **kwargs):
        report = self.run(user, op, **kwargs)
        assert report["ok"], f"kafkajs {op} as {user} failed: {json.dumps(report['error'])}"
        return report["result"]

    def error(self, user, op, **kwargs):
        report = self.run(user, op, **kwargs)
        assert not report["ok"], f"kafkajs {op} as {user} succeeded: {json.dumps(report['result'])[:2000]}"
        return report["error"]


JS = None  # the KafkaJS runner, set by main


def chain(error):
    """(name, type) of an error and of each cause under it."""
    out = []
    while error:
        out.append((error["name"], error.get("type")))
        error = error.get("cause")
    return out


def assert_kafkajs_error(error, expected, what):
    """The error kafkajs handed the application and the causes under it
    begin with `expected`, [(name, type)]. A broker's error code is a
    KafkaJSProtocolError with its type (e.g. TOPIC_AUTHORIZATION_FAILED);
    where kafkajs gave up in its retrier, a KafkaJSNonRetriableError wraps
    it."""
    got = chain(error)
    assert got[:len(expected)] == expected, (
        f"{what}: kafkajs reported {got} ({error['message']}), expected {expected}")


def protocol_error(type_):
    return ("KafkaJSProtocolError", type_)


def denial_logged(broker, line):
    """The broker's audit line for a denial (one per principal, resource
    type and operation every 10 s: each case below asks for a first one)."""
    try:
        wait_until(lambda: f"authorization: denied {line}" in broker.log_text(), 10, f"the denial '{line}'")
    except AssertionError as e:
        raise AssertionError(f"{e}; the log ends:\n{broker.log_text()[-3000:]}")


def binding(principal, operation, resource_type, name, permission="ALLOW", pattern="LITERAL", host="*"):
    return dict(principal=principal, host=host, operation=operation, permissionType=permission,
                resourceType=resource_type, resourceName=name, resourcePatternType=pattern)


def key(b):
    return (b["principal"], b["host"], b["operation"], b["permissionType"], b["resourceType"], b["resourceName"],
            b["resourcePatternType"])


ANY = dict(resourceType="ANY", resourcePatternType="ANY", operation="ANY", permissionType="ANY")


def described(user="admin", **filter_):
    """describeAcls through kafkajs: every binding as a tuple of every field."""
    resources = JS.ok(user, "describeAcls", filter={**ANY, **filter_})
    out = set()
    for r in resources:
        for a in r["acls"]:
            out.add(key({**a, **{k: r[k] for k in ("resourceType", "resourceName", "resourcePatternType")}}))
    return out


ALICE = [binding("User:alice", "WRITE", "TOPIC", "orders"), binding("User:alice", "READ", "TOPIC", "orders"),
         binding("User:alice", "READ", "GROUP", "g1")]
BOB_READS_ORDERS = binding("User:bob", "READ", "TOPIC", "orders")
BOB_DESCRIBES_ORDERS = binding("User:bob", "DESCRIBE", "TOPIC", "orders")
ALICE_VALUES = [f"alice-{i:02d}" for i in range(10)]


@test
def scram_256_and_512_over_tls_produce_and_consume_in_a_group(broker):
    count = 60
    for mechanism in MECHANISMS:
        topic = mechanism.replace("-", "")
        values = [f"{mechanism}-{i:03d}" for i in range(count)]
        sent = JS.ok("admin", "produce", mechanism=mechanism, topic=topic, values=values)
        assert sent and all(s["errorCode"] == 0 for s in sent), (mechanism, sent)
        got = JS.ok("admin", "consume", mechanism=mechanism, topic=topic, group=f"g-{topic}", count=count,
                    timeoutMs=20000)
        assert sorted(got["values"]) == values, (
            f"{mechanism}: the group read {len(got['values'])} records, {len(set(got['values']))} distinct, "
            f"of {count}: missing {sorted(set(values) - set(got['values']))[:5]}")
        for p, vs in got["partitions"].items():
            assert vs == sorted(vs), f"{mechanism}: partition {p} read out of produce order: {vs}"
        # The committed offsets are the partitions' ends: every record read.
        ends = {str(s["partition"]): s["baseOffset"] + len(got["partitions"].get(str(s["partition"]), []))
                for s in sent}
        assert {p: int(o) for p, o in got["committed"].items()} == ends, (got["committed"], sent)
        print(f"    kafkajs {JS.version} {mechanism.upper()} over TLS: {count} records acknowledged (acks -1) and "
              f"read back in a group from partitions {sorted(got['partitions'])}")


@test
def wrong_password_is_a_sasl_authentication_error(broker):
    for mechanism in MECHANISMS:
        error = JS.error("alice", "produce", mechanism=mechanism, password="wrong", topic="scramsha256",
                         values=["never"])
        assert_kafkajs_error(error, [("KafkaJSSASLAuthenticationError", None)], f"{mechanism}, wrong password")
        print(f"    {mechanism.upper()}, wrong password: {error['name']}: {error['message']}")
    assert broker.alive(), "the broker died"
    assert "authentication failed" in broker.log_text()
    # A good client afterwards (admin: alice has no bindings yet).
    sent = JS.ok("admin", "produce", mechanism="scram-sha-512", topic="scramsha512", values=["after"])
    assert sent and sent[0]["errorCode"] == 0, sent


@test
def admin_creates_describes_and_deletes_acls(broker):
    assert described() == set(), "the broker starts with bindings"
    assert JS.ok("admin", "createAcls", acl=ALICE + [BOB_READS_ORDERS]) is True
    assert described() == {key(b) for b in ALICE + [BOB_READS_ORDERS]}
    assert described(principal="User:alice") == {key(b) for b in ALICE}
    assert described(resourceType="GROUP") == {key(ALICE[2])}
    # Delete bob's READ on "orders" by a filter: the binding comes back in
    # the answer, every field (DeleteAcls v1: with its pattern type).
    bob_read = {**ANY, "principal": "User:bob", "operation": "READ", "resourceType": "TOPIC",
                "resourceName": "orders"}
    [response] = JS.ok("admin", "deleteAcls", filters=[bob_read])
    assert response["errorCode"] == 0, response
    assert [(m["errorCode"], key(m)) for m in response["matchingAcls"]] == [(0, key(BOB_READS_ORDERS))], response
    assert described() == {key(b) for b in ALICE}
    [response] = JS.ok("admin", "deleteAcls", filters=[bob_read])
    assert response["errorCode"] == 0 and response["matchingAcls"] == [], response


@test
def kafkajs_sees_the_bindings_enforced(broker):
    # alice: an idempotent producer (InitProducerId allowed by her WRITE on
    # "orders", KIP-679).
    sent = JS.ok("alice", "produce", topic="orders", values=ALICE_VALUES, idempotent=True)
    assert [(s["partition"], s["errorCode"]) for s in sent] == [(0, 0)], sent
    # bob, no binding at all: the Metadata for "orders" already refuses
    # (kafkajs' send retrier gives up and wraps the protocol error).
    error = JS.error("bob", "produce", topic="orders", values=["bob-0"])
    assert_kafkajs_error(error, [("KafkaJSNonRetriableError", None), protocol_error("TOPIC_AUTHORIZATION_FAILED")],
                         "bob's produce without any binding")
    denial_logged(broker, "User:bob from 127.0.0.1 (listener SASL_SSL) DESCRIBE on TOPIC 'orders'")
    # bob may DESCRIBE "orders": Metadata answers, the Produce itself is
    # refused (the broker logs the WRITE it denied).
    assert JS.ok("admin", "createAcls", acl=[BOB_DESCRIBES_ORDERS]) is True
    error = JS.error("bob", "produce", topic="orders", values=["bob-1"])
    assert_kafkajs_error(error, [protocol_error("TOPIC_AUTHORIZATION_FAILED")], "bob's produce with DESCRIBE")
    denial_logged(broker, "User:bob from 127.0.0.1 (listener SASL_SSL) WRITE on TOPIC 'orders'")
    # bob's idempotent producer: connect() sends InitProducerId, and bob may
    # WRITE no topic (nor IDEMPOTENT_WRITE the cluster).
    error = JS.error("bob", "produce", topic="orders", values=["bob-2"], idempotent=True)
    assert_kafkajs_error(error, [protocol_error("CLUSTER_AUTHORIZATION_FAILED")], "bob's idempotent producer")
    # bob may not administer ACLs: CreateAcls refused, nothing changes.
    error = JS.error("bob", "createAcls", acl=[binding("User:bob", "WRITE", "TOPIC", "orders")])
    assert_kafkajs_error(error, [protocol_error("CLUSTER_AUTHORIZATION_FAILED")], "bob's createAcls")
    denial_logged(broker, "User:bob from 127.0.0.1 (listener SASL_SSL) ALTER on CLUSTER 'kafka-cluster'")
    assert described() == {key(b) for b in ALICE + [BOB_DESCRIBES_ORDERS]}
    # Nothing of bob's was stored: the partition ends after alice's records.
    [offsets] = JS.ok("admin", "topicOffsets", topic="orders")
    assert (offsets["partition"], offsets["low"], offsets["high"]) == (0, "0", str(len(ALICE_VALUES))), offsets
    # alice reads "orders" in g1 and commits after her last record.
    got = JS.ok("alice", "consume", topic="orders", group="g1", count=len(ALICE_VALUES), timeoutMs=20000)
    assert got["values"] == ALICE_VALUES, got
    assert got["committed"] == {"0": str(len(ALICE_VALUES))}, got["committed"]
    # ... but not in a group no binding names. The broker answers
    # FindCoordinator with GROUP_AUTHORIZATION_FAILED; kafkajs 2 drops that
    # error (BrokerPool.withBroker tries the next broker and swallows it)
    # and crashes the consumer with KafkaJSGroupCoordinatorNotFound. The
    # broker's log shows the denial behind it.
    error = JS.error("alice", "consume", topic="orders", group="g2", count=1, timeoutMs=20000)
    assert_kafkajs_error(error, [("KafkaJSGroupCoordinatorNotFound", None)], "alice in group g2")
    denial_logged(broker, "User:alice from 127.0.0.1 (listener SASL_SSL) DESCRIBE on GROUP 'g2'")


def add_users(build_dir, data_dir):
    tool = os.path.join(build_dir, "kernel", "keel-tool")
    for user, password in USERS.items():
        out = subprocess.run([tool, "user", "add", user, "-d", data_dir, "--iterations", "4096"],
                             input=password + "\n", capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr


def main():
    global JS
    args = parse_args()
    d = tempfile.mkdtemp(prefix="keel-kafkajs-security-")
    make_ca(d, "ca")
    make_cert(d, "ca", "server", "127.0.0.1", server=True)
    topics = ("[topic_defaults]\npartitions = 1\n"
              + "".join(f"[topics.{m.replace('-', '')}]\npartitions = 3\n" for m in MECHANISMS)
              + "[topics.orders]\npartitions = 1\n"
              + '[authorizer]\nstrategy = "acl"\n'
              + '[authorizer.acl]\nsuper_users = "User:admin"\nallow_everyone_if_no_acl_found = false\n')
    broker = Broker(args.build_dir, workdir=d, topics_toml=topics,
                    kafka_toml=f'security_protocol = "SASL_SSL"\n'
                               f'ssl_certificate = "{d}/server.pem"\nssl_key = "{d}/server.key"\n')
    os.makedirs(broker.data_dir, exist_ok=True)
    add_users(args.build_dir, broker.data_dir)
    JS = KafkaJS(args, broker, os.path.join(d, "ca.pem"))
    with broker:
        status = run_cases(broker, TESTS)
        assert broker.alive(), "broker died"
    if status == 0:
        shutil.rmtree(d, ignore_errors=True)
    else:
        print(f"kept {d} for inspection")
    return status


if __name__ == "__main__":
    sys.exit(main())
