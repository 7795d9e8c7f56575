"""keel-tool progress on stderr (kernel/tools/progress.hpp): produce -n,
verify, dump and salvage show a redrawn progress line (percent, rate) and a
final summary when stderr is a terminal (a pseudo-terminal here), nothing
when stderr is piped or with --no-progress under a terminal, whole lines with
--progress into a pipe; dump's stdout never carries any of it, and on a
terminal shared with stdout each stdout line starts on a clean line.
"""
import os
import pty
import re
import subprocess
import tty
import unittest

import it_support
from it_support import make_workdir, write_config

RECORDS = 30000
# A progress line: verb, a percent and a rate.
PROGRESS_LINE = re.compile(r"\r\x1b\[K(produce|verify|dump|salvage)  .*\d+%  [0-9.]+ (B|KiB|MiB|GiB)/s|"
                           r"\r\x1b\[Kproduce  .*\d+%  \d+ records/s")


def run_on_pty(args, stdout_too=False):
    """Runs keel-tool with stderr (and stdout if `stdout_too`) on a
    pseudo-terminal. Returns (exit code, stdout text, terminal text)."""
    master, slave = pty.openpty()
    tty.setraw(slave)  # no "\n" -> "\r\n": what the tool wrote, byte for byte
    proc = subprocess.Popen([it_support.PATHS.tool, *args], stdin=subprocess.DEVNULL,
                            stdout=slave if stdout_too else subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: every writer of the terminal is gone
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    out = b"" if stdout_too else proc.stdout.read()
    if proc.stdout:
        proc.stdout.close()
    rc = proc.wait(timeout=120)
    return rc, out.decode(errors="replace"), b"".join(chunks).decode(errors="replace")


def run_piped(args):
    p = subprocess.run([it_support.PATHS.tool, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, errors="replace", timeout=120)
    return p.returncode, p.stdout, p.stderr


class ToolProgressTest(unittest.TestCase):
    def setUp(self):
        self.work = make_workdir(self)
        self.data = os.path.join(self.work, "data")
        self.config = write_config(os.path.join(self.work, "keel.toml"), self.data,
                                   body="[topics.t]\npartitions = 2\nsegment_bytes = 262144\n")

    def produce(self, *extra, on_pty=True):
        args = ["produce", "-c", self.config, "-t", "t", "-n", str(RECORDS), "--size", "100", "-b", "100",
                "--acks", "1", *extra]
        return run_on_pty(args) if on_pty else run_piped(args)

    def segments(self):
        out = []
        for d in sorted(os.listdir(self.data)):
            p = os.path.join(self.data, d)
            if os.path.isdir(p) and d.startswith("t-"):
                out += [os.path.join(p, n) for n in sorted(os.listdir(p)) if n.endswith(".log")]
        return out

    def assert_progress(self, text, verb, summary):
        lines = [m.group(0) for m in PROGRESS_LINE.finditer(text)]
        self.assertTrue(any(verb in line for line in lines), f"no {verb} progress line in {text[-2000:]!r}")
        self.assertRegex(text, summary)
        self.assertTrue(text.endswith("\n"), "the summary ends the output")

    def test_progress_on_a_terminal(self):
        rc, out, term = self.produce()
        self.assertEqual(rc, 0, term)
        self.assertEqual(out.count("acked "), RECORDS // 100)
        self.assert_progress(term, "produce", rf"\r\x1b\[Kproduce: {RECORDS} records of {RECORDS} \(100%\) in "
                                              r"[0-9.:s]+, \d+ records/s\n")
        self.assertIn("topic t", term)
        self.assertGreater(len(self.segments()), 4)

        rc, out, term = run_on_pty(["verify", "-c", self.config])
        self.assertEqual(rc, 0, out + term)
        self.assertIn("no damage found", out)
        total = sum(os.path.getsize(s) for s in self.segments())
        self.assertGreater(total, 3 << 20)
        self.assert_progress(term, "verify", r"\r\x1b\[Kverify: [0-9.]+ MiB of [0-9.]+ MiB \(100%\) in [0-9.:s]+, "
                                             r"[0-9.]+ [KMG]?i?B/s\n")
        self.assertRegex(term, r"  [\w.-]+-\d+/\d{20}\.log")  # what is being read
        self.assertNotIn("\r", out)

        segment = self.segments()[0]
        rc, out, term = run_on_pty(["dump", segment])
        self.assertEqual(rc, 0, out + term)
        self.assert_progress(term, "dump", r"\r\x1b\[Kdump: [0-9.]+ KiB of [0-9.]+ KiB \(100%\) in ")
        # stdout, as another program would read it: only batch lines.
        batch_lines = out.splitlines()
        self.assertGreater(len(batch_lines), 10)
        for line in batch_lines:
            self.assertRegex(line, r"^position \d+ offsets \d+\.\.\d+ records \d+ .* ok$")

        rc, out, term = run_on_pty(["salvage", segment, os.path.join(self.work, "copy.log")])
        self.assertEqual(rc, 0, out + term)
        self.assert_progress(term, "salvage", r"\r\x1b\[Ksalvage: [0-9.]+ KiB of [0-9.]+ KiB \(100%\) in ")

    def test_a_terminal_shared_with_stdout_gets_clean_lines(self):
        rc, _, term = self.produce()
        self.assertEqual(rc, 0, term)
        rc, _, term = run_on_pty(["dump", self.segments()[0]], stdout_too=True)
        self.assertEqual(rc, 0, term)
        shown = 0
        for raw in term.split("\n")[:-1]:
            # What a terminal shows of the line: what follows the last '\r',
            # after the clear-to-end-of-line.
            visible = raw.rsplit("\r", 1)[-1].removeprefix("\x1b[K")
            self.assertRegex(visible, r"^(position \d+ |dump: )", f"mixed line {raw!r}")
            shown += visible.startswith("position ")
        self.assertGreater(shown, 10)
        self.assertIn("dump: ", term)

    def test_no_progress_when_piped_or_turned_off(self):
        rc, out, err = self.produce(on_pty=False)
        self.assertEqual(rc, 0, err)
        self.assertEqual(err, "")
        segment = self.segments()[0]
        for args in (["verify", "-c", self.config], ["dump", segment]):
            rc, out, err = run_piped(args)
            self.assertEqual(rc, 0, err)
            self.assertEqual(err, "", f"keel-tool {args[0]} wrote to a piped stderr")
            self.assertNotIn("\r", out)
            self.assertNotIn("%", out)
        # --no-progress wins over a terminal.
        for args in (["verify", "--no-progress", "-c", self.config], ["dump", "--no-progress", segment]):
            rc, out, term = run_on_pty(args)
            self.assertEqual(rc, 0, term)
            self.assertEqual(term, "", f"keel-tool {' '.join(args)} drew progress")
        rc, _, term = self.produce("--no-progress")
        self.assertEqual(rc, 0, term)
        self.assertEqual(term, "")
        # --progress into a pipe (a log file): whole lines, no escapes.
        rc, out, err = run_piped(["verify", "--progress", "-c", self.config])
        self.assertEqual(rc, 0, err)
        self.assertRegex(err, r"(?m)^verify  [0-9.]+ (B|KiB|MiB) / [0-9.]+ MiB  \d+%  ")
        self.assertRegex(err, r"(?m)^verify: [0-9.]+ MiB of [0-9.]+ MiB \(100%\) in ")
        self.assertNotIn("\r", err)
        self.assertNotIn("\x1b", err)


if __name__ == "__main__":
    it_support.main()
