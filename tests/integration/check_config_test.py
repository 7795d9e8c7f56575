"""`keel --check-config` and the exit codes of bad configurations, with the
real executable and the built plugins.

- A good config: exit 0 and a summary, while the configured Kafka port is
  held by this test (a check that bound it would fail) and without creating
  the data dir; the same config really started fails on that port with 1.
- Mistakes (an unknown strategy, a value a plugin refuses, a key no plugin
  reads): exit 2, every problem listed at once with file:line and a "did you
  mean"; starting the broker with them exits 2 too, before the data dir is
  made.
- [cluster] replication_advertised_port: a port accepted, 70000 refused
  with its line.
- keel-tool: the same codes (2 for that config, 3 beside a running broker).
"""
import os
import re
import socket

import it_support
from it_support import BrokerProcess, make_workdir, run, write_config
from test_ports import free_port

import unittest

EXIT_OK, EXIT_FAILURE, EXIT_CONFIG, EXIT_DATA_DIR_LOCKED = 0, 1, 2, 3


class CheckConfig(unittest.TestCase):
    def setUp(self):
        self.work = make_workdir(self)
        self.data = os.path.join(self.work, "data")
        self.cfg = os.path.join(self.work, "keel.toml")

    def keel(self, *args):
        return run([it_support.PATHS.keel, "--config", self.cfg, *args], timeout=60)

    def line_of(self, text):
        """1-based line of the config file that contains `text`."""
        with open(self.cfg) as f:
            for number, line in enumerate(f, 1):
                if text in line:
                    return number
        raise AssertionError(f"{text!r} is not in {self.cfg}")

    def test_good_config_starts_nothing(self):
        kafka_port, http_port = free_port(), free_port()
        write_config(self.cfg, self.data, body=f"""
[topics.orders]
partitions = 3
[topics.orders.plugins.time]
retention_ms = 3600000

[topics.clicks]
partitioner = "round-robin"

[transports.kafka]
listen = "127.0.0.1:{kafka_port}"
[transports.http]
listen = "127.0.0.1:{http_port}"
""")
        with socket.socket() as held:
            # The check must not even try to bind: with the port taken, a
            # check that started the transport would fail.
            held.bind(("127.0.0.1", kafka_port))
            held.listen()
            rc, out = self.keel("--check-config")
            self.assertEqual(rc, EXIT_OK, out)
            self.assertIn(f"configuration OK: 2 topics, transports kafka on 127.0.0.1:{kafka_port}, "
                          f"http on 127.0.0.1:{http_port}", out)
            self.assertIn("orders (3 partitions)", out)
            self.assertFalse(os.path.exists(self.data), "--check-config created the data dir")

            # Started for real, the same config does bind, and fails: a
            # runtime failure, not a configuration error.
            rc, out = self.keel()
            self.assertEqual(rc, EXIT_FAILURE, out)
            self.assertIn(str(kafka_port), out)
        with socket.socket() as s:
            s.bind(("127.0.0.1", http_port))  # free again: nothing kept it

    def expect_config_error(self, body, *args):
        write_config(self.cfg, self.data, body=body)
        rc, out = self.keel(*args)
        self.assertEqual(rc, EXIT_CONFIG, out)
        self.assertFalse(os.path.exists(self.data), "a refused configuration must not create the data dir")
        self.assertNotIn("broker ready", out)
        return out

    def test_unknown_strategies_get_file_line_and_a_suggestion(self):
        body = """
[topics.orders]
partitioner = "key-hsh"

[topics.clicks]
retention = ["time", "sise"]

[transports.htp]
"""
        for args in (("--check-config",), ()):
            out = self.expect_config_error(body, *args)
            self.assertIn("3 problems", out)
            at = f"{re.escape(self.cfg)}:{self.line_of('key-hsh')}:\\d+: "
            self.assertRegex(out, at + re.escape(
                "topic 'orders': unknown partitioner strategy 'key-hsh'; did you mean 'key-hash'? "
                "(available partitioner strategies: key-hash, round-robin;"))
            at = f"{re.escape(self.cfg)}:{self.line_of('sise')}:\\d+: "
            self.assertRegex(out, at + re.escape("topic 'clicks': unknown retention strategy 'sise'; "
                                                 "did you mean 'size'?"))
            at = f"{re.escape(self.cfg)}:{self.line_of('[transports.htp]')}:\\d+: "
            self.assertRegex(out, at + re.escape("transport 'htp': unknown transport strategy 'htp'; "
                                                 "did you mean 'http'?"))

    def test_settings_a_plugin_refuses_are_listed_with_their_lines(self):
        body = """
[topics.orders]
retention = ["time"]
[topics.orders.plugins.time]
retention_ms = "soon"

[transports.kafka]
listen = "127.0.0.1:0"
lisen = "127.0.0.1:9092"
"""
        for args in (("--check-config",), ()):
            out = self.expect_config_error(body, *args)
            self.assertIn("2 problems", out)
            self.assertIn(f"key 'retention_ms' in [topics.orders.plugins.time] ({self.cfg}:{self.line_of('soon')}:",
                          out)
            self.assertIn("expects an integer", out)
            self.assertIn(f"unknown key 'lisen' in [transports.kafka] ({self.cfg}:{self.line_of('lisen')}:", out)

    def test_replication_advertised_port(self):
        # A proxy's port in front of the replication listener: accepted; a
        # port that cannot exist: refused with the key's line, before any
        # listener or data dir.
        cluster = '[cluster]\nbroker_id = 1\ncoordinator = "standalone"\nreplication_listen = "127.0.0.1:0"\n'
        write_config(self.cfg, self.data, body=cluster + "replication_advertised_port = 19093\n")
        rc, out = self.keel("--check-config")
        self.assertEqual(rc, EXIT_OK, out)
        self.assertFalse(os.path.exists(self.data), "--check-config created the data dir")
        for args in (("--check-config",), ()):
            out = self.expect_config_error(cluster + "replication_advertised_port = 70000\n", *args)
            self.assertIn(f"{self.cfg}:{self.line_of('70000')}:31: [cluster] replication_advertised_port must be "
                          "between 0 and 65535, got 70000", out)

    def test_syntax_error_is_a_configuration_error_too(self):
        out = self.expect_config_error("[topics.orders]\npartitions = = 2\n", "--check-config")
        self.assertRegex(out, re.escape(self.cfg) + f":{self.line_of('= =')}:\\d+: invalid TOML")

    def test_keel_tool_uses_the_same_exit_codes(self):
        write_config(self.cfg, self.data, body='[topics.orders]\npartitioner = "key-hsh"\n')
        rc, out = run([it_support.PATHS.tool, "produce", "-c", self.cfg, "-t", "orders"], timeout=60)
        self.assertEqual(rc, EXIT_CONFIG, out)
        self.assertIn("did you mean 'key-hash'?", out)
        self.assertFalse(os.path.exists(self.data), "a refused configuration must not create the data dir")

        write_config(self.cfg, self.data, body="[topics.orders]\n")
        broker = BrokerProcess(self.cfg, os.path.join(self.work, "keel.log"))
        self.addCleanup(broker.kill)
        broker.start_ready()
        rc, out = run([it_support.PATHS.tool, "produce", "-c", self.cfg, "-t", "orders"], timeout=60)
        self.assertEqual(rc, EXIT_DATA_DIR_LOCKED, out)
        self.assertIn("is in use by another Keel broker", out)
        self.assertEqual(broker.terminate(), EXIT_OK, broker.output())


if __name__ == "__main__":
    it_support.main()
