"""Self test of keel-lazyfs: after a power cut the backing directory holds
exactly what fsync made durable, under both metadata models (posix: a name
is durable after fsync of its directory; journal: after any later fsync).

usage: lazyfs_selftest.py --build-dir BUILD [unittest args]
"""
import argparse
import mmap
import os
import shutil
import sys
import tempfile
import unittest

import lazyfs_mount

BUILD_DIR = None


def fsync_path(path, flags=os.O_RDONLY):
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write(path, data, sync=False, mode="wb"):
    with open(path, mode) as f:
        f.write(data)
        f.flush()
        if sync:
            os.fsync(f.fileno())


class LazyFsCase(unittest.TestCase):
    metadata = "posix"

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="keel-lazyfs-test-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.backing = os.path.join(self.work, "backing")
        os.makedirs(self.backing)
        with open(os.path.join(self.backing, "before"), "wb") as f:
            f.write(b"present at mount")
        self.fs = lazyfs_mount.LazyFs(BUILD_DIR, self.backing, os.path.join(self.work, "mnt"), self.metadata)
        self.fs.mount()
        self.addCleanup(self.fs.unmount)
        self.m = self.fs.mountpoint

    def mnt(self, *parts):
        return os.path.join(self.m, *parts)

    def after_cut(self, *parts):
        return os.path.join(self.backing, *parts)

    def read_after_cut(self, *parts):
        with open(self.after_cut(*parts), "rb") as f:
            return f.read()

    def cut(self):
        self.fs.power_cut()
        self.fs.unmount()


class Data(LazyFsCase):
    """File data: the same under both models (names here are made durable)."""

    def test_fsynced_data_survives_and_later_writes_do_not(self):
        write(self.mnt("before"), b"A" * 10000, sync=True)
        write(self.mnt("before"), b"B" * 5, mode="ab")
        self.assertEqual(self.fs.status()["unsynced_bytes"], 5)
        with open(self.mnt("before"), "rb") as f:
            self.assertEqual(f.read(), b"A" * 10000 + b"B" * 5, "the mount reads back unsynced writes")
        self.cut()
        self.assertEqual(self.read_after_cut("before"), b"A" * 10000)

    def test_unsynced_overwrite_is_undone(self):
        write(self.mnt("before"), b"new content!!!!!", mode="r+b")
        self.cut()
        self.assertEqual(self.read_after_cut("before"), b"present at mount")

    def test_fdatasync_counts_as_fsync(self):
        with open(self.mnt("before"), "ab") as f:
            f.write(b"+tail")
            f.flush()
            os.fdatasync(f.fileno())
        self.cut()
        self.assertEqual(self.read_after_cut("before"), b"present at mount+tail")

    def test_truncate_is_durable_only_after_fsync(self):
        write(self.mnt("before"), b"x" * 4096, sync=True)
        os.truncate(self.mnt("before"), 100)
        self.cut()
        self.assertEqual(len(self.read_after_cut("before")), 4096)

    def test_truncate_then_extend_leaves_zeros_not_old_bytes(self):
        write(self.mnt("before"), b"x" * 4096, sync=True)
        with open(self.mnt("before"), "r+b") as f:
            f.truncate(10)
            f.seek(3000)
            f.write(b"end")
            f.flush()
            os.fsync(f.fileno())
        self.cut()
        self.assertEqual(self.read_after_cut("before"), b"x" * 10 + b"\0" * 2990 + b"end")

    def test_sparse_file_keeps_its_holes_and_data(self):
        with open(self.mnt("sparse"), "wb") as f:
            f.write(b"head")
            f.seek(8 << 20)
            f.write(b"tail")
            f.truncate(10 << 20)
            f.flush()
            os.fsync(f.fileno())
        fsync_path(self.m)
        self.cut()
        data = self.read_after_cut("sparse")
        self.assertEqual(len(data), 10 << 20)
        self.assertEqual(data[:4] + data[8 << 20:(8 << 20) + 4], b"headtail")
        self.assertEqual(data.count(0), len(data) - 8)

    def test_shared_mmap_writes_survive_only_through_msync(self):
        write(self.mnt("before"), b"\0" * 8192, sync=True)
        with open(self.mnt("before"), "r+b") as f:
            mm = mmap.mmap(f.fileno(), 8192)
            mm[0:5] = b"kept!"
            mm.flush()  # msync, then fsync: both pages go through lazyfs
            os.fsync(f.fileno())
            mm[4096:4101] = b"lost!"
            mm.close()
        with open(self.mnt("before"), "rb") as f:
            self.assertEqual(f.read()[4096:4101], b"lost!", "mmap writes are visible through the mount")
        self.cut()
        data = self.read_after_cut("before")
        self.assertEqual(data[0:5], b"kept!")
        self.assertEqual(data[4096:4101], b"\0" * 5)

    def test_mount_is_off_after_the_cut(self):
        self.fs.power_cut()
        with self.assertRaises(OSError):
            write(self.mnt("before"), b"too late")
        self.assertEqual(self.fs.status()["power"], "off")


