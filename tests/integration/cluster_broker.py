"""One `keel` broker of a test Cluster (cluster_harness.py): a child
process with a generated config, its log file, and the signals a test sends
it (python3 standard library only)."""
import os
import signal
import subprocess

from keel_harness import LoopbackAddresses, check_no_sanitizer_report, exit_code_past_lsan_crash, read_log, wait_until
from child_process import ChildProcess

LOG_TAIL = 3000  # characters of a log put in an error message


class ClusterBroker(ChildProcess, LoopbackAddresses):
    """One broker of a Cluster: its ports, paths, process and links. Its log
    file (stdout and stderr) is appended across restarts.

    kafka_port is where clients and other brokers reach it (its Kafka
    LinkProxy, `kafka_link`, when the cluster has them; the port it
    advertises), kafka_listen_port where it binds itself."""

    def __init__(self, keel, broker_id, workdir, kafka_port, kafka_listen_port, http_port, data_dir=None):
        self.keel = keel
        self.id = broker_id
        self.workdir = workdir
        self.data_dir = data_dir or os.path.join(workdir, "data")
        self.config_path = os.path.join(workdir, "keel.toml")
        self.log_path = os.path.join(workdir, "keel.log")
        self.kafka_port = kafka_port
        self.kafka_listen_port = kafka_listen_port
        self.http_port = http_port
        self.kafka_link = None  # LinkProxy in front of its Kafka listener, or None
        self.etcd_links = []  # one LinkProxy per etcd member, its only way to etcd
        # Where it binds its replication listener, and the LinkProxy in front
        # of it (the port it advertises to followers), or None.
        self.replication_listen_port = None
        self.replication_link = None
        self.proc = None
        self.paused = False
        self._log_offset = 0

    def launch(self):
        if self.alive():
            raise AssertionError(f"broker {self.id} is already running (pid {self.proc.pid})")
        self._log_offset = len(self.log_text())
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen([self.keel, "--config", self.config_path], stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.paused = False

    def output(self):
        """The current run's part of the log."""
        return self.log_text()[self._log_offset:]

    def logged(self, text):
        """Whether the current run logged `text`; fails if it exited."""
        if text in self.output():
            return True
        if self.proc.poll() is not None:
            raise AssertionError(f"broker {self.id} exited with {self.proc.returncode} before logging {text!r}:\n"
                                 + self.output()[-LOG_TAIL:])
        return False

    def wait_for_log(self, text, timeout=30):
        wait_until(lambda: self.logged(text), timeout, f"{text!r} in broker {self.id}'s log")

    def kill(self):
        """SIGKILL; fails on a sanitizer report in the run's log."""
        super().kill()
        self.paused = False
        if self.proc is not None:
            check_no_sanitizer_report(self.output(), f"broker {self.id}")

    def stop(self):
        super().stop()
        self.paused = True

    def cont(self):
        super().cont()
        self.paused = False

    def terminate(self, timeout=30):
        """SIGTERM (and SIGCONT if stopped); fails unless it exits 0 within
        `timeout` without a sanitizer report."""
        if not self.alive():
            return
        self.proc.send_signal(signal.SIGTERM)
        self.proc.send_signal(signal.SIGCONT)  # if stopped
        self.paused = False
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"broker {self.id} did not stop within {timeout}s of SIGTERM:\n"
                                 + self.output()[-LOG_TAIL:])
        check_no_sanitizer_report(self.output(), f"broker {self.id}")
        if exit_code_past_lsan_crash(code, self.output(), f"broker {self.id}") != 0:
            raise AssertionError(f"broker {self.id} exited with {code} on SIGTERM:\n" + self.output()[-LOG_TAIL:])

    def log_text(self):
        return read_log(self.log_path)
