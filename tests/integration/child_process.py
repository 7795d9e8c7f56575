"""A child process that tests crash and freeze (python3 standard library
only, Linux /proc): SIGKILL, and SIGSTOP and SIGCONT that return once they
took effect. kill(2) only queues a signal: a test that checks "a stopped
process does not answer" right after sending SIGSTOP could still be
answered. Every thread is checked, since a multi-threaded process is stopped
only once all its threads are."""
import os
import signal
import time


def thread_states(pid):
    """The state letter of each of `pid`'s threads (R, S, D, T, Z, ...)."""
    states = []
    task_dir = f"/proc/{pid}/task"
    for tid in os.listdir(task_dir):
        try:
            with open(f"{task_dir}/{tid}/stat") as f:
                # "tid (comm) state ...": comm may hold spaces and parentheses
                states.append(f.read().rsplit(")", 1)[1].split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # the thread ended meanwhile
    return states


def _wait_states(proc, stopped, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"pid {proc.pid} exited with {proc.returncode} while waiting for it to be {what}")
        try:
            states = thread_states(proc.pid)
        except FileNotFoundError:  # gone: poll() reports it next round
            states = []
        if states and all((s == "T") == stopped for s in states):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"pid {proc.pid} was not {what} {timeout}s after the signal (threads: {states})")
        time.sleep(0.005)  # poll interval


def pause(proc, timeout=10):
    """SIGSTOP `proc` (a subprocess.Popen); returns once every thread is stopped."""
    proc.send_signal(signal.SIGSTOP)
    _wait_states(proc, True, timeout, "stopped")


def resume(proc, timeout=10):
    """SIGCONT `proc`; returns once no thread is stopped any more."""
    proc.send_signal(signal.SIGCONT)
    _wait_states(proc, False, timeout, "running again")


class ChildProcess:
    """Holds `proc` (a subprocess.Popen, None before the first start)."""

    proc = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL (if it runs) and reap."""
        if self.alive():
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait()

    def stop(self):
        """SIGSTOP: frozen until cont(); returns once every thread stopped."""
        pause(self.proc)

    def cont(self):
        """SIGCONT; returns once it runs again."""
        resume(self.proc)