class PosixNames(LazyFsCase):
    metadata = "posix"

    def test_new_file_needs_fsync_of_its_directory(self):
        write(self.mnt("dir-synced"), b"data", sync=True)
        write(self.mnt("name-only"), b"data")
        fsync_path(self.m)
        write(self.mnt("no-dir-sync"), b"data", sync=True)
        self.cut()
        self.assertEqual(sorted(os.listdir(self.backing)), ["before", "dir-synced", "name-only"])
        self.assertEqual(self.read_after_cut("dir-synced"), b"data")
        self.assertEqual(self.read_after_cut("name-only"), b"", "a durable name without fsync'd data is empty")

    def test_atomic_replace_pattern(self):
        # write_file_atomically: write tmp, fdatasync, rename, fsync dir.
        write(self.mnt("f.tmp"), b"v2", sync=True)
        os.rename(self.mnt("f.tmp"), self.mnt("before"))
        fsync_path(self.m)
        write(self.mnt("g.tmp"), b"unrenamed", sync=True)
        os.rename(self.mnt("g.tmp"), self.mnt("g"))  # no directory fsync
        self.cut()
        self.assertEqual(sorted(os.listdir(self.backing)), ["before"])
        self.assertEqual(self.read_after_cut("before"), b"v2")

    def test_unlink_is_undone_without_directory_fsync(self):
        os.unlink(self.mnt("before"))
        self.cut()
        self.assertEqual(self.read_after_cut("before"), b"present at mount")

    def test_unlink_after_directory_fsync_is_durable_even_if_a_new_file_reuses_the_inode(self):
        write(self.mnt("a"), b"first", sync=True)
        fsync_path(self.m)
        os.unlink(self.mnt("a"))
        write(self.mnt("b"), b"second", sync=True)  # may get a's st_ino
        fsync_path(self.m)
        self.cut()
        self.assertEqual(sorted(os.listdir(self.backing)), ["b", "before"])
        self.assertEqual(self.read_after_cut("b"), b"second")

    def test_new_subdirectory_needs_its_parent_synced_too(self):
        os.mkdir(self.mnt("e"))
        write(self.mnt("e", "f"), b"inside", sync=True)
        fsync_path(self.mnt("e"))
        fsync_path(self.m)
        os.mkdir(self.mnt("e", "late"))
        os.mkdir(self.mnt("d"))
        write(self.mnt("d", "f"), b"inside", sync=True)
        fsync_path(self.mnt("d"))
        self.cut()
        self.assertFalse(os.path.exists(self.after_cut("d")), "d's own name was never synced")
        self.assertEqual(os.listdir(self.after_cut("e")), ["f"])
        self.assertEqual(self.read_after_cut("e", "f"), b"inside")

    def test_directory_rename(self):
        os.mkdir(self.mnt("old"))
        write(self.mnt("old", "f"), b"x", sync=True)
        fsync_path(self.mnt("old"))
        fsync_path(self.m)
        os.rename(self.mnt("old"), self.mnt("new"))
        fsync_path(self.m)
        self.cut()
        self.assertEqual(sorted(os.listdir(self.backing)), ["before", "new"])
        self.assertEqual(self.read_after_cut("new", "f"), b"x")


class JournalNames(LazyFsCase):
    metadata = "journal"

    def test_any_fsync_commits_earlier_name_changes(self):
        os.mkdir(self.mnt("d"))
        write(self.mnt("d", "f"), b"data", sync=True)  # commits mkdir d and create d/f
        os.rename(self.mnt("before"), self.mnt("renamed"))
        write(self.mnt("d", "g"), b"unsynced")  # names after the last fsync are not durable
        self.cut()
        self.assertEqual(sorted(os.listdir(self.backing)), ["before", "d"])
        self.assertEqual(os.listdir(self.after_cut("d")), ["f"])
        self.assertEqual(self.read_after_cut("d", "f"), b"data")

    def test_fsync_of_another_file_commits_names_not_data(self):
        write(self.mnt("a"), b"never synced")
        write(self.mnt("before"), b"!", sync=True, mode="ab")
        self.cut()
        self.assertEqual(self.read_after_cut("a"), b"")
        self.assertEqual(self.read_after_cut("before"), b"present at mount!")


def main():
    global BUILD_DIR
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", required=True)
    args, rest = p.parse_known_args()
    BUILD_DIR = os.path.abspath(args.build_dir)
    lazyfs_mount.require_or_skip(BUILD_DIR)
    unittest.main(module="__main__", argv=[sys.argv[0], "-v", *rest])


if __name__ == "__main__":
    main()
