#!/usr/bin/env python3
"""bench/fsync_concurrency.py: how fdatasync latency grows when several
processes sync at once on one file system, as the three brokers of
bench/cluster_cost.py do on one machine (issue 13's p50 target).

    python3 bench/fsync_concurrency.py [--dir DIR] [--syncs N] [--procs 1,3]

Each process appends 100-byte records to its own file in DIR (default: a
temporary directory under /tmp, the file system the benchmarks' brokers use)
and fdatasyncs after every one, as a partition under flush_mode
"every-batch" does for a lone record; `prealloc` files are first
posix_fallocate'd (segments with `preallocate`). Prints p50/p99/p99.9 of the
fdatasync calls per process and the median over processes, for each
process count. Nothing else should run meanwhile.
"""
import argparse
import multiprocessing
import os
import tempfile
import time


def one(path, syncs, prealloc, start, out):
    fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o644)
    try:
        if prealloc:
            os.posix_fallocate(fd, 0, syncs * 100 + 4096)
            os.fsync(fd)
        record = b"x" * 100
        took = []
        start.wait()
        for i in range(syncs):
            os.pwrite(fd, record, i * 100)
            t = time.perf_counter()
            os.fdatasync(fd)
            took.append((time.perf_counter() - t) * 1e6)
        took.sort()
        out.put([took[int(len(took) * q)] for q in (0.5, 0.99, 0.999)])
    finally:
        os.close(fd)
        os.unlink(path)


def run(directory, procs, syncs, prealloc):
    start = multiprocessing.Barrier(procs)
    out = multiprocessing.Queue()
    ps = [multiprocessing.Process(target=one, args=(os.path.join(directory, "sync-{}.dat".format(i)), syncs,
                                                    prealloc, start, out)) for i in range(procs)]
    for p in ps:
        p.start()
    rows = [out.get() for _ in ps]
    for p in ps:
        p.join()
    return sorted(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", help="where the files go (default: a new directory under /tmp)")
    ap.add_argument("--syncs", type=int, default=3000, help="fdatasyncs per process (3000)")
    ap.add_argument("--procs", default="1,3", help="process counts to run, comma-separated (1,3)")
    args = ap.parse_args()
    directory = args.dir or tempfile.mkdtemp(prefix="keel-fsync.")
    print("fdatasync of a 100 B append, {} per process, in {}".format(args.syncs, directory))
    print("| files | processes | p50 us (median over processes) | p99 us | p99.9 us |")
    print("|---|---|---|---|---|")
    for prealloc in (False, True):
        for n in (int(x) for x in args.procs.split(",")):
            rows = run(directory, n, args.syncs, prealloc)
            mid = rows[len(rows) // 2]
            print("| {} | {} | {:.0f} | {:.0f} | {:.0f} |".format("preallocated" if prealloc else "appended", n,
                                                              mid[0], mid[1], mid[2]))
    if not args.dir:
        os.rmdir(directory)


if __name__ == "__main__":
    main()
