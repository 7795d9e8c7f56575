"""TLS on the Kafka listener (issue 15), with certificates the test makes with
the openssl CLI and real clients (kcat/librdkafka, kafka-python):
- SSL: produce and consume, including a fetch of stored batches large enough
  to go through TLS in several records (no sendfile there);
- SASL_SSL with SCRAM-SHA-512 (kcat) and SCRAM-SHA-256 (kafka-python);
- a client that does not trust the certificate, a plaintext client on the
  TLS port and a TLS client on a plaintext port each fail, and the broker
  stays up and says why;
- mutual TLS (ssl_client_auth = "required"): no client certificate, or one
  from another CA, fails; a signed one works;
- a renewed certificate is picked up without a restart;
- HTTPS on the HTTP transport, with Basic authentication.
"""
import base64
import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keel_harness import Broker, parse_args, wait_until  # noqa: E402
from test_ports import free_port  # noqa: E402

try:
    import kafka  # noqa: F401
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")
from kafka import KafkaConsumer, KafkaProducer  # noqa: E402
from kafka import errors as kerrors  # noqa: E402


def openssl(*args, cwd):
    out = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"openssl {' '.join(args)}: {out.stderr}"


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=d)


def make_cert(d, ca, name, cn, server):
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}/O=Keel tests",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
    ext = os.path.join(d, f"{name}.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n" if server else "extendedKeyUsage=clientAuth\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", f"{name}.pem", cwd=d)


def make_expired_cert(d, ca, name, cn, server):
    """A certificate of `ca` valid only in January 2020 (`openssl ca` can
    back-date one; `openssl x509 -req` cannot)."""
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}/O=Keel tests",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
    db = os.path.join(d, f"{name}-ca-db")
    os.makedirs(os.path.join(db, "new"), exist_ok=True)
    open(os.path.join(db, "index.txt"), "w").close()
    with open(os.path.join(db, "serial"), "w") as f:
        f.write("1000\n")
    with open(os.path.join(db, "ca.cnf"), "w") as f:
        f.write(f"[ca]\ndefault_ca = keel\n[keel]\ndatabase = {db}/index.txt\nnew_certs_dir = {db}/new\n"
                f"serial = {db}/serial\ndefault_md = sha256\npolicy = any\n[any]\ncommonName = supplied\n"
                "organizationName = optional\n")
    ext = os.path.join(d, f"{name}.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n" if server else "extendedKeyUsage=clientAuth\n")
    openssl("ca", "-batch", "-notext", "-config", os.path.join(db, "ca.cnf"), "-cert", f"{ca}.pem", "-keyfile",
            f"{ca}.key", "-in", f"{name}.csr", "-out", f"{name}.pem", "-startdate", "20200101000000Z",
            "-enddate", "20200201000000Z", "-extfile", ext, cwd=d)


def kcat(broker, args, props, stdin=None):
    extra = []
    for k, v in props.items():
        extra += ["-X", f"{k}={v}"]
    return subprocess.run(["kcat", "-b", broker.bootstrap, *extra, *args], input=stdin, capture_output=True,
                          text=True, timeout=60)


def round_trip(broker, props, topic, count=5, size=0):
    values = [(f"{topic}-{i}-" + "x" * size) for i in range(count)]
    out = kcat(broker, ["-P", "-t", topic, "-p", "0"], props, stdin="\n".join(values) + "\n")
    assert out.returncode == 0, f"produce over {props}: {out.stderr}"
    out = kcat(broker, ["-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q"], props)
    assert out.returncode == 0, f"consume over {props}: {out.stderr}"
    got = out.stdout.split("\n")
    assert got[:count] == values, (topic, len(got), got[:3])


def refused(broker, props, what):
    out = kcat(broker, ["-L", "-m", "5"], props)
    assert out.returncode != 0, f"{what}: kcat succeeded"
    assert broker.alive(), what
    return out.stderr


