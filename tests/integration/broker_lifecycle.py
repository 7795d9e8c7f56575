"""The broker executable's life cycle: help and version, start-up, clean and
unclean stops, the data-dir lock, and the exit codes and messages of bad
configurations and broken plugins."""
import os
import re

import it_support
from it_support import BrokerProcess, make_workdir, run, write_config

import unittest

TOPICS = """
[topics.orders]
partitions = 2

[topics.clicks]
partitioner = "round-robin"
retention = ["time"]
"""


class BrokerLifecycle(unittest.TestCase):
    def setUp(self):
        self.work = make_workdir(self)
        self.data = os.path.join(self.work, "data")
        self.cfg = os.path.join(self.work, "keel.toml")
        self.log = os.path.join(self.work, "keel.log")
        self.brokers = []

    def tearDown(self):
        for b in self.brokers:
            b.kill()

    def broker(self, cfg=None):
        b = BrokerProcess(cfg or self.cfg, self.log)
        self.brokers.append(b)
        return b

    def keel(self, *args):
        return run([it_support.PATHS.keel, *args], timeout=60)

    def test_help_and_version(self):
        rc, out = self.keel("--help")
        self.assertEqual(rc, 0, out)
        for text in ("Usage: keel", "--config", "--data-dir", "--set", "SIGTERM"):
            self.assertIn(text, out, f"--help should mention {text!r}")
        rc, out = self.keel("--version")
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"^keel \d+\.\d+\.\d+ \(plugin ABI 2\.\d+\)\n$")

    def test_clean_and_unclean_restarts(self):
        write_config(self.cfg, self.data, body=TOPICS)
        marker = os.path.join(self.data, ".clean-shutdown")

        b = self.broker().start_ready()
        out = b.output()
        self.assertIn("3 topic(s)", out)  # orders, clicks and the internal __consumer_offsets
        self.assertTrue(os.path.isdir(os.path.join(self.data, "orders-1")), "declared topic not created")
        self.assertTrue(os.path.isdir(os.path.join(self.data, "clicks-0")), "declared topic not created")
        self.assertFalse(os.path.exists(marker), "a running broker must not leave the clean-shutdown marker")
        self.assertNotIn("unclean", out, "a fresh data dir is not an unclean stop")
        self.assertEqual(b.terminate(), 0, b.output())
        self.assertIn("broker stopped cleanly", b.output())
        self.assertTrue(os.path.exists(marker), "SIGTERM must leave the clean-shutdown marker")
        self.assertTrue(os.path.exists(os.path.join(self.data, "recovery-points")))

        b.start_ready()
        self.assertNotIn("unclean", b.output(), "restart after a clean stop warned of an unclean one")
        b.kill()
        self.assertFalse(os.path.exists(marker), "the marker must be gone after SIGKILL")

        b.start_ready()
        self.assertIn("the last stop was unclean", b.output())
        self.assertEqual(b.terminate(), 0, b.output())

    def test_second_broker_on_the_same_data_dir_is_refused(self):
        write_config(self.cfg, self.data, body=TOPICS)
        first = self.broker().start_ready()
        second_log = os.path.join(self.work, "second.log")
        second = BrokerProcess(self.cfg, second_log)
        self.brokers.append(second)
        rc = second.start().wait_exit()
        self.assertNotEqual(rc, 0, "a second broker on a locked data dir must fail")
        self.assertRegex(second.output(), r"data dir '.*' is in use")
        self.assertTrue(first.alive(), "the first broker must keep running")
        self.assertEqual(first.terminate(), 0, first.output())
        self.assertTrue(os.path.exists(os.path.join(self.data, ".clean-shutdown")),
                        "the refused broker must not spoil the first one's clean stop")

    def expect_start_failure(self, rc_expected, body, plugin_path=None):
        write_config(self.cfg, self.data, plugin_path=plugin_path, body=body)
        rc, out = self.keel("--config", self.cfg)
        self.assertEqual(rc, rc_expected, out)
        self.assertNotIn("broker ready", out)
        return out

    def test_toml_syntax_error_names_file_and_line(self):
        out = self.expect_start_failure(2, '[topics.orders]\npartitions = 2\nsegment_bytes = = 4096\n')
        # Line 7: the [broker] table and a blank line take lines 1-4.
        self.assertRegex(out, re.escape(self.cfg) + r":7:\d+: invalid TOML")

    def test_unknown_key_names_key_and_line(self):
        out = self.expect_start_failure(2, "[topics.orders]\npartitions = 2\nsegment_byte = 4096\n")
        self.assertRegex(out, re.escape(self.cfg) + r":7:\d+: .*unknown key 'segment_byte'")

    def test_unknown_strategy_names_it_and_the_plugin_path(self):
        out = self.expect_start_failure(1, '[topics.orders]\npartitioner = "no-such-thing"\n')
        self.assertIn("unknown partitioner strategy 'no-such-thing'", out)
        self.assertIn("keel-partitioner-no-such-thing.so", out)
        self.assertIn(it_support.PATHS.plugins, out, "the message should list the plugin path searched")

    def test_broken_plugin_is_named(self):
        bad_dir = os.path.join(self.work, "bad-plugins")
        os.mkdir(bad_dir)
        bad = os.path.join(bad_dir, "keel-partitioner-broken.so")
        with open(bad, "wb") as f:
            f.write(b"this is not an ELF shared object\n" * 64)
        out = self.expect_start_failure(1, '[topics.orders]\npartitioner = "broken"\n',
                                        plugin_path=[bad_dir, it_support.PATHS.plugins])
        self.assertIn(f"cannot load plugin '{bad}'", out)


if __name__ == "__main__":
    it_support.main()
