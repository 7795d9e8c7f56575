"""Reading a partition's segment files directly, for tests that compare
replicas' bytes or look at stored batches.

A segment file may go on past its data: an active segment is sized to
segment_bytes up front (preallocate, on by default; the rest is a hole that
reads as zeros), and one written over a recycled file (recycle_segments)
still holds the old file's zeros and older batches after its own. Its data
ends, as the broker's recovery reads it, at a header of zeros, at a batch
whose base offset is below the file's (its name), or where a batch does not
fit. Files are mapped, not read whole: a preallocated one is as large as
segment_bytes (1 GiB by default)."""

import mmap
import os
import struct

HEADER = 12  # base offset (8) + batch length (4)


def segment_logs(partition_dir):
    """The partition's segment log files, oldest first (full paths)."""
    names = sorted(n for n in os.listdir(partition_dir) if n.endswith(".log") and n[:20].isdigit())
    return [os.path.join(partition_dir, n) for n in names]


def batches(path):
    """[(position, base offset, last offset, batch bytes)] of the whole
    batches of one segment file, up to its data's end."""
    file_base = int(os.path.basename(path)[:20])
    out = []
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return out
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            pos = 0
            while pos + 27 <= size:
                base, length = struct.unpack_from(">qi", m, pos)
                end = pos + HEADER + length
                if length <= 0 or base < file_base or end > size:
                    break
                last_delta = struct.unpack_from(">i", m, pos + 23)[0]
                out.append((pos, base, base + last_delta, m[pos:end]))
                pos = end
    return out


def data_bytes(path):
    """The bytes of one segment file's batches (what a closed segment's file
    holds)."""
    return b"".join(b[3] for b in batches(path))


def data_size(path):
    """How many bytes of one segment file are batches."""
    found = batches(path)
    return found[-1][0] + len(found[-1][3]) if found else 0
