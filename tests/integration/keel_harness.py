"""Starts and stops a real `keel` broker for integration tests.

The broker runs as a child process on free loopback ports with its own data
directory; tests talk to it with real clients (kcat, kafka-python, librdkafka,
curl). Nothing here sleeps to wait for state: every wait polls a condition
until a deadline.
"""
import argparse
import contextlib
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time

from test_ports import free_port


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", required=True)
    p.add_argument("--source-dir", required=True)
    return p.parse_args()


@contextlib.contextmanager
def scratch_dir(prefix):
    """A temporary directory, removed when the block succeeds and kept (its
    path printed) when it fails, for inspecting the broker's logs and data."""
    path = tempfile.mkdtemp(prefix=prefix)
    ok = False
    try:
        yield path
        ok = True
    finally:
        if ok:
            shutil.rmtree(path, ignore_errors=True)
        else:
            print(f"kept {path} for inspection")


# How ASan, LSan, UBSan and TSan start a report. In the sanitizer builds
# (scripts/sanitize.sh) a report stops the process (halt_on_error) and goes
# to its stderr, which the broker's log file holds; the harness fails the
# test with it, even when the test itself went on to pass.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer",
                     "ERROR: ThreadSanitizer", ": runtime error: ")


# LeakSanitizer's own tracer, which stops the process to scan it at exit,
# sometimes crashes on its own (google/sanitizers#1353, seen here once in
# CI: "Tracer caught signal 11" with only the main thread left, after a
# clean stop whose test had passed). The process then exits 1 with no leak
# report: the leak check did not run, and nothing of the broker failed.
LSAN_TOOL_CRASH = ("Tracer caught signal", "LeakSanitizer has encountered a fatal error")


def exit_code_past_lsan_crash(code, text, who):
    """`code`, or 0 when the only failure in `text` is LeakSanitizer's own
    tracer crash at exit (said on stdout, so the run's log shows it)."""
    if code == 1 and all(m in text for m in LSAN_TOOL_CRASH) and "ERROR: LeakSanitizer" not in text:
        print(f"note: {who} exited 1 only because LeakSanitizer's tracer crashed at exit "
              "(google/sanitizers#1353); its leak check did not run this time")
        return 0
    return code


def check_no_sanitizer_report(text, who):
    """Raises AssertionError with the first sanitizer report in `text`."""
    found = [i for i in (text.find(m) for m in SANITIZER_MARKERS) if i >= 0]
    if found:
        start = text.rfind("\n", 0, min(found)) + 1
        raise AssertionError(f"sanitizer report from {who}:\n{text[start:start + 12000]}")


def run_cases(broker, cases, after_each=None):
    """Runs every case against one broker, reporting each as PASS or FAIL and
    going on after a failure (stops early only if the broker died), so that
    one run shows every broken case. `after_each(broker)` runs after each
    case and counts as part of it. Returns the process exit code."""
    failed = 0
    for fn in cases:
        try:
            fn(broker)
            if after_each:
                after_each(broker)
            print(f"PASS {fn.__name__}")
        except Exception as e:  # report every case, then fail the run
            failed += 1
            print(f"FAIL {fn.__name__}: {type(e).__name__}: {e}")
            if not broker.alive():
                break
    print(f"{len(cases) - failed} passed, {failed} failed")
    return 1 if failed else 0


def wait_until(condition, timeout, what):
    """Polls `condition` until it returns a truthy value or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def read_log(path):
    """The text of a log file ("" before it exists)."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


class LoopbackAddresses:
    """Where a broker with `kafka_port` and `http_port` on 127.0.0.1 is reached."""

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def http_url(self):
        return f"http://127.0.0.1:{self.http_port}"


class Broker(LoopbackAddresses):
    """A keel process with a generated config.

    `topics_toml` is appended to the config (e.g. "[topics.t]\\npartitions = 4").
    `kafka`/`http` enable the transports on free ports; `kafka_toml`/`http_toml`
    add keys to their tables. `env` adds variables to the broker's
    environment (e.g. KEEL_TEST_CRASH_AT for failure injection).
    `nofile` sets the broker's open-file limit (RLIMIT_NOFILE).
    """

    def __init__(self, build_dir, topics_toml="", kafka=True, http=False, broker_toml="",
                 data_dir=None, workdir=None, kafka_toml="", http_toml="", env=None, nofile=None):
        self.env = dict(env or {})
        self.nofile = nofile
        self.build_dir = os.path.abspath(build_dir)
        self.workdir = workdir or tempfile.mkdtemp(prefix="keel-it-")
        self.data_dir = data_dir or os.path.join(self.workdir, "data")
        self.kafka_port = free_port() if kafka else None
        self.http_port = free_port() if http else None
        self.config_path = os.path.join(self.workdir, "keel.toml")
        self.log_path = os.path.join(self.workdir, "keel.log")
        self.proc = None
        lines = [
            "[broker]",
            f'data_dir = "{self.data_dir}"',
            f'plugin_path = ["{self.build_dir}/plugins"]',
            broker_toml,
            "",
        ]
        if kafka:
            lines += ["[transports.kafka]", f'listen = "127.0.0.1:{self.kafka_port}"', kafka_toml, ""]
        if http:
            lines += ["[transports.http]", f'listen = "127.0.0.1:{self.http_port}"', http_toml, ""]
        lines.append(topics_toml)
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def log_text(self):
        return read_log(self.log_path)

    def start(self, timeout=30, extra_args=()):
        self._log_offset = len(self.log_text())
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [os.path.join(self.build_dir, "kernel", "keel"), "--config", self.config_path, *extra_args],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.env},
            preexec_fn=self._limit_files if self.nofile else None)
        log.close()

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"keel exited with {self.proc.returncode} during start-up:\n"
                                     + self.log_text()[-4000:])
            return "broker ready" in self.log_text()[self._log_offset:]
        wait_until(ready, timeout, "the broker to become ready")
        return self

    def _limit_files(self):
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))

    def stop(self, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise AssertionError("keel did not stop within %ss of SIGTERM:\n%s"
                                     % (timeout, self.log_text()[-4000:]))
            check_no_sanitizer_report(self.log_text(), "keel")
            code = exit_code_past_lsan_crash(self.proc.returncode, self.log_text(), "keel")
            assert code == 0, f"keel exited with {self.proc.returncode}:\n" + self.log_text()[-4000:]
        self.proc = None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        check_no_sanitizer_report(self.log_text(), "keel")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if exc[0] is not None:
            print("---- broker log (tail) ----\n" + self.log_text()[-6000:])
            self.kill()  # raises instead if the broker made a sanitizer report
        else:
            self.stop()
