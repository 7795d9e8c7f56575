"""Authorization on the HTTP transport (issue 15, second half): a broker with
[authorizer] strategy = "acl" (super user User:admin), HTTP Basic
authentication and the users admin, alice and bob. admin grants ACLs through
the Kafka protocol (kafka-python's KafkaAdminClient over SASL_PLAINTEXT,
CreateAcls); the HTTP routes then ask the broker's authorizer as the Kafka
APIs do and answer a denial with 403 "forbidden" naming principal, operation
and resource, before the resource is looked up (a denied name answers the
same whether it exists or not).

Cases: produce needs WRITE (auto-creation also CREATE, on the topic or the
cluster), consume READ; GET /topics and /cluster list only topics the
principal may DESCRIBE, silently (no denial counted); topic admin routes
need ALTER / DELETE; POST /producers needs IDEMPOTENT_WRITE on the cluster or
WRITE on some topic; group routes need READ / DESCRIBE / DELETE on the group
(and READ on each committed topic), GET /groups lists the groups the
principal may DESCRIBE unless it may DESCRIBE the cluster, and offsets and
lag leave out topics it may not DESCRIBE; the broker's denial log names the
HTTP principal, address and listener. Without HTTP authentication the
principal is User:ANONYMOUS; without [authorizer] everything is allowed.
"""
import base64
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keel_harness import Broker, parse_args, run_cases, wait_until  # noqa: E402

# The users, the SASL mechanism and the kafka-python helpers are the Kafka
# authorization test's (imports kafka-python).
from authz_test import USERS, MECHANISM, acl, client_config  # noqa: E402
from kafka import KafkaAdminClient  # noqa: E402
from kafka import errors as kerrors  # noqa: E402
from kafka.admin import (ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType,  # noqa: E402
                         ResourcePatternFilter, ResourceType)

TESTS = []
TOPICS = ("t", "hidden", "adm")
TOPIC, GROUP, CLUSTER = ResourceType.TOPIC, ResourceType.GROUP, ResourceType.CLUSTER
PREFIXED = ACLResourcePatternType.PREFIXED
Op = ACLOperation


def test(fn):
    TESTS.append(fn)
    return fn


# ---- HTTP


