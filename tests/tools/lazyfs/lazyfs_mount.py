"""Mounts keel-lazyfs for a test and cuts its power (python3 standard library).

A test that needs lazyfs calls `require_or_skip(build_dir)` first: when the
binary was not built (no libfuse3), /dev/fuse is missing or a probe mount
fails, it prints why and exits with SKIP_CODE, which ctest reports as
skipped (never as passed).
"""
import os
import shutil
import subprocess
import sys
import tempfile

# The integration harness's condition wait (a deadline, no fixed sleeps).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "integration"))
from keel_harness import wait_until  # noqa: E402

SKIP_CODE = 77
CTL = ".lazyfs-ctl"


def binary(build_dir):
    return os.path.join(build_dir, "tests", "tools", "keel-lazyfs")


class LazyFs:
    """One keel-lazyfs process mounting `backing` on `mountpoint`.

    mount() adopts what `backing` holds as durable (a reboot); power_cut()
    drops what was not fsync'd and turns the mount off (EIO); unmount() ends
    the process. After a power cut `backing` holds what the disk would.
    """

    def __init__(self, build_dir, backing, mountpoint, metadata="posix", log_path=None):
        self.exe = binary(build_dir)
        self.backing = backing
        self.mountpoint = mountpoint
        self.metadata = metadata
        self.log_path = log_path or os.path.join(os.path.dirname(os.path.abspath(backing)), "lazyfs.log")
        self.proc = None
        os.makedirs(backing, exist_ok=True)
        os.makedirs(mountpoint, exist_ok=True)

    def log_text(self):
        with open(self.log_path, errors="replace") as f:  # mount() created it
            return f.read()

    def mount(self, timeout=10):
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen([self.exe, f"--metadata={self.metadata}", self.backing, self.mountpoint, "-f"],
                                         stdout=log, stderr=subprocess.STDOUT)

        def mounted():
            if self.proc.poll() is not None:
                raise AssertionError(f"keel-lazyfs exited with {self.proc.returncode} before mounting:\n"
                                     + self.log_text()[-2000:])
            return os.path.ismount(self.mountpoint)

        wait_until(mounted, timeout, f"keel-lazyfs to mount {self.mountpoint}")
        return self

    def control(self, command):
        with open(os.path.join(self.mountpoint, CTL), "w") as f:
            f.write(command + "\n")

    def status(self):
        """The counters of the control file as a dict of ints (and 'power')."""
        with open(os.path.join(self.mountpoint, CTL)) as f:
            pairs = (line.split() for line in f.read().splitlines() if line.strip())
            return {k: (v if k == "power" else int(v)) for k, v in pairs}

    def power_cut(self):
        self.control("crash")

    def unmount(self, timeout=30):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            # The broker just killed may still hold the mount for a moment.
            try:
                wait_until(lambda: subprocess.run(["fusermount3", "-u", self.mountpoint],
                                                  stderr=subprocess.PIPE).returncode == 0,
                           timeout, f"{self.mountpoint} to unmount")
            except AssertionError:
                subprocess.run(["fusermount3", "-u", "-z", self.mountpoint])
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("keel-lazyfs did not exit after unmount")
        self.proc = None

    def reboot(self):
        """Unmount after a power cut and mount again on what the disk held."""
        self.unmount()
        return self.mount()


def unavailable_reason(build_dir):
    """Why lazyfs cannot be used here, or None when a probe mount works."""
    if not os.access(binary(build_dir), os.X_OK):
        return f"{binary(build_dir)} was not built (install libfuse3-dev and fuse3: scripts/install-deps.sh)"
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse does not exist (FUSE is not available in this machine or container)"
    if shutil.which("fusermount3") is None:
        return "fusermount3 is not installed (Debian package fuse3)"
    probe = tempfile.mkdtemp(prefix="keel-lazyfs-probe-")
    fs = LazyFs(build_dir, os.path.join(probe, "backing"), os.path.join(probe, "mnt"))
    try:
        fs.mount()
        fs.status()
        return None
    except (AssertionError, OSError) as e:
        return f"a probe mount of keel-lazyfs failed: {e}"
    finally:
        try:
            fs.unmount()
        finally:
            shutil.rmtree(probe, ignore_errors=True)


def require_or_skip(build_dir):
    reason = unavailable_reason(build_dir)
    if reason:
        print(f"SKIPPED: {reason}", flush=True)
        sys.exit(SKIP_CODE)
