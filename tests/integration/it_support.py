"""Shared helpers for the integration tests that run the real `keel` and
`keel-tool` executables (python3 standard library only).

Every test gets its own temporary directory. Nothing here sleeps to wait for
state: waits poll a condition (a log line, a process exit) until a deadline.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

from keel_harness import (check_no_sanitizer_report, exit_code_past_lsan_crash, read_log,  # noqa: F401
                          wait_until)  # wait_until: shared polling


class Paths:
    """Where the build put the executables and built-in plugins."""

    def __init__(self, build_dir, source_dir):
        self.build_dir = os.path.abspath(build_dir)
        self.source_dir = os.path.abspath(source_dir)
        self.keel = os.path.join(self.build_dir, "kernel", "keel")
        self.tool = os.path.join(self.build_dir, "kernel", "keel-tool")
        self.plugins = os.path.join(self.build_dir, "plugins")
        for exe in (self.keel, self.tool):
            if not os.access(exe, os.X_OK):
                raise SystemExit(f"{exe} is missing: build the project first (bash scripts/build.sh)")


PATHS = None  # set by main()


def main():
    """Parses --build-dir/--source-dir, then runs the unittest cases of the
    calling module (any other arguments go to unittest, e.g. -k NAME)."""
    global PATHS
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", required=True)
    p.add_argument("--source-dir", required=True)
    args, rest = p.parse_known_args()
    PATHS = Paths(args.build_dir, args.source_dir)
    unittest.main(module="__main__", argv=[sys.argv[0], "-v", *rest])


def make_workdir(test):
    """A fresh directory removed when `test` ends (kept with KEEL_IT_KEEP=1)."""
    d = tempfile.mkdtemp(prefix="keel-integ-")
    if not os.environ.get("KEEL_IT_KEEP"):
        test.addCleanup(shutil.rmtree, d, True)
    return d


def write_config(path, data_dir, plugin_path=None, body=""):
    """Writes a broker config with `data_dir`, a plugin path (default: the
    built plugins) and the TOML text `body` after the [broker] table."""
    dirs = plugin_path if plugin_path is not None else [PATHS.plugins]
    text = "[broker]\n" f'data_dir = "{data_dir}"\n' f"plugin_path = [{', '.join(repr_toml(d) for d in dirs)}]\n"
    with open(path, "w") as f:
        f.write(text + "\n" + body.strip() + "\n")
    return path


def repr_toml(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run(cmd, timeout=120):
    """Runs to completion; returns (exit code, stdout+stderr text)."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                       timeout=timeout)
    return p.returncode, p.stdout


def tool(*args, timeout=120):
    """Runs keel-tool; fails the test on a non-zero exit. Returns stdout."""
    p = subprocess.run([PATHS.tool, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       errors="replace", timeout=timeout)
    check_no_sanitizer_report(p.stderr, "keel-tool " + " ".join(args))
    if p.returncode != 0:
        raise AssertionError(f"keel-tool {' '.join(args)} exited {p.returncode}:\n{p.stderr[-4000:]}")
    return p.stdout


class BrokerProcess:
    """One `keel` process whose stdout and stderr go to a log file (appended
    across restarts; output() returns only the current run's part)."""

    def __init__(self, config_path, log_path, extra_args=()):
        self.config_path = config_path
        self.log_path = log_path
        self.extra_args = list(extra_args)
        self.proc = None
        self._offset = 0

    def log_text(self):
        return read_log(self.log_path)

    def output(self):
        return self.log_text()[self._offset:]

    def start(self):
        self._offset = len(self.log_text())
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen([PATHS.keel, "--config", self.config_path, *self.extra_args],
                                         stdout=log, stderr=subprocess.STDOUT)
        return self

    def wait_for(self, text, timeout=30):
        """Waits until the current run logged `text`; fails if it exits first."""

        def seen():
            if text in self.output():
                return True
            if self.proc.poll() is not None:
                raise AssertionError(f"keel exited with {self.proc.returncode} before logging {text!r}:\n"
                                     + self.output()[-4000:])
            return False

        wait_until(seen, timeout, f"{text!r} in the broker log")

    def start_ready(self, timeout=30):
        self.start()
        self.wait_for("broker ready", timeout)
        return self

    def wait_exit(self, timeout=30):
        try:
            code = self.proc.wait(timeout)
            check_no_sanitizer_report(self.output(), "keel")
            return exit_code_past_lsan_crash(code, self.output(), "keel")
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"keel did not exit within {timeout}s:\n" + self.output()[-4000:])

    def terminate(self, timeout=30):
        """SIGTERM, then the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        return self.wait_exit(timeout)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        check_no_sanitizer_report(self.output(), "keel")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None