def call(broker, method, path, body=None, user=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(broker.http_url + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if user is not None:
        token = base64.b64encode(f"{user}:{USERS[user]}".encode()).decode()
        req.add_header("Authorization", "Basic " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw and r.headers.get_content_type() == "application/json" else raw
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, json.loads(raw) if raw else raw


def ok(broker, method, path, body=None, user=None, status=200):
    got, answer = call(broker, method, path, body, user)
    assert got == status, (user, method, path, got, answer)
    return answer


def forbidden(broker, method, path, body=None, user=None, *, op, resource_type, name, principal=None):
    """Asserts 403 naming the principal, operation and resource; returns the
    message."""
    principal = principal or f"User:{user}"
    status, answer = call(broker, method, path, body, user)
    assert status == 403, (user, method, path, status, answer)
    err = answer["error"]
    assert err["code"] == "forbidden", err
    what = "the cluster" if resource_type == "cluster" else f"{resource_type} '{name}'"
    assert err["message"].startswith(f"{principal} may not {op} {what}"), err
    assert (err["principal"], err["operation"], err["resource_type"], err["resource_name"]) == (
        principal, op, resource_type, name), err
    return err["message"]


def produce(broker, topic, values, user):
    return ok(broker, "POST", f"/topics/{topic}/records", {"records": [{"value": v, "partition": 0} for v in values]},
              user)


def values(broker, topic, user, offset=0):
    answer = ok(broker, "GET", f"/topics/{topic}/partitions/0/records?offset={offset}", user=user)
    return [r["value"] for r in answer["records"]]


def topic_names(broker, user):
    return {t["name"] for t in ok(broker, "GET", "/topics", user=user)["topics"]}


def denials(broker, resource_type, operation):
    """keel_authorization_denials_total for the labels (0 before the first)."""
    text = ok(broker, "GET", "/metrics", user="admin").decode()
    for line in text.splitlines():
        if (line.startswith("keel_authorization_denials_total{") and f'resource_type="{resource_type}"' in line
                and f'operation="{operation}"' in line):
            return float(line.split()[-1])
    return 0.0


def commit(broker, group, offsets, user, status=200):
    body = {"offsets": [{"topic": t, "partition": 0, "offset": o} for t, o in offsets]}
    return ok(broker, "POST", f"/groups/{group}/offsets", body, user, status)


def committed(broker, group, user):
    return {(o["topic"], o["offset"]) for o in ok(broker, "GET", f"/groups/{group}/offsets", user=user)["offsets"]}


# ---- ACLs through the Kafka protocol


def admin_client(broker):
    return KafkaAdminClient(**client_config(broker, "admin"))


def grant(broker, *acls):
    admin = admin_client(broker)
    try:
        result = admin.create_acls(list(acls))
    finally:
        admin.close()
    assert not result["failed"] and len(result["succeeded"]) == len(acls), result


# alice reads and writes "t", writes topics named "auto-...", alters and
# deletes "adm", reads group g1 and deletes group g-del; bob reads "t",
# describes the cluster and reads group g2. Nobody but admin touches
# "hidden". Cases grant more where they test a grant.
GRANTS = [acl("User:alice", Op.WRITE, TOPIC, "t"), acl("User:alice", Op.READ, TOPIC, "t"),
          acl("User:alice", Op.WRITE, TOPIC, "auto-", PREFIXED),
          acl("User:alice", Op.ALTER, TOPIC, "adm"), acl("User:alice", Op.DELETE, TOPIC, "adm"),
          acl("User:alice", Op.READ, GROUP, "g1"), acl("User:alice", Op.DELETE, GROUP, "g-del"),
          acl("User:bob", Op.READ, TOPIC, "t"), acl("User:bob", Op.DESCRIBE, CLUSTER, "kafka-cluster"),
          acl("User:bob", Op.READ, GROUP, "g2")]


@test
def admin_grants_acls_through_kafka(broker):
    grant(broker, *GRANTS)
    admin = admin_client(broker)
    try:
        acls, error = admin.describe_acls(ACLFilter(
            principal=None, host=None, operation=Op.ANY, permission_type=ACLPermissionType.ANY,
            resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY)))
    finally:
        admin.close()
    assert error is kerrors.NoError, error
    assert len(acls) == len(GRANTS), acls


# ---- topics


@test
def produce_needs_write(broker):
    before = denials(broker, "TOPIC", "WRITE")
    assert produce(broker, "t", ["a0", "a1"], "alice")["records"] == [{"partition": 0, "offset": 0},
                                                                     {"partition": 0, "offset": 1}]
    # bob may read "t" but not write it.
    forbidden(broker, "POST", "/topics/t/records", {"records": [{"value": "b0"}]}, "bob",
              op="WRITE", resource_type="topic", name="t")
    assert values(broker, "t", "admin") == ["a0", "a1"], "bob's record was written"
    assert denials(broker, "TOPIC", "WRITE") == before + 1, (denials(broker, "TOPIC", "WRITE"), before)
    # The broker's audit line carries the HTTP subject: principal, the
    # client's address (no port) and the listener.
    wait_until(lambda: "denied User:bob from 127.0.0.1 (listener http) WRITE on TOPIC 't'" in broker.log_text(),
               10, "the denial in the broker's log")


@test
def consume_needs_read(broker):
    assert values(broker, "t", "alice") == ["a0", "a1"]
    assert values(broker, "t", "bob") == ["a0", "a1"]  # bob may read "t", not write it
    produce(broker, "hidden", ["h0"], "admin")
    forbidden(broker, "GET", "/topics/hidden/partitions/0/records?offset=0", user="alice",
              op="READ", resource_type="topic", name="hidden")
    # A name that does not exist answers the same: a denied client learns
    # nothing about which topics there are.
    forbidden(broker, "GET", "/topics/nope/partitions/0/records?offset=0", user="alice",
              op="READ", resource_type="topic", name="nope")
    assert call(broker, "GET", "/topics/nope/partitions/0/records?offset=0", user="admin")[0] == 404


@test
def listings_show_only_what_the_principal_may_describe(broker):
    before = denials(broker, "TOPIC", "DESCRIBE")
    everything = topic_names(broker, "admin")
    assert {"t", "hidden", "adm"} <= everything, everything
    alice = topic_names(broker, "alice")
    assert {"t", "adm"} <= alice and "hidden" not in alice, alice  # DESCRIBE implied by READ/WRITE/ALTER
    assert topic_names(broker, "bob") == {"t"}, topic_names(broker, "bob")
    # The filter is not a denial: nothing counted (nor logged).
    assert denials(broker, "TOPIC", "DESCRIBE") == before, "a filtered listing counted denials"
    ok(broker, "GET", "/topics/t", user="alice")
    forbidden(broker, "GET", "/topics/hidden", user="alice", op="DESCRIBE", resource_type="topic", name="hidden")
    forbidden(broker, "GET", "/topics/nope", user="alice", op="DESCRIBE", resource_type="topic", name="nope")
    assert call(broker, "GET", "/topics/nope", user="admin")[0] == 404
    assert denials(broker, "TOPIC", "DESCRIBE") == before + 2, (denials(broker, "TOPIC", "DESCRIBE"), before)
    ok(broker, "GET", "/topics/adm/partitions/0", user="alice")
    forbidden(broker, "GET", "/topics/adm/partitions/0", user="bob", op="DESCRIBE", resource_type="topic",
              name="adm")
    # GET /cluster needs DESCRIBE on the cluster, and lists the topics the
    # principal may DESCRIBE.
    forbidden(broker, "GET", "/cluster", user="alice", op="DESCRIBE", resource_type="cluster",
              name="kafka-cluster")
    assert {t["name"] for t in ok(broker, "GET", "/cluster", user="bob")["topics"]} == {"t"}
    assert {t["name"] for t in ok(broker, "GET", "/cluster", user="admin")["topics"]} == everything


@test
def creating_a_topic_needs_create_on_it_or_the_cluster(broker):
    # alice may write "auto-..." topics, but creating one is CREATE too.
    forbidden(broker, "POST", "/topics/auto-1/records", {"records": [{"value": "x"}]}, "alice",
              op="CREATE", resource_type="topic", name="auto-1")
    forbidden(broker, "POST", "/topics", {"name": "auto-2"}, "alice", op="CREATE", resource_type="topic",
              name="auto-2")
    assert call(broker, "GET", "/topics/auto-1", user="admin")[0] == 404, "the denied produce created the topic"
    assert call(broker, "GET", "/topics/auto-2", user="admin")[0] == 404
    # bob may not write there at all: WRITE is asked first.
    forbidden(broker, "POST", "/topics/auto-3/records", {"records": [{"value": "x"}]}, "bob",
              op="WRITE", resource_type="topic", name="auto-3")
    grant(broker, acl("User:alice", Op.CREATE, TOPIC, "auto-", PREFIXED))
    produce(broker, "auto-1", ["x"], "alice")
    assert values(broker, "auto-1", "admin") == ["x"]
    assert ok(broker, "POST", "/topics", {"name": "auto-2"}, "alice", status=201)["name"] == "auto-2"
    forbidden(broker, "POST", "/topics", {"name": "other"}, "alice", op="CREATE", resource_type="topic",
              name="other")
    # CREATE on the cluster covers every topic.
    forbidden(broker, "POST", "/topics", {"name": "bobs"}, "bob", op="CREATE", resource_type="topic", name="bobs")
    grant(broker, acl("User:bob", Op.CREATE, CLUSTER, "kafka-cluster"))
    ok(broker, "POST", "/topics", {"name": "bobs"}, "bob", status=201)


@test
def topic_admin_needs_alter_and_delete(broker):
    forbidden(broker, "POST", "/topics/adm/partitions", {"count": 2}, "bob", op="ALTER", resource_type="topic",
              name="adm")
    assert ok(broker, "GET", "/topics/adm", user="admin")["partition_count"] == 1
    assert ok(broker, "POST", "/topics/adm/partitions", {"count": 2}, "alice")["partition_count"] == 2
    produce(broker, "adm", ["d0", "d1", "d2"], "admin")
    path = "/topics/adm/partitions/0/delete-records"
    forbidden(broker, "POST", path, {"before_offset": 2}, "bob", op="DELETE", resource_type="topic", name="adm")
    assert values(broker, "adm", "admin") == ["d0", "d1", "d2"]
    assert ok(broker, "POST", path, {"before_offset": 2}, "alice")["log_start_offset"] == 2
    forbidden(broker, "DELETE", "/topics/adm", user="bob", op="DELETE", resource_type="topic", name="adm")
    assert call(broker, "GET", "/topics/adm", user="admin")[0] == 200
    ok(broker, "DELETE", "/topics/adm", user="alice", status=204)
    assert call(broker, "GET", "/topics/adm", user="admin")[0] == 404


@test
def producers_need_idempotent_write_or_write_on_some_topic(broker):
    assert ok(broker, "POST", "/producers", {}, "alice", status=201)["epoch"] == 0  # WRITE on "t"
    message = forbidden(broker, "POST", "/producers", {}, "bob", op="IDEMPOTENT_WRITE", resource_type="cluster",
                        name="kafka-cluster")
    assert "nor WRITE any topic" in message, message
    grant(broker, acl("User:bob", Op.IDEMPOTENT_WRITE, CLUSTER, "kafka-cluster"))
    ok(broker, "POST", "/producers", {}, "bob", status=201)


# ---- groups


@test
def commits_need_read_on_the_group_and_each_topic(broker):
    commit(broker, "g1", [("t", 1)], "alice")
    forbidden(broker, "POST", "/groups/g1/offsets", {"offsets": [{"topic": "t", "partition": 0, "offset": 2}]},
              "bob", op="READ", resource_type="group", name="g1")
    # READ on the group but not on "hidden": nothing of the request is
    # committed, not even the allowed topic.
    forbidden(broker, "POST", "/groups/g1/offsets",
              {"offsets": [{"topic": "t", "partition": 0, "offset": 2},
                           {"topic": "hidden", "partition": 0, "offset": 0}]},
              "alice", op="READ", resource_type="topic", name="hidden")
    assert committed(broker, "g1", "admin") == {("t", 1)}, committed(broker, "g1", "admin")


@test
def group_offsets_and_lag_leave_out_topics_the_principal_may_not_describe(broker):
    commit(broker, "g1", [("hidden", 1)], "admin")
    assert committed(broker, "g1", "admin") == {("t", 1), ("hidden", 1)}
    assert committed(broker, "g1", "alice") == {("t", 1)}, committed(broker, "g1", "alice")
    lag = ok(broker, "GET", "/groups/g1/lag", user="alice")
    assert [p["topic"] for p in lag["partitions"]] == ["t"] and lag["total_lag"] == 1, lag
    admin_lag = ok(broker, "GET", "/groups/g1/lag", user="admin")
    assert {p["topic"] for p in admin_lag["partitions"]} == {"t", "hidden"}, admin_lag
    forbidden(broker, "GET", "/groups/g1/offsets?topic=hidden", user="alice", op="DESCRIBE",
              resource_type="topic", name="hidden")
    forbidden(broker, "GET", "/groups/g1/offsets?topic=hidden&partition=0", user="alice", op="DESCRIBE",
              resource_type="topic", name="hidden")
    ok(broker, "GET", "/groups/g1/offsets?topic=t&partition=0", user="alice")
    forbidden(broker, "GET", "/groups/g1/offsets", user="bob", op="DESCRIBE", resource_type="group", name="g1")
    forbidden(broker, "GET", "/groups/g1/lag", user="bob", op="DESCRIBE", resource_type="group", name="g1")


@test
def group_listing_needs_describe_on_each_group_or_the_cluster(broker):
    commit(broker, "g2", [("t", 0)], "admin")
    commit(broker, "g-del", [("t", 0)], "admin")
    before = denials(broker, "GROUP", "DESCRIBE")
    everything = set(ok(broker, "GET", "/groups", user="admin")["groups"])
    assert {"g1", "g2", "g-del"} <= everything, everything
    # alice: READ on g1, DELETE on g-del (each implies DESCRIBE).
    alice = set(ok(broker, "GET", "/groups", user="alice")["groups"])
    assert alice == {"g1", "g-del"}, alice
    # bob may DESCRIBE the cluster: every group.
    assert set(ok(broker, "GET", "/groups", user="bob")["groups"]) == everything
    assert denials(broker, "GROUP", "DESCRIBE") == before, "a filtered listing counted denials"


@test
def group_fetch_needs_read_on_the_group_and_the_topic(broker):
    answer = ok(broker, "GET", "/groups/g1/topics/t/records?commit=true", user="alice")
    assert [r["value"] for r in answer["records"]] == ["a1"], answer  # from g1's committed offset 1
    assert committed(broker, "g1", "alice") == {("t", 2)}
    forbidden(broker, "GET", "/groups/g1/topics/t/records", user="bob", op="READ", resource_type="group",
              name="g1")
    assert [r["value"] for r in ok(broker, "GET", "/groups/g2/topics/t/records", user="bob")["records"]] == [
        "a0", "a1"]
    forbidden(broker, "GET", "/groups/g2/topics/hidden/records", user="bob", op="READ", resource_type="topic",
              name="hidden")


@test
def operator_views_need_describe_and_offset_resets_need_read(broker):
    # The loaded plugins describe the broker: DESCRIBE on the cluster (bob).
    assert ok(broker, "GET", "/plugins", user="bob")["strategies"]
    forbidden(broker, "GET", "/plugins", user="alice", op="DESCRIBE", resource_type="cluster",
              name="kafka-cluster")
    # Segments are the topic's: DESCRIBE on it (READ implies it).
    assert ok(broker, "GET", "/topics/t/partitions/0/segments", user="alice")["segments"]
    forbidden(broker, "GET", "/topics/hidden/partitions/0/segments", user="alice", op="DESCRIBE",
              resource_type="topic", name="hidden")
    # A group's members and state: DESCRIBE on the group.
    assert ok(broker, "GET", "/groups/g1", user="alice")["state"] == "Empty"
    forbidden(broker, "GET", "/groups/g1", user="bob", op="DESCRIBE", resource_type="group", name="g1")
    # A reset is a commit: READ on the group and on the topic; a refused one
    # moves nothing.
    before = committed(broker, "g1", "admin")
    forbidden(broker, "POST", "/groups/g1/offsets/reset", {"topic": "t", "to": "earliest"}, "bob", op="READ",
              resource_type="group", name="g1")
    forbidden(broker, "POST", "/groups/g1/offsets/reset", {"topic": "hidden", "to": "earliest"}, "alice",
              op="READ", resource_type="topic", name="hidden")
    assert committed(broker, "g1", "admin") == before, committed(broker, "g1", "admin")
    answer = ok(broker, "POST", "/groups/g1/offsets/reset", {"topic": "t", "to": "earliest"}, "alice")
    assert [(o["topic"], o["partition"], o["offset"]) for o in answer["offsets"]] == [("t", 0, 0)], answer
    assert ("t", 0) in committed(broker, "g1", "admin"), committed(broker, "g1", "admin")


@test
def deleting_a_group_needs_delete(broker):
    forbidden(broker, "DELETE", "/groups/g1", user="alice", op="DELETE", resource_type="group", name="g1")
    assert "g1" in ok(broker, "GET", "/groups", user="admin")["groups"]
    ok(broker, "DELETE", "/groups/g-del", user="alice", status=204)
    assert "g-del" not in ok(broker, "GET", "/groups", user="admin")["groups"]


@test
def probes_stay_open_and_authentication_comes_first(broker):
    assert call(broker, "GET", "/health")[0] == 200
    assert call(broker, "GET", "/ready")[0] == 200
    # Without credentials: 401, not 403 (the principal is not known yet).
    assert call(broker, "GET", "/topics/hidden")[0] == 401


# ---- other brokers


def add_users(build_dir, data_dir):
    tool = os.path.join(build_dir, "kernel", "keel-tool")
    for user, password in USERS.items():
        out = subprocess.run([tool, "user", "add", user, "-d", data_dir, "--iterations", "4096", "--mechanism",
                              MECHANISM], input=password + "\n", capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr


AUTHORIZER = '[authorizer]\nstrategy = "acl"\n[authorizer.acl]\nsuper_users = "User:admin"\n'


def anonymous_without_http_authentication(build_dir):
    """Without HTTP authentication every request is User:ANONYMOUS, which
    no binding names here."""
    broker = Broker(build_dir, kafka=False, http=True, topics_toml="[topics.t]\npartitions = 1\n" + AUTHORIZER)
    with broker:
        assert call(broker, "GET", "/health")[0] == 200
        forbidden(broker, "POST", "/topics/t/records", {"records": [{"value": "x"}]}, op="WRITE",
                  resource_type="topic", name="t", principal="User:ANONYMOUS")
        assert ok(broker, "GET", "/topics")["topics"] == []
        wait_until(lambda: "denied User:ANONYMOUS from 127.0.0.1 (listener http) WRITE" in broker.log_text(), 10,
                   "the denial in the broker's log")


def without_authorizer_everything_is_allowed(build_dir):
    """No [authorizer]: every route works as before, for anyone."""
    broker = Broker(build_dir, kafka=False, http=True, topics_toml="[topics.t]\npartitions = 1\n")
    with broker:
        produce(broker, "t", ["v0", "v1"], None)
        produce(broker, "auto", ["v"], None)  # auto-created
        assert values(broker, "t", None) == ["v0", "v1"]
        assert topic_names(broker, None) >= {"t", "auto"}
        assert {t["name"] for t in ok(broker, "GET", "/cluster")["topics"]} >= {"t", "auto"}
        ok(broker, "GET", "/topics/t")
        ok(broker, "GET", "/topics/t/partitions/0")
        ok(broker, "POST", "/topics", {"name": "made"}, status=201)
        ok(broker, "POST", "/topics/made/partitions", {"count": 2})
        ok(broker, "POST", "/topics/t/partitions/0/delete-records", {"before_offset": 1})
        ok(broker, "POST", "/producers", {}, status=201)
        commit(broker, "g", [("t", 1)], None)
        assert committed(broker, "g", None) == {("t", 1)}
        assert ok(broker, "GET", "/groups/g/lag")["total_lag"] == 1
        assert "g" in ok(broker, "GET", "/groups")["groups"]
        assert [r["value"] for r in ok(broker, "GET", "/groups/g/topics/t/records")["records"]] == ["v1"]
        ok(broker, "DELETE", "/groups/g", status=204)
        ok(broker, "DELETE", "/topics/made", status=204)


def main():
    args = parse_args()
    topics = "".join(f"[topics.{t}]\npartitions = 1\n" for t in TOPICS)
    broker = Broker(args.build_dir, kafka_toml='security_protocol = "SASL_PLAINTEXT"', http=True,
                    http_toml='authentication = "basic"',
                    topics_toml="[topic_defaults]\npartitions = 1\n" + topics + AUTHORIZER)
    os.makedirs(broker.data_dir, exist_ok=True)
    add_users(args.build_dir, broker.data_dir)
    with broker:
        status = run_cases(broker, TESTS)
        assert broker.alive(), "broker died"
    for case in (anonymous_without_http_authentication, without_authorizer_everything_is_allowed):
        try:
            case(args.build_dir)
            print(f"PASS {case.__name__}")
        except Exception as e:  # report each, then fail the run
            status = 1
            print(f"FAIL {case.__name__}: {type(e).__name__}: {e}")
    return status


if __name__ == "__main__":
    sys.exit(main())