def add_alice(build_dir, broker):
    os.makedirs(broker.data_dir, exist_ok=True)
    out = subprocess.run([os.path.join(build_dir, "kernel", "keel-tool"), "user", "add", "alice", "-d",
                          broker.data_dir, "--iterations", "4096"], input="alice-secret\n", capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr


def main():
    args = parse_args()
    d = tempfile.mkdtemp(prefix="keel-tls-")
    make_ca(d, "ca")
    make_ca(d, "other-ca")
    make_cert(d, "ca", "server", "127.0.0.1", server=True)
    make_cert(d, "ca", "alice", "alice", server=False)
    make_cert(d, "other-ca", "mallory", "mallory", server=False)
    make_cert(d, "other-ca", "server2", "127.0.0.1", server=True)
    make_expired_cert(d, "ca", "expired-server", "127.0.0.1", server=True)
    make_expired_cert(d, "ca", "expired-alice", "alice", server=False)
    # The broker reads copies, so that the renewal below can replace them.
    shutil.copy(os.path.join(d, "server.pem"), os.path.join(d, "live.pem"))
    shutil.copy(os.path.join(d, "server.key"), os.path.join(d, "live.key"))
    ca = os.path.join(d, "ca.pem")
    tls = {"security.protocol": "SSL", "ssl.ca.location": ca}
    files = (f'ssl_certificate = "{d}/live.pem"\nssl_key = "{d}/live.key"\n')

    # ---- SSL
    with Broker(args.build_dir, kafka_toml=f'security_protocol = "SSL"\n{files}ssl_reload_interval_ms = 200\n',
                topics_toml="[topic_defaults]\npartitions = 1\n") as broker:
        assert "SSL, TLS client certificates none" in broker.log_text()
        round_trip(broker, tls, "tls-small")
        # 3,000 records of ~1 KiB: several MB of stored batches read and
        # encrypted per fetch.
        round_trip(broker, tls, "tls-large", count=3000, size=1000)
        print("ok: SSL produce and consume, small and large fetches")

        err = refused(broker, {"security.protocol": "SSL", "ssl.ca.location": os.path.join(d, "other-ca.pem")},
                      "a client that does not trust the certificate")
        assert "certificate verify failed" in err.lower() or "ssl" in err.lower(), err
        refused(broker, {}, "a plaintext client on the TLS port")
        wait_until(lambda: "TLS handshake failed" in broker.log_text(), 10, "the broker to log the failed handshake")
        print("ok: untrusted certificate and plaintext client refused, broker up")

        # Renewal: a certificate from another CA replaces the files; new
        # connections get it (clients trusting that CA now succeed).
        shutil.copy(os.path.join(d, "server2.key"), os.path.join(d, "live.key.tmp"))
        shutil.copy(os.path.join(d, "server2.pem"), os.path.join(d, "live.pem.tmp"))
        os.replace(os.path.join(d, "live.key.tmp"), os.path.join(d, "live.key"))
        os.replace(os.path.join(d, "live.pem.tmp"), os.path.join(d, "live.pem"))
        other = {"security.protocol": "SSL", "ssl.ca.location": os.path.join(d, "other-ca.pem")}

        def renewed():
            return kcat(broker, ["-L", "-m", "5"], other).returncode == 0
        wait_until(renewed, 20, "the renewed certificate to be served")
        assert "TLS certificate files changed" in broker.log_text()
        print("ok: a renewed certificate is served without a restart")

        # A renewal that does not load (a key that is not the certificate's)
        # is refused with a warning; the certificate before stays in use.
        shutil.copy(os.path.join(d, "alice.key"), os.path.join(d, "live.key.tmp"))
        os.replace(os.path.join(d, "live.key.tmp"), os.path.join(d, "live.key"))
        wait_until(lambda: kcat(broker, ["-L", "-m", "5"], other).returncode == 0
                   and "keeping the certificate loaded before" in broker.log_text(), 20,
                   "the broken renewal to be refused")
        print("ok: a broken renewal keeps the certificate before")

    # ---- an expired certificate: clients that trust its CA refuse it
    expired = f'security_protocol = "SSL"\nssl_certificate = "{d}/expired-server.pem"\nssl_key = "{d}/expired-server.key"\n'
    with Broker(args.build_dir, kafka_toml=expired) as broker:
        err = refused(broker, tls, "an expired broker certificate")
        assert "expired" in err.lower() or "certificate verify failed" in err.lower(), err
        cfg = dict(bootstrap_servers=broker.bootstrap, security_protocol="SSL", ssl_cafile=ca,
                   ssl_check_hostname=False, request_timeout_ms=5000, api_version_auto_timeout_ms=5000)
        try:
            KafkaProducer(**cfg).close()
            raise AssertionError("kafka-python accepted an expired broker certificate")
        except ssl.SSLCertVerificationError as e:
            assert "expired" in str(e), e
        except kerrors.NoBrokersAvailable:
            pass  # kafka-python versions that wrap the TLS error
        assert broker.alive()
    print("ok: an expired broker certificate is refused by kcat and kafka-python")

    # ---- TLS client on a plaintext port
    with Broker(args.build_dir) as plain:
        refused(plain, tls, "a TLS client on a plaintext port")
    print("ok: a TLS client on a plaintext port fails")

    # ---- SASL_SSL
    sasl_broker = Broker(args.build_dir, kafka_toml=f'security_protocol = "SASL_SSL"\n'
                         f'ssl_certificate = "{d}/server.pem"\nssl_key = "{d}/server.key"\n',
                         topics_toml="[topic_defaults]\npartitions = 1\n")
    add_alice(args.build_dir, sasl_broker)
    with sasl_broker as broker:
        scram = {**tls, "security.protocol": "SASL_SSL", "sasl.mechanisms": "SCRAM-SHA-512",
                 "sasl.username": "alice", "sasl.password": "alice-secret"}
        round_trip(broker, scram, "sasl-ssl")
        err = refused(broker, {**scram, "sasl.password": "wrong"}, "SASL_SSL with a wrong password")
        assert "authentication" in err.lower(), err
        cfg = dict(bootstrap_servers=broker.bootstrap, security_protocol="SASL_SSL", ssl_cafile=ca,
                   ssl_check_hostname=False, sasl_mechanism="SCRAM-SHA-256", sasl_plain_username="alice",
                   sasl_plain_password="alice-secret", request_timeout_ms=10000)
        producer = KafkaProducer(acks="all", **cfg)
        try:
            for i in range(3):
                producer.send("py-sasl-ssl", value=b"v%d" % i, partition=0).get(timeout=10)
        finally:
            producer.close()
        consumer = KafkaConsumer("py-sasl-ssl", auto_offset_reset="earliest", consumer_timeout_ms=5000, **cfg)
        try:
            got = [m.value for m in consumer]
        finally:
            consumer.close()
        assert got == [b"v0", b"v1", b"v2"], got
    print("ok: SASL_SSL with SCRAM (kcat SHA-512, kafka-python SHA-256); a wrong password fails")

    # ---- mutual TLS
    mtls = f'security_protocol = "SSL"\n{files}ssl_ca = "{ca}"\nssl_client_auth = "required"\n'
    shutil.copy(os.path.join(d, "server.pem"), os.path.join(d, "live.pem"))
    shutil.copy(os.path.join(d, "server.key"), os.path.join(d, "live.key"))
    with Broker(args.build_dir, kafka_toml=mtls, topics_toml="[topic_defaults]\npartitions = 1\n") as broker:
        refused(broker, tls, "no client certificate")
        refused(broker, {**tls, "ssl.certificate.location": os.path.join(d, "mallory.pem"),
                         "ssl.key.location": os.path.join(d, "mallory.key")}, "a client certificate of another CA")
        err = refused(broker, {**tls, "ssl.certificate.location": os.path.join(d, "expired-alice.pem"),
                               "ssl.key.location": os.path.join(d, "expired-alice.key")},
                      "an expired client certificate")
        assert "expired" in err.lower(), err
        round_trip(broker, {**tls, "ssl.certificate.location": os.path.join(d, "alice.pem"),
                            "ssl.key.location": os.path.join(d, "alice.key")}, "mtls")
    print("ok: mutual TLS: no, a foreign or an expired client certificate fails, a signed one works")

    # ---- two listeners: PLAINTEXT on one port, SASL_SSL on another
    p1, p2 = free_port(), free_port()
    both = Broker(args.build_dir, kafka=False, http=True,
                  topics_toml=f'[transports.kafka]\nlisteners = "PLAINTEXT://127.0.0.1:{p1},SASL_SSL://127.0.0.1:{p2}"\n'
                              f'ssl_certificate = "{d}/server.pem"\nssl_key = "{d}/server.key"\n\n'
                              '[topic_defaults]\npartitions = 1\n')
    add_alice(args.build_dir, both)
    with both as broker:
        plain = type("Addr", (), {"bootstrap": f"127.0.0.1:{p1}"})()
        secure = type("Addr", (), {"bootstrap": f"127.0.0.1:{p2}"})()
        scram = {**tls, "security.protocol": "SASL_SSL", "sasl.mechanisms": "SCRAM-SHA-512",
                 "sasl.username": "alice", "sasl.password": "alice-secret"}
        round_trip(plain, {}, "two-listeners")
        round_trip(secure, scram, "two-listeners-secure")
        # Each listener's clients are told that listener's address.
        out = kcat(plain, ["-L", "-m", "5"], {})
        assert f"broker 0 at 127.0.0.1:{p1}" in out.stdout, out.stdout
        out = kcat(secure, ["-L", "-m", "5"], scram)
        assert f"broker 0 at 127.0.0.1:{p2}" in out.stdout, out.stdout
        assert kcat(secure, ["-L", "-m", "5"], {}).returncode != 0  # plaintext on the SASL_SSL port
        with urllib.request.urlopen(f"{broker.http_url}/metrics", timeout=10) as r:
            metrics = r.read().decode()
        assert 'keel_open_connections{transport="kafka",listener="SASL_SSL"}' in metrics, metrics[:3000]
        assert 'keel_open_connections{transport="kafka",listener="PLAINTEXT"}' in metrics
    print("ok: PLAINTEXT and SASL_SSL listeners side by side, each advertising its own address")
    for listeners, extra, message in (
            (f"PLAINTEXT://127.0.0.1:{p1},PLAINTEXT://127.0.0.1:{p2}", "", "names PLAINTEXT twice"),
            (f"TLS://127.0.0.1:{p1}", "", "must be PROTOCOL://host:port"),
            (f"PLAINTEXT://127.0.0.1:{p1}", f'listen = "127.0.0.1:{p2}"\n', "either listen")):
        bad = Broker(args.build_dir, kafka=False,
                     topics_toml=f'[transports.kafka]\nlisteners = "{listeners}"\n{extra}')
        out = subprocess.run([os.path.join(args.build_dir, "kernel", "keel"), "--config", bad.config_path,
                              "--check-config"], capture_output=True, text=True, timeout=30)
        assert out.returncode == 2 and message in out.stdout + out.stderr, (listeners, out.stdout, out.stderr)
    print("ok: listeners mistakes are named by --check-config")

    # ---- HTTPS with Basic authentication
    https = Broker(args.build_dir, kafka=False, http=True,
                   http_toml=f'tls = true\nssl_certificate = "{d}/server.pem"\nssl_key = "{d}/server.key"\n'
                             'authentication = "basic"\n')
    add_alice(args.build_dir, https)
    with https as broker:
        assert "HTTPS listening on" in broker.log_text()
        url = f"https://127.0.0.1:{broker.http_port}"
        trusted = ssl.create_default_context(cafile=ca)
        with urllib.request.urlopen(url + "/health", context=trusted, timeout=10) as r:
            assert r.status == 200
        auth = "Basic " + base64.b64encode(b"alice:alice-secret").decode()
        req = urllib.request.Request(url + "/topics/h/records", method="POST",
                                     data=json.dumps({"records": [{"value": "over https"}]}).encode(),
                                     headers={"Content-Type": "application/json", "Authorization": auth})
        with urllib.request.urlopen(req, context=trusted, timeout=10) as r:
            assert r.status == 200
        req = urllib.request.Request(url + "/topics/h/partitions/0/records?offset=0", headers={"Authorization": auth})
        with urllib.request.urlopen(req, context=trusted, timeout=10) as r:
            assert [x["value"] for x in json.loads(r.read())["records"]] == ["over https"]
        try:
            urllib.request.urlopen(url + "/topics", context=trusted, timeout=10)
            raise AssertionError("HTTPS without credentials was served")
        except urllib.error.HTTPError as e:
            assert e.code == 401
        untrusted = ssl.create_default_context(cafile=os.path.join(d, "other-ca.pem"))
        try:
            urllib.request.urlopen(url + "/health", context=untrusted, timeout=10)
            raise AssertionError("a client that does not trust the certificate was served")
        except urllib.error.URLError as e:
            assert "certificate verify failed" in str(e).lower(), e
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{broker.http_port}/health", timeout=10)
            raise AssertionError("plain HTTP on the HTTPS port was served")
        except (urllib.error.URLError, ConnectionError, http.client.HTTPException):
            pass
        wait_until(lambda: "TLS handshake failed" in broker.log_text(), 10, "the failed handshake in the log")
        assert broker.alive()
    print("ok: HTTPS with Basic authentication; untrusted and plain-HTTP clients refused")

    # ---- a configuration mistake is named at start
    bad = Broker(args.build_dir, kafka_toml=f'security_protocol = "SSL"\nssl_certificate = "{d}/server.pem"\n'
                 f'ssl_key = "{d}/alice.key"\n')
    for extra in ([], ["--check-config"]):
        out = subprocess.run([os.path.join(args.build_dir, "kernel", "keel"), "--config", bad.config_path, *extra],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 2 and "is not the key of ssl_certificate" in out.stdout + out.stderr, (
            extra, out.returncode, out.stdout[-2000:], out.stderr[-2000:])
    print("ok: a key that does not match the certificate stops the start (and --check-config) with a message")
    shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
