"""HTTP Basic authentication against the broker's users (issue 15):
[transports.http] authentication = "basic". Probes stay open; every other
route answers 401 with WWW-Authenticate and a JSON error without valid
credentials (none, a wrong password, an unknown user and a malformed header
read alike); with them, produce and consume work; /metrics opens only with
metrics_public; the password never reaches the log; a burst of 300 wrong
passwords leaves the broker serving.
"""
import base64
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keel_harness import Broker, parse_args  # noqa: E402


def call(broker, method, path, body=None, auth=None, header=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(broker.http_url + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if auth is not None:
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    if header is not None:
        req.add_header("Authorization", header)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def assert_unauthorized(answer, what):
    status, headers, body = answer
    assert status == 401, (what, status, body)
    assert headers.get("WWW-Authenticate", "").startswith("Basic realm=\"keel\""), (what, headers)
    err = json.loads(body)
    assert err["error"]["code"] == "unauthorized", (what, err)
    return err["error"]["message"]


def add_user(build_dir, data_dir, user, password):
    out = subprocess.run([os.path.join(build_dir, "kernel", "keel-tool"), "user", "add", user, "-d", data_dir,
                          "--iterations", "4096"], input=password + "\n", capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr


def main():
    args = parse_args()
    broker = Broker(args.build_dir, kafka=False, http=True, http_toml='authentication = "basic"')
    os.makedirs(broker.data_dir, exist_ok=True)
    add_user(args.build_dir, broker.data_dir, "alice", "alice-secret")
    alice = ("alice", "alice-secret")
    with broker:
        for probe in ("/health", "/ready"):
            assert call(broker, "GET", probe)[0] == 200, probe
        assert_unauthorized(call(broker, "GET", "/topics"), "no credentials")
        assert_unauthorized(call(broker, "GET", "/metrics"), "metrics without credentials")
        m1 = assert_unauthorized(call(broker, "GET", "/topics", auth=("alice", "wrong")), "wrong password")
        m2 = assert_unauthorized(call(broker, "GET", "/topics", auth=("mallory", "x")), "unknown user")
        assert m1.replace("alice", "U") == m2.replace("mallory", "U"), (m1, m2)
        for header in ("Bearer abc", "Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Basic"):
            assert_unauthorized(call(broker, "GET", "/topics", header=header), header)
        assert_unauthorized(call(broker, "POST", "/topics/t/records", {"records": [{"value": "x"}]}),
                            "produce without credentials")
        print("ok: probes open; no, wrong, unknown and malformed credentials get 401 alike")

        status, _, body = call(broker, "POST", "/topics/t/records", {"records": [{"value": "v0"}, {"value": "v1"}]},
                               auth=alice)
        assert status == 200, body
        status, _, body = call(broker, "GET", "/topics/t/partitions/0/records?offset=0", auth=alice)
        assert status == 200 and [r["value"] for r in json.loads(body)["records"]] == ["v0", "v1"], body
        print("ok: produce and consume with valid credentials")

        for _ in range(300):
            assert call(broker, "GET", "/topics", auth=("alice", "wrong"))[0] == 401
        status, _, metrics = call(broker, "GET", "/metrics", auth=alice)
        assert status == 200
        failed = [line for line in metrics.decode().splitlines()
                  if line.startswith("keel_authentications_total") and 'result="failed"' in line]
        assert failed and float(failed[0].split()[-1]) >= 301, failed
        assert call(broker, "GET", "/topics", auth=alice)[0] == 200
        assert "alice-secret" not in broker.log_text()
        assert "HTTP Basic authentication failed" in broker.log_text()
        print("ok: 300 wrong passwords counted and logged (rate-limited), good requests still served")

    public = Broker(args.build_dir, kafka=False, http=True,
                    http_toml='authentication = "basic"\nmetrics_public = true')
    with public:
        assert call(public, "GET", "/metrics")[0] == 200
        assert_unauthorized(call(public, "GET", "/topics"), "metrics_public opens /metrics only")
    print("ok: metrics_public opens /metrics and nothing else")

    bad = Broker(args.build_dir, kafka=False, http=True, http_toml='authentication = "digest"')
    out = subprocess.run([os.path.join(args.build_dir, "kernel", "keel"), "--config", bad.config_path,
                          "--check-config"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and 'authentication must be "none" or "basic"' in out.stdout + out.stderr, out
    print("ok: an unknown authentication is a configuration error")
    return 0


if __name__ == "__main__":
    sys.exit(main())
