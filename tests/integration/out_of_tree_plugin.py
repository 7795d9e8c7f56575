"""The SDK as an out-of-tree author uses it: install Keel to a prefix, build
sdk/examples/fixed-partitioner against that prefix only, and run a topic on
the resulting plugin, through keel-tool and through the broker."""
import os
import re
import unittest

import it_support
from it_support import BrokerProcess, make_workdir, run, tool, write_config


class OutOfTreePlugin(unittest.TestCase):
    def step(self, cmd, what, timeout=300):
        rc, out = run(cmd, timeout=timeout)
        self.assertEqual(rc, 0, f"{what} failed ({' '.join(cmd)}):\n{out[-4000:]}")
        return out

    def test_example_plugin_builds_against_the_installed_sdk_and_runs(self):
        paths = it_support.PATHS
        work = make_workdir(self)
        prefix = os.path.join(work, "prefix")
        self.step(["cmake", "--install", paths.build_dir, "--prefix", prefix], "installing Keel")
        for f in ("include/keel/plugin.h", "include/keel/plugin.hpp", "include/keel/record_batch.hpp"):
            self.assertTrue(os.path.isfile(os.path.join(prefix, f)), f"{f} not installed")
        cmake_dir = next((os.path.join(prefix, lib, "cmake", "KeelSDK") for lib in ("lib", "lib64")
                          if os.path.isdir(os.path.join(prefix, lib, "cmake", "KeelSDK"))), None)
        self.assertIsNotNone(cmake_dir, "no lib/cmake/KeelSDK under the install prefix")
        for f in ("KeelSDKConfig.cmake", "KeelSDKConfigVersion.cmake", "KeelPlugin.cmake"):
            self.assertTrue(os.path.isfile(os.path.join(cmake_dir, f)), f"{f} not installed")

        example = os.path.join(paths.source_dir, "sdk", "examples", "fixed-partitioner")
        plugin_build = os.path.join(work, "fixed-build")
        self.step(["cmake", "-S", example, "-B", plugin_build, f"-DCMAKE_PREFIX_PATH={prefix}",
                   "-DCMAKE_BUILD_TYPE=RelWithDebInfo"], "configuring the example")
        self.step(["cmake", "--build", plugin_build, "-j2"], "building the example")
        so = os.path.join(plugin_build, "keel-partitioner-fixed.so")
        self.assertTrue(os.path.isfile(so), f"the example did not produce {so}")

        data = os.path.join(work, "data")
        cfg = write_config(os.path.join(work, "keel.toml"), data, plugin_path=[plugin_build, paths.plugins], body="""
[topics.t]
partitions = 4
partitioner = "fixed"

[topics.t.plugins.fixed]
partition = 2
""")
        out = tool("produce", "-c", cfg, "-t", "t", "-n", "50", "-k", "anykey")
        acks = [line.split() for line in out.splitlines() if line.startswith("acked ")]
        self.assertEqual(len(acks), 50, out)
        self.assertEqual({a[1] for a in acks}, {"2"}, f"every record should go to partition 2:\n{out}")
        rows = tool("consume", "-c", cfg, "-t", "t", "-p", "2").splitlines()
        self.assertEqual(len([r for r in rows if re.match(r"^\d+\t-?\d+\tanykey\t", r)]), 50)

        broker = BrokerProcess(cfg, os.path.join(work, "keel.log"))
        self.addCleanup(broker.kill)
        broker.start_ready()
        self.assertRegex(broker.output(), r"loaded plugin 'fixed-partitioner' .* from " + re.escape(so))
        self.assertEqual(broker.terminate(), 0, broker.output())


if __name__ == "__main__":
    it_support.main()
