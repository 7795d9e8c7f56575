"""Touch the machine's free memory once, so benchmarks see steady state.

On a fresh VM (this project's benchmark machines are Firecracker/KVM guests)
the first write to each page of guest RAM faults all the way to the host and
is 5-14x slower than later writes to the same page (docs/performance.md,
"What limits Keel against the targets"). A broker that has run for a while
writes into page-cache pages that were used before; a benchmark right after
boot writes into fresh ones and measures the hypervisor. Writing a file of
most of the available memory to /dev/shm (tmpfs, so RAM) and removing it
touches those pages once; the kernel then reuses them.

    python3 bench/peers/prefault.py [--fraction 0.8]

It prints how fast the pass went: ~0.7 GB/s means the memory was fresh,
several GB/s means it had been touched already.
"""
import argparse
import os
import time

CHUNK = 1 << 20


def available_bytes():
    for line in open("/proc/meminfo"):
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no MemAvailable in /proc/meminfo")


def prefault(fraction=0.8, log=print, path="/dev/shm/keel-prefault"):
    """Writes fraction x MemAvailable to a tmpfs file, then removes it.
    Returns (bytes, seconds)."""
    total = int(available_bytes() * fraction) // CHUNK * CHUNK
    block = b"\0" * CHUNK
    started = time.monotonic()
    written = 0
    try:
        with open(path, "wb", buffering=0) as f:
            while written < total:
                f.write(block)
                written += CHUNK
    finally:
        if os.path.exists(path):
            os.remove(path)
    seconds = time.monotonic() - started
    log("prefault: touched {:.1f} GiB of memory once in {:.1f} s ({:.2f} GB/s)".format(
        written / (1 << 30), seconds, written / seconds / 1e9))
    return written, seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fraction", type=float, default=0.8, help="of MemAvailable to touch (0.8)")
    args = ap.parse_args()
    if not 0 < args.fraction <= 0.95:
        ap.error("--fraction must be in (0, 0.95]: the machine needs some memory left")
    prefault(args.fraction)


if __name__ == "__main__":
    main()
