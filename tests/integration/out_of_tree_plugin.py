"""The SDK as an out-of-tree author uses it: install Keel to a prefix once,
build each example under sdk/examples against that prefix only, and run a
real broker on the resulting plugins, driven through keel-tool, HTTP and a
plain socket."""
import json
import os
import re
import shutil
import socket
import unittest
import subprocess
import tempfile
import urllib.request

import it_support
from it_support import BrokerProcess, make_workdir, run, tool, wait_until, write_config
from keel_harness import free_port

PARTITIONER_TOPIC = """
[topics.t]
partitions = 4
partitioner = "fixed"

[topics.t.plugins.fixed]
partition = 2
"""


def run_with_input(cmd, text, timeout=60):
    p = subprocess.run(cmd, input=text, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout


class OutOfTreePlugin(unittest.TestCase):
    prefix = None

    @classmethod
    def setUpClass(cls):
        work = tempfile.mkdtemp(prefix="keel-integ-sdk-")
        if not os.environ.get("KEEL_IT_KEEP"):
            cls.addClassCleanup(shutil.rmtree, work, True)
        cls.prefix = os.path.join(work, "prefix")
        rc, out = run(["cmake", "--install", it_support.PATHS.build_dir, "--prefix", cls.prefix], timeout=300)
        if rc != 0:
            raise AssertionError(f"installing Keel failed:\n{out[-4000:]}")

    def step(self, cmd, what, timeout=300):
        rc, out = run(cmd, timeout=timeout)
        self.assertEqual(rc, 0, f"{what} failed ({' '.join(cmd)}):\n{out[-4000:]}")
        return out

    def build_example(self, name, *cmake_args):
        """Configures and builds sdk/examples/<name> against the installed
        prefix only; returns its build directory."""
        work = make_workdir(self)
        example = os.path.join(it_support.PATHS.source_dir, "sdk", "examples", name)
        build = os.path.join(work, "build")
        self.step(["cmake", "-S", example, "-B", build, f"-DCMAKE_PREFIX_PATH={self.prefix}",
                   "-DCMAKE_BUILD_TYPE=RelWithDebInfo", *cmake_args], f"configuring {name}")
        self.step(["cmake", "--build", build, "-j2"], f"building {name}")
        return build

    def start_broker(self, plugin_dir, body):
        work = make_workdir(self)
        cfg = write_config(os.path.join(work, "keel.toml"), os.path.join(work, "data"),
                           plugin_path=[plugin_dir, it_support.PATHS.plugins], body=body)
        broker = BrokerProcess(cfg, os.path.join(work, "keel.log"))
        self.addCleanup(broker.kill)
        broker.start_ready()
        return cfg, broker

    def test_install_holds_headers_and_cmake_package(self):
        for f in ("include/keel/plugin.h", "include/keel/plugin.hpp", "include/keel/record_batch.hpp",
                  "include/keel/codec.hpp"):
            self.assertTrue(os.path.isfile(os.path.join(self.prefix, f)), f"{f} not installed")
        cmake_dir = next((os.path.join(self.prefix, lib, "cmake", "KeelSDK") for lib in ("lib", "lib64")
                          if os.path.isdir(os.path.join(self.prefix, lib, "cmake", "KeelSDK"))), None)
        self.assertIsNotNone(cmake_dir, "no lib/cmake/KeelSDK under the install prefix")
        for f in ("KeelSDKConfig.cmake", "KeelSDKConfigVersion.cmake", "KeelPlugin.cmake", "KeelSDKTargets.cmake",
                  "KeelCodecTargets.cmake", "KeelCodecDependencies.cmake"):
            self.assertTrue(os.path.isfile(os.path.join(cmake_dir, f)), f"{f} not installed")

    def test_partitioner_builds_without_pkg_config_or_codecs_and_runs(self):
        # Without the codec component the package must not look for
        # pkg-config or zlib: forbid both, the build must still work.
        build = self.build_example("fixed-partitioner", "-DCMAKE_DISABLE_FIND_PACKAGE_PkgConfig=ON",
                                   "-DCMAKE_DISABLE_FIND_PACKAGE_ZLIB=ON")
        so = os.path.join(build, "keel-partitioner-fixed.so")
        self.assertTrue(os.path.isfile(so), f"the example did not produce {so}")

        work = make_workdir(self)
        cfg = write_config(os.path.join(work, "keel.toml"), os.path.join(work, "data"),
                           plugin_path=[build, it_support.PATHS.plugins], body=PARTITIONER_TOPIC)
        out = tool("produce", "-c", cfg, "-t", "t", "-n", "50", "-k", "anykey")
        acks = [line.split() for line in out.splitlines() if line.startswith("acked ")]
        self.assertEqual(len(acks), 50, out)
        self.assertEqual({a[1] for a in acks}, {"2"}, f"every record should go to partition 2:\n{out}")
        rows = tool("consume", "-c", cfg, "-t", "t", "-p", "2").splitlines()
        self.assertEqual(len([r for r in rows if re.match(r"^\d+\t-?\d+\tanykey\t", r)]), 50)

        broker = BrokerProcess(cfg, os.path.join(work, "keel.log"))
        self.addCleanup(broker.kill)
        broker.start_ready()
        self.assertRegex(broker.output(), r"loaded plugin 'fixed-partitioner' 1\.0\.0 \(ABI 2\.7\) from "
                         + re.escape(so))
        self.assertEqual(broker.terminate(), 0, broker.output())

    def test_codec_component_missing_dependencies_fail_with_a_message(self):
        # The transport asks for COMPONENTS codec: with pkg-config hidden the
        # package must say what is missing instead of failing obscurely.
        work = make_workdir(self)
        example = os.path.join(it_support.PATHS.source_dir, "sdk", "examples", "line-transport")
        rc, out = run(["cmake", "-S", example, "-B", os.path.join(work, "b"), f"-DCMAKE_PREFIX_PATH={self.prefix}",
                       "-DCMAKE_DISABLE_FIND_PACKAGE_PkgConfig=ON"], timeout=300)
        self.assertNotEqual(rc, 0, out)
        self.assertIn("component 'codec' needs pkg-config", out)

    def test_plugin_built_for_abi_2_0_loads_on_the_2_2_broker(self):
        build = self.build_example("fixed-partitioner", "-DKEEL_TARGET_ABI_MINOR=0")
        so = os.path.join(build, "keel-partitioner-fixed.so")
        cfg, broker = self.start_broker(build, PARTITIONER_TOPIC)
        self.assertRegex(broker.output(), r"loaded plugin 'fixed-partitioner' 1\.0\.0 \(ABI 2\.0\) from "
                         + re.escape(so))
        self.assertEqual(broker.terminate(), 0, broker.output())
        # ... and the broker uses it: every record lands on partition 2.
        out = tool("produce", "-c", cfg, "-t", "t", "-n", "5", "-k", "k")
        self.assertEqual({line.split()[1] for line in out.splitlines() if line.startswith("acked ")}, {"2"}, out)

    def test_transport_older_than_authorization_is_refused_with_an_authorizer(self):
        # A transport built for ABI 2.4 cannot ask the authorizer (2.5): with
        # an [authorizer] its clients would bypass every rule, so the broker
        # refuses to start rather than serve them; without one it loads.
        build = self.build_example("line-transport", "-DKEEL_TARGET_ABI_MINOR=4")
        work = make_workdir(self)
        body = f'[transports.line]\nlisten = "127.0.0.1:{free_port()}"\n'
        cfg = write_config(os.path.join(work, "keel.toml"), os.path.join(work, "data"),
                           plugin_path=[build, it_support.PATHS.plugins],
                           body=body + '\n[authorizer]\nstrategy = "acl"\n')
        broker = BrokerProcess(cfg, os.path.join(work, "keel.log"))
        self.addCleanup(broker.kill)
        broker.start()
        self.assertEqual(broker.wait_exit(), 2, broker.output())
        self.assertIn("transport 'line' (plugin 'line-transport', built for ABI 2.4) cannot ask the [authorizer]",
                      broker.output())
        cfg = write_config(os.path.join(work, "plain.toml"), os.path.join(work, "data2"),
                           plugin_path=[build, it_support.PATHS.plugins], body=body)
        broker = BrokerProcess(cfg, os.path.join(work, "plain.log"))
        self.addCleanup(broker.kill)
        broker.start_ready()
        self.assertEqual(broker.terminate(), 0, broker.output())

    def test_plugin_built_for_abi_1_is_refused_with_the_way_to_migrate(self):
        # tests/plugins/abi1_plugin.cpp: a descriptor in the 1.x layout.
        bad_dir = os.path.join(it_support.PATHS.build_dir, "tests", "plugins", "out")
        so = os.path.join(bad_dir, "keel-partitioner-test-abi1.so")
        self.assertTrue(os.path.isfile(so), f"{so} is missing: build the tests (KEEL_BUILD_TESTS=ON)")
        work = make_workdir(self)
        cfg = write_config(os.path.join(work, "keel.toml"), os.path.join(work, "data"),
                           plugin_path=[bad_dir, it_support.PATHS.plugins],
                           body='[topics.t]\npartitioner = "test-abi1"\n')
        broker = BrokerProcess(cfg, os.path.join(work, "keel.log"))
        self.addCleanup(broker.kill)
        broker.start()
        # A plugin that cannot be loaded is a configuration error (exit 2,
        # docs/operations.md "Exit codes").
        self.assertEqual(broker.wait_exit(), 2, broker.output())
        self.assertIn(f"plugin '{so}' was built for Keel plugin ABI 1.", broker.output())
        self.assertIn("rebuild it against the Keel SDK 2.x (see docs/plugins.md, \"Migrating from 1.x\")",
                      broker.output())

    def http_broker(self, plugin_dir, body, broker_toml=""):
        """A broker with HTTP on a free port; `broker_toml` goes into [broker]."""
        port = free_port()
        _, broker = self.start_broker(
            plugin_dir, f'{broker_toml}\n\n[transports.http]\nlisten = "127.0.0.1:{port}"\n\n{body}')
        return f"http://127.0.0.1:{port}", broker

    @staticmethod
    def http(url, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url + path, data=data, method="POST" if data else "GET",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    def produce(self, url, topic, values):
        """One POST, so one batch; returns the offsets."""
        answer = self.http(url, f"/topics/{topic}/records", {"records": [{"value": v} for v in values]})
        return [r["offset"] for r in answer["records"]]

    def test_max_segments_retention_drops_old_segments(self):
        build = self.build_example("max-segments-retention")
        url, broker = self.http_broker(build, """
[topics.r]
segment_bytes = 1024
retention = ["max-segments"]

[topics.r.plugins.max-segments]
max_segments = 2
""", broker_toml="retention_check_ms = 50")
        value = lambda i: f"value-{i:04d}-" + "x" * 150  # noqa: E731
        for i in range(40):  # one ~230-byte batch each: a 1 KiB segment holds 4
            self.assertEqual(self.produce(url, "r", [value(i)]), [i])

        def trimmed():
            p = self.http(url, "/topics/r/partitions/0")
            return p["log_start_offset"] > 0 and p["segments"] <= 2
        wait_until(trimmed, 30, "max-segments to leave at most 2 segments")
        p = self.http(url, "/topics/r/partitions/0")
        self.assertEqual(p["high_watermark"], 40, p)
        self.assertGreaterEqual(p["log_start_offset"], 30, f"2 segments of 4 batches at most remain: {p}")
        start = p["log_start_offset"]
        first = self.http(url, f"/topics/r/partitions/0/records?offset={start}&max_records=1")
        self.assertEqual(first["records"][0]["value"], value(start))
        self.assertIn("loaded plugin 'max-segments-retention' 1.0.0 (ABI 2.7)", broker.output())
        self.assertEqual(broker.terminate(), 0, broker.output())

    def test_memory_index_serves_fetches_from_any_offset(self):
        build = self.build_example("memory-index")
        url, broker = self.http_broker(build, """
[topics.m]
index = ["memory"]
segment_bytes = 4096

[topics.m.plugins.memory]
every_batches = 3
""")
        value = lambda i: f"m-{i}"  # noqa: E731
        for first in range(0, 300, 5):  # batches of 5 records over several segments
            self.assertEqual(self.produce(url, "m", [value(i) for i in range(first, first + 5)]),
                             list(range(first, first + 5)))
        p = self.http(url, "/topics/m/partitions/0")
        self.assertGreater(p["segments"], 1, p)
        self.assertGreater(p["index_entries"], 0, f"the memory index holds no entry: {p}")
        for offset in (0, 1, 4, 5, 14, 15, 16, 99, 150, 222, 298, 299):
            got = self.http(url, f"/topics/m/partitions/0/records?offset={offset}&max_records=2")
            self.assertEqual([r["offset"] for r in got["records"]], [o for o in (offset, offset + 1) if o < 300],
                             got)
            self.assertEqual(got["records"][0]["value"], value(offset), got)
        self.assertIn("loaded plugin 'memory-index' 1.0.0 (ABI 2.7)", broker.output())
        self.assertEqual(broker.terminate(), 0, broker.output())

    def test_line_transport_produces_and_reads_back(self):
        build = self.build_example("line-transport")
        line_port, kafka_port = free_port(), free_port()
        url, broker = self.http_broker(build, f"""
[transports.line]
listen = "127.0.0.1:{line_port}"

[transports.kafka]
listen = "127.0.0.1:{kafka_port}"

[topics.l]
partitions = 1
""", broker_toml="auto_create_topics = false")
        with socket.create_connection(("127.0.0.1", line_port), timeout=30) as s:
            f = s.makefile("rw", newline="\n")

            def ask(line):
                f.write(line + "\n")
                f.flush()
                return f.readline().rstrip("\n")
            self.assertEqual(ask("PUT l hello world"), "OK 0 0")
            self.assertEqual(ask("PUT l second"), "OK 0 1")
            self.assertEqual(ask("GET l 0 0"), "OK 0 hello world")
            self.assertEqual(ask("PUT nosuch x"), "ERR unknown topic 'nosuch'")
            self.assertTrue(ask("FROB").startswith("ERR expected"))
            self.assertTrue(ask("GET l 0 7").startswith("ERR "))
            # A batch a Kafka client compressed reads back too (Keel::codec).
            rc, out = run_with_input(["kcat", "-b", f"127.0.0.1:{kafka_port}", "-P", "-t", "l", "-p", "0",
                                      "-z", "gzip"], "third\nfourth\n")
            self.assertEqual(rc, 0, out)
            self.assertEqual(ask("GET l 0 3"), "OK 3 fourth")
        got = self.http(url, "/topics/l/partitions/0/records?offset=0")
        self.assertEqual([r["value"] for r in got["records"]], ["hello world", "second", "third", "fourth"], got)
        self.assertIn("line transport listening on 127.0.0.1:", broker.output())
        self.assertEqual(broker.terminate(), 0, broker.output())


if __name__ == "__main__":
    it_support.main()
