"""Power loss of a whole cluster: the promise of docs/configuration.md's
`every-batch` with acks=all on a replicated topic (replication_factor 3,
min_insync_replicas 2) is that an acknowledged record survives even when
the power of all three machines goes at once and they come back in the
worst order: the two followers first (one of them elected leader while the
old leader is still down), the old leader last, as a follower that
truncates its log to the new leader's.

An acknowledgement may be sent once the leader has synced the record and
the ISR has fetched it. Unless the followers sync what they fetched before
their fetch tells the leader they have it, the record can be in no
follower's disk when the power goes: the new leader's log then lacks it,
and the old leader, the only one that had it on disk, truncates to the new
leader when it comes back.

Each broker's data dir is on its own keel-lazyfs mount (tests/tools/lazyfs:
forgets at a simulated power cut everything fsync did not make durable;
--metadata=journal); etcd is another machine and keeps running. Each run,
on a new cluster (cluster_harness.py):
- the topic's one partition is led by its preferred replica with a full
  ISR; the followers' flusher threads are put at the lowest CPU priority
  (SCHED_IDLE), as on followers whose disks or CPUs are busier than the
  leader's: their syncs may lag what they fetched by milliseconds, not
  microseconds, which nothing in the promise rules out. (On a 2-core
  machine, a kernel whose followers reported what they fetched before
  syncing it lost acknowledged records in none of 16 runs with the normal
  priority (with this cut, or with every broker frozen before it), in 9
  of 23 with SCHED_IDLE: 20 to 800 records a run.)
- acked_producer (power_loss_test.AckedProducer, acks=all, idempotent)
  produces and prints every acknowledged (partition, offset, value);
- after a random number of acknowledgements and a random while more, the
  power of the three file systems is cut (the followers' first, the
  leader's last, within milliseconds), the brokers are SIGKILLed and the
  producer is killed (its acknowledgements kept);
- the three file systems are "rebooted" (mounted again on what their disks
  held); only the two followers are restarted; once one of them leads with
  both in the ISR and the partition's high watermark at its log end on
  both, the partition is read back with kcat;
- the old leader is restarted; once it is in the ISR, leads again (the
  preferred-leader election, every second here) and every copy has the
  same log end and high watermark, the partition is read back from it and
  the three copies must be byte-identical.

Checked at both read-backs: every acknowledged value is at the offset it
was acknowledged with, exactly once (no value stored twice), offsets
without a gap. Lost records are tallied over the runs and printed as a
"power-loss figure:" line (as power_loss_test's), then asserted to be none.

test_a_follower_whose_sync_failed_never_counts_for_an_acknowledgement:
the same cluster (without SCHED_IDLE), one follower F has one fdatasync of
the partition fail as Linux fails one (keel-lazyfs fail-next-fsync .log:
EIO, and the data it covered never reaches the disk, while later syncs
succeed). F must never report that partition's log end again (the fetcher
skips a partition whose sync failed), so the leader's high watermark, and
acks=all, never passes what F had synced while F is in the ISR, and F leaves
the ISR after replica_lag_time_max_ms. Two runs (FailedSyncRun): the power
of all three cut 1.5 s after the failure, F still in the ISR, then F
restarted alone and elected; and cut once F has left the ISR and 200 more
records were acknowledged, then F and G restarted and G elected. Both are
read back from the new leader and from the old leader back last, as above.

KEEL_CLUSTER_POWER_LOSS_SEED=<n> repeats a run's random choices (printed);
KEEL_CLUSTER_POWER_LOSS_RUNS=<n> makes <n> runs instead of 3 (about 12 s each);
KEEL_IT_KEEP=1 keeps every run's directory (a run that failed or lost
records is always kept: broker logs, lazyfs logs, the disks).
Exits 77 (skipped) where FUSE cannot mount.

    python3 tests/integration/cluster_power_loss_test.py --build-dir build
"""
import collections
import json
import os
import random
import shutil
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import segment_files  # noqa: E402
from cluster_harness import Cluster, wait_until, run_tests  # noqa: E402
# power_loss_test's producer and kcat reader work on its topic, TOPIC ("pl").
from power_loss_test import TOPIC, AckedProducer, read_partition  # noqa: E402
import lazyfs_mount  # noqa: E402  (tests/tools/lazyfs, on the path power_loss_test puts it on)

BUILD_DIR = None  # set by main()
SEED = int(os.environ.get("KEEL_CLUSTER_POWER_LOSS_SEED", random.randrange(1 << 30)))
RUNS = int(os.environ.get("KEEL_CLUSTER_POWER_LOSS_RUNS", 3))
IDS = [1, 2, 3]
PARTITION = 0  # one partition: its leader is the one broker left down
TTL_MS = 3000
DEADLINE_S = 60  # bound on an election, a rejoin, a catch-up
METADATA = "journal"
NEW, BACK = "from the new leader", "from the old leader, back and leading again"  # the two read-backs
# 8 KiB segments roll every 400 records, so every cut comes after rolls:
# new segment files must be durable on the followers too.
TOPICS = f"""
[topics.{TOPIC}]
partitions = 1
replication_factor = 3
min_insync_replicas = 2
segment_bytes = 8192
flush_mode = "every-batch"
retention = []
"""
# Leaderships move only by the power cut, and back to the preferred
# replica (the old leader) within a second of it being in sync again. A
# follower slowed by FUSE stays in the ISR while the load runs.
CLUSTER = "replica_lag_time_max_ms = 10000\nleader_rebalance_interval_ms = 1000"
# The failed-sync case's run that waits for the follower to leave the ISR.
SHRINK_LAG_MS = 3000
CLUSTER_SHORT_LAG = f"replica_lag_time_max_ms = {SHRINK_LAG_MS}\nleader_rebalance_interval_ms = 1000"
# PartitionLog::remember_failed_sync's error line (kernel/storage/partition_log.cpp).
FAILED_SYNC = "takes no more writes"
CUT_AFTER_FAILURE_S = 1.5


def watermarks(c, broker_id):
    """(high watermark, log end offset) of TOPIC-0 on broker `broker_id`
    (its HTTP GET /topics/{topic}: its own copy); None if it does not
    answer."""
    try:
        with urllib.request.urlopen(f"{c.broker(broker_id).http_url}/topics/{TOPIC}", timeout=5) as r:
            p = json.loads(r.read())["partitions"][PARTITION]
        return p["high_watermark"], p["log_end_offset"]
    except (OSError, ValueError, KeyError, IndexError):
        return None


def settled(c, leader, ids):
    """The log end when broker `leader` leads TOPIC-0 in the Metadata of
    every broker of `ids`, with exactly `ids` in its ISR, and every broker
    of `ids` has the same log end and a high watermark at it (everything
    the leader holds is readable, and nothing moves any more: no producer
    runs); None otherwise."""
    if c.led_everywhere(TOPIC, 1, ids) != {PARTITION: leader}:
        return None
    parts = c.partitions(leader, TOPIC)
    if PARTITION not in parts or sorted(parts[PARTITION][3]) != sorted(ids):
        return None
    marks = {watermarks(c, i) for i in ids}
    if len(marks) != 1 or None in marks:
        return None
    hw, leo = marks.pop()
    return leo if hw == leo else None


def formed(c):
    """(leader, replicas) when every broker sees TOPIC-0 led by its
    preferred replica with all three in the ISR; None otherwise."""
    led = c.led_everywhere(TOPIC, 1, IDS)
    if led is None:
        return None
    for i in IDS:
        _, leader, replicas, isr = c.partitions(i, TOPIC).get(PARTITION, (0, -1, [], []))
        if len(replicas) != 3 or sorted(isr) != IDS or leader != replicas[0]:
            return None
    return led[PARTITION], list(replicas)


def durable_end(data_dir):
    """One past the last offset of TOPIC-0's whole batches on a disk (read
    after the reboot, before the broker recovers it); 0 when it holds none."""
    d = os.path.join(data_dir, f"{TOPIC}-{PARTITION}")
    if not os.path.isdir(d):
        return 0
    ends = [b[2] + 1 for path in segment_files.segment_logs(d) for b in segment_files.batches(path)]
    return max(ends, default=0)


def idle_flusher(c, broker_id):
    """Puts broker `broker_id`'s flusher thread at the lowest CPU priority
    (SCHED_IDLE: it runs only on a CPU nothing else wants); returns how
    many threads it changed."""
    pid = c.broker(broker_id).proc.pid
    changed = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if f.read().strip() != "flusher":
                    continue
            os.sched_setscheduler(int(tid), os.SCHED_IDLE, os.sched_param(0))
            changed += 1
        except (FileNotFoundError, ProcessLookupError):
            pass  # the thread ended meanwhile
    return changed


def draining(prod, condition):
    """`condition()` after reading the producer's acknowledgements for
    0.1 s: a wait_until condition for waits while it produces (a producer
    whose output is not read blocks, and stops producing)."""
    prod.run_for(0.1)
    if prod.proc.poll() is not None:
        with open(prod.err_path, errors="replace") as f:
            raise AssertionError(f"producer exited with {prod.proc.returncode} after {len(prod.acks)} acks:\n"
                                 + f.read()[-2000:])
    return condition()


def log_bytes(c, broker_id):
    d = os.path.join(c.broker(broker_id).data_dir, f"{TOPIC}-{PARTITION}")
    return b"".join(segment_files.data_bytes(path) for path in segment_files.segment_logs(d))


class Run:
    """One cluster on three keel-lazyfs mounts, in its own directory."""

    def __init__(self, test, index, rng, cluster_toml=CLUSTER):
        self.test, self.index, self.rng = test, index, rng
        self.dir = tempfile.mkdtemp(prefix="keel-cluster-power-loss-")
        self.fss = {}
        for i in IDS:
            backing = os.path.join(self.dir, f"fs-{i}", "disk")
            # The data dir exists before the first mount (adopted as
            # durable), as an operator would create it.
            os.makedirs(os.path.join(backing, "data"))
            self.fss[i] = lazyfs_mount.LazyFs(BUILD_DIR, backing, os.path.join(self.dir, f"fs-{i}", "mnt"), METADATA)
        self.c = Cluster(BUILD_DIR, brokers=3, session_ttl_ms=TTL_MS, topics_toml=TOPICS, cluster_toml=cluster_toml,
                         broker_toml="recovery_checkpoint_ms = 500", workdir=os.path.join(self.dir, "cluster"),
                         data_dir=lambda i: os.path.join(self.fss[i].mountpoint, "data"))
        self.acks = []
        self.lost = {}  # stage -> [(value, offset, found)]
        self.duplicated = {}  # stage -> number of values stored twice

    def where(self):
        brokers = ", ".join(f"broker {i}: {self.c.broker(i).log_path}" for i in IDS)
        return f"run {self.index} (seed {SEED}); logs: {brokers}; lazyfs logs and disks under {self.dir}"

    def check(self, stage, records):
        """Every acknowledged value at its acknowledged offset, once; offsets
        without a gap. Returns how many acknowledged records are lost."""
        offsets = [o for o, _ in records]
        self.test.assertEqual(offsets, list(range(len(records))),
                              f"read back {stage}: {TOPIC}-{PARTITION}'s offsets have a gap; {self.where()}")
        seen = collections.Counter(v for _, v in records)
        self.duplicated[stage] = sum(1 for n in seen.values() if n > 1)
        lost = []
        for _, off, value in self.acks:
            found = records[off][1] if off < len(records) else f"the log ends at {len(records)}"
            if found != value:
                lost.append((value, off, found))
        self.lost[stage] = lost
        return len(lost)

    def isr(self, broker_id):
        """The ISR of TOPIC-0 in broker `broker_id`'s Metadata, sorted ([]
        if it does not answer)."""
        return sorted((self.c.partitions(broker_id, TOPIC).get(PARTITION) or (0, -1, [], []))[3])

    def form(self):
        """Mounts the file systems, starts the cluster; returns the leader of
        TOPIC-0 (its preferred replica, all three in the ISR) and its two
        followers."""
        c = self.c
        for fs in self.fss.values():
            fs.mount()
        c.start(timeout=60)
        c.wait_for_cluster(30)
        old, replicas = wait_until(lambda: formed(c), DEADLINE_S,
                                   f"{TOPIC}-{PARTITION} led by its preferred replica with all three in the ISR")
        return old, [i for i in replicas if i != old]

    def power_off(self, order):
        """The power of the three machines, as close together as three cuts
        go: the disks first (a sync in flight fails, as at a real cut), in
        `order`, then the processes. Returns how long the cuts took (ms)."""
        t_cut = time.monotonic()
        for i in order:
            self.fss[i].power_cut()
        cut_ms = (time.monotonic() - t_cut) * 1000
        for i in IDS:
            self.c.kill(i)
        return cut_ms

    def reboot(self):
        """After the cut: checks that something was acknowledged, mounts the
        three file systems again on what their disks held; returns the last
        acknowledged offset and each disk's durable end of TOPIC-0
        (durable_end)."""
        self.test.assertGreater(len(self.acks), 0, "nothing was acknowledged")
        for fs in self.fss.values():
            fs.reboot()
        return (max(off for _, off, _ in self.acks),
                {i: durable_end(self.c.broker(i).data_dir) for i in IDS})

    def go(self):
        c, rng = self.c, self.rng
        old, followers = self.form()
        # The followers sync later than they fetch: a follower that reports
        # what it fetched before syncing it has unsynced records the leader
        # acknowledged for much longer than a few microseconds.
        for f in followers:
            self.test.assertEqual(idle_flusher(c, f), 1, f"broker {f} has no thread named 'flusher' "
                                  "(docs/architecture.md, \"Threads\")")
        prod = AckedProducer(BUILD_DIR, c.bootstrap(), "all", f"r{self.index}",
                             os.path.join(self.dir, "producer.err"))
        try:
            prod.wait_acks(rng.randint(200, 600), timeout=90)
            prod.run_for(rng.uniform(0, 1.0))
            isr_at_cut = self.isr(old)
            # The followers' disks before the leader's: in the milliseconds
            # between, a follower can sync nothing more, and the leader may
            # still acknowledge what the followers reported having (as when
            # its power goes a moment after theirs).
            cut_ms = self.power_off(followers + [old])
        finally:
            self.acks = prod.kill()
        last_acked, on_disk = self.reboot()
        print(f"run {self.index}: {len(self.acks)} acknowledged (offsets up to {last_acked}), leader {old} "
              f"(ISR at the cut {isr_at_cut}), the three cuts within {cut_ms:.0f} ms; on disk after them: "
              + ", ".join(f"broker {i} up to {on_disk[i]}" for i in IDS), flush=True)

        # The followers come back first; the old leader stays down.
        for f in followers:
            c.restart(f, wait_ready=False)
        for f in followers:
            c.broker(f).wait_for_log("broker ready", 60)
        new = wait_until(lambda: (lambda led: led[PARTITION] if led and led[PARTITION] in followers else None)(
            c.led_everywhere(TOPIC, 1, followers)), DEADLINE_S,
            f"broker {followers[0]} or {followers[1]} to lead {TOPIC}-{PARTITION} while broker {old} is down")
        end = wait_until(lambda: settled(c, new, followers), DEADLINE_S,
                         f"brokers {followers} in the ISR of {TOPIC}-{PARTITION} (led by {new}) with the high "
                         "watermark at the log end on both")
        lost = self.check(NEW, read_partition(c.bootstrap(followers), PARTITION))
        print(f"run {self.index}: broker {new} leads with log end {end}: {lost} acknowledged records missing",
              flush=True)
        self.old_leader_back(old)

    def old_leader_back(self, old):
        """The old leader last: it truncates to the new leader's log. Read
        back from it once it leads again; the three copies byte-identical.
        Then the cluster is shut down and the file systems unmounted."""
        c = self.c
        c.restart(old)
        end_after = wait_until(lambda: settled(c, old, IDS), DEADLINE_S,
                               f"broker {old} back in the ISR of {TOPIC}-{PARTITION}, leading it again (preferred "
                               "replica), every copy's high watermark at the same log end")
        lost = self.check(BACK, read_partition(c.bootstrap([old]), PARTITION))
        wait_until(lambda: len({log_bytes(c, i) for i in IDS}) == 1, 30,
                   f"the three copies of {TOPIC}-{PARTITION} to be byte-identical")
        print(f"run {self.index}: broker {old} leads again with log end {end_after}: {lost} acknowledged records "
              "missing", flush=True)
        c.shutdown()
        for fs in self.fss.values():
            fs.unmount()

    def __call__(self):
        """Runs; the directory is removed unless the run failed or lost
        records (or KEEL_IT_KEEP)."""
        try:
            self.go()
        except BaseException:
            self.c.dump_logs()
            self.c.kill_all()
            for fs in self.fss.values():
                fs.unmount()
            print(f"kept {self.dir} for inspection")
            raise
        if any(self.lost.values()) or any(self.duplicated.values()) or os.environ.get("KEEL_IT_KEEP"):
            print(f"kept {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


class FailedSyncRun(Run):
    """One cluster (as Run's) in which one follower, F, has one fdatasync of
    TOPIC-0 fail as Linux fails one (keel-lazyfs fail-next-fsync: EIO, and
    the data it covered never reaches F's disk, though F reads it back until
    the power goes). F's log end then covers records its disk may not get:
    F must never report it, so the leader's high watermark, and every
    acks=all answer, stays within what F had synced as long as F is in the
    ISR (the fetcher skips a partition whose sync failed; F leaves the ISR
    after replica_lag_time_max_ms).

    `before_shrink`: the power goes 1.5 s after the failure, F still in the
    ISR (lag 10 s); F alone is restarted and elected (it is in the ISR
    stored in etcd), then the other follower G joins it: every record
    acknowledged must be on F's disk. Otherwise: lag SHRINK_LAG_MS; the
    power goes once F has left the ISR and 200 more records were
    acknowledged by the leader and G alone; F and G are restarted together
    and G must lead."""

    def __init__(self, test, index, rng, before_shrink):
        super().__init__(test, index, rng, CLUSTER if before_shrink else CLUSTER_SHORT_LAG)
        self.before_shrink = before_shrink
        self.failed = None  # F

    def case(self):
        return "cut with F still in the ISR" if self.before_shrink else "cut after F left the ISR"

    def where(self):
        return (f"{self.case()}, broker {self.failed} (F) had the failed sync, its lazyfs log "
                f"{self.fss[self.failed].log_path if self.failed else '?'}; " + super().where())

    def go(self):
        c, rng = self.c, self.rng
        old, followers = self.form()
        f = self.failed = rng.choice(followers)
        g = next(i for i in followers if i != f)
        prod = AckedProducer(BUILD_DIR, c.bootstrap(), "all", f"s{self.index}",
                             os.path.join(self.dir, "producer.err"))
        acks_at = {}
        try:
            prod.wait_acks(300, timeout=90)
            self.fss[f].control("fail-next-fsync .log")
            # Producing goes on (a producer whose acknowledgements are not
            # read blocks) until F fails the sync of a batch it fetched.
            wait_until(lambda: draining(prod, lambda: c.broker(f).logged(FAILED_SYNC)), 30,
                       f"broker {f}'s log to report its failed sync ({FAILED_SYNC!r}; {c.broker(f).log_path}) "
                       f"after keel-lazyfs fail-next-fsync ({self.fss[f].log_path})")
            line = next(ln for ln in c.broker(f).output().splitlines() if FAILED_SYNC in ln)
            self.test.assertIn(f"{TOPIC}-{PARTITION}", line,
                               f"broker {f}'s failed sync is not of {TOPIC}-{PARTITION}: {line}; {self.where()}")
            acks_at["failure"] = len(prod.acks)
            f_marks = watermarks(c, f)  # its log end covers what the failed sync did not make durable
            if self.before_shrink:
                # Time enough for F, were it to report the log end its
                # failed sync left (the protection absent), to do so after
                # its retry backoff (retry_backoff_ms, 500), and for the
                # leader to acknowledge up to it.
                prod.run_for(CUT_AFTER_FAILURE_S)
                isr_at_cut = self.isr(old)
                self.test.assertIn(f, isr_at_cut, f"broker {f} left the ISR of {TOPIC}-{PARTITION} within "
                                   f"{CUT_AFTER_FAILURE_S} s of its failed sync although replica_lag_time_max_ms "
                                   f"is 10000: this run does not check what it is for; {self.where()}")
            else:
                wait_until(lambda: draining(prod, lambda: f not in self.isr(old)), DEADLINE_S,
                           f"broker {f}, whose sync of {TOPIC}-{PARTITION} failed, to leave its ISR (broker {old}'s "
                           f"Metadata; replica_lag_time_max_ms {SHRINK_LAG_MS}); {self.where()}")
                acks_at["shrink"] = len(prod.acks)
                # Acknowledgements go on with the leader and G (two in sync,
                # min_insync_replicas).
                prod.wait_acks(acks_at["shrink"] + 200, timeout=30)
                isr_at_cut = self.isr(old)
                self.test.assertNotIn(f, isr_at_cut, f"broker {f} is back in the ISR of {TOPIC}-{PARTITION} after "
                                      f"its failed sync (it must fetch the partition no more); {self.where()}")
            hw_at_cut = watermarks(c, old)
            cut_ms = self.power_off(followers + [old])
        finally:
            self.acks = prod.kill()
        last_acked, on_disk = self.reboot()
        print(f"run {self.index} ({self.case()}): leader {old}, broker {f}'s sync failed: "
              f"{len(self.acks)} acknowledged (offsets up to {last_acked}; "
              + ", ".join(f"{n} of them by the {k}" for k, n in acks_at.items())
              + f"), broker {f}'s (high watermark, log end) after the failure {f_marks}, ISR at the cut "
              f"{isr_at_cut}, leader's (high watermark, log end) {hw_at_cut}; on disk after "
              f"the cut within {cut_ms:.0f} ms: " + ", ".join(f"broker {i} up to {on_disk[i]}" for i in IDS),
              flush=True)

        if self.before_shrink:
            # F first, alone: in the ISR stored in etcd, it is elected once
            # the others' sessions have expired. The log end it leads with
            # is what its disk held: an acknowledgement its fetches allowed
            # beyond it is lost here (G truncates to F's log, the old leader
            # too when it is back).
            c.restart(f)
            wait_until(lambda: c.led_everywhere(TOPIC, 1, [f]) == {PARTITION: f}, DEADLINE_S,
                       f"broker {f}, in the ISR at the cut and the only one up, to lead {TOPIC}-{PARTITION}; "
                       f"{self.where()}")
            c.restart(g)
            new = f
        else:
            # F is out of the ISR stored in etcd: G must lead.
            for i in followers:
                c.restart(i, wait_ready=False)
            for i in followers:
                c.broker(i).wait_for_log("broker ready", 60)
            new = wait_until(lambda: (lambda led: led[PARTITION] if led and led[PARTITION] in followers else None)(
                c.led_everywhere(TOPIC, 1, followers)), DEADLINE_S,
                f"broker {f} or {g} to lead {TOPIC}-{PARTITION} while broker {old} is down; {self.where()}")
            self.test.assertEqual(new, g, f"broker {f} leads {TOPIC}-{PARTITION} although it left the ISR after its "
                                  f"failed sync; {self.where()}")
        end = wait_until(lambda: settled(c, new, followers), DEADLINE_S,
                         f"brokers {followers} in the ISR of {TOPIC}-{PARTITION} (led by {new}) with the high "
                         f"watermark at the log end on both; {self.where()}")
        lost = self.check(NEW, read_partition(c.bootstrap(followers), PARTITION))
        print(f"run {self.index}: broker {new} leads with log end {end}: {lost} acknowledged records missing",
              flush=True)
        self.old_leader_back(old)


def lost_or_duplicated(runs):
    """One paragraph per run that lost or duplicated acknowledged records
    (what, where, the run's logs)."""
    problems = []
    for r in runs:
        found = []
        for stage, lost in r.lost.items():
            if lost:
                head = "\n".join(f"      {v} acknowledged at {TOPIC}-{PARTITION} offset {o}, found {f!r}"
                                 for v, o, f in lost[:5])
                found.append(f"    read back {stage}: {len(lost)} of {len(r.acks)} acknowledged "
                             f"records lost, the first:\n{head}")
        for stage, n in r.duplicated.items():
            if n:
                found.append(f"    read back {stage}: {n} values stored twice")
        if found:
            problems.append(f"  {r.where()}:\n" + "\n".join(found))
    return problems


class ClusterPowerLossTest(unittest.TestCase):
    def test_whole_cluster_power_cut_old_leader_last_loses_nothing(self):
        print(f"seed {SEED} (KEEL_CLUSTER_POWER_LOSS_SEED)", flush=True)
        rng = random.Random(SEED)
        t0 = time.monotonic()
        runs = []
        for index in range(RUNS):
            run = Run(self, index, rng)
            runs.append(run)
            run()
        acked = sum(len(r.acks) for r in runs)
        lost_new = sum(len(r.lost[NEW]) for r in runs)
        lost_back = sum(len(r.lost[BACK]) for r in runs)
        duplicated = sum(sum(r.duplicated.values()) for r in runs)
        print(f"power-loss figure: cluster of 3, flush_mode=every-batch acks=all min_insync_replicas=2 "
              f"metadata={METADATA}, all three cut, old leader back last: runs {RUNS}, acknowledged {acked}, "
              f"lost {lost_back} (missing from the new leader: {lost_new}), duplicated {duplicated} "
              f"({time.monotonic() - t0:.0f} s)", flush=True)
        problems = lost_or_duplicated(runs)
        if problems:
            self.fail("acknowledged records lost or duplicated after a power cut of the whole cluster:\n"
                      + "\n".join(problems))

    def test_a_follower_whose_sync_failed_never_counts_for_an_acknowledgement(self):
        """A follower F whose fdatasync of the partition failed (Linux
        reports a failed writeback once and marks the pages clean: later
        syncs "succeed" without them) must never report that partition's
        log end to the leader again, so no acknowledgement counts on data F
        may not have on disk, and F leaves the ISR. Two runs (FailedSyncRun):
        the power of all three cut while F is still in the ISR, F then
        elected; and cut once F has left the ISR and acknowledgements went
        on without it, G then elected. Both: every acknowledged record read
        back from the new leader, and from the old leader back last."""
        print(f"seed {SEED} (KEEL_CLUSTER_POWER_LOSS_SEED)", flush=True)
        rng = random.Random(SEED)
        t0 = time.monotonic()
        runs = []
        for index, before_shrink in enumerate([True, False]):
            run = FailedSyncRun(self, index, rng, before_shrink)
            runs.append(run)
            run()
        acked = sum(len(r.acks) for r in runs)
        lost_new = sum(len(r.lost[NEW]) for r in runs)
        lost_back = sum(len(r.lost[BACK]) for r in runs)
        duplicated = sum(sum(r.duplicated.values()) for r in runs)
        print(f"power-loss figure: cluster of 3, flush_mode=every-batch acks=all min_insync_replicas=2 "
              f"metadata={METADATA}, a follower's fdatasync failed (keel-lazyfs fail-next-fsync), then all three "
              f"cut: runs {len(runs)} (" + ", ".join(f"{r.case()}: acknowledged {len(r.acks)}, lost "
                                                      f"{len(r.lost[BACK])}" for r in runs)
              + f"), acknowledged {acked}, lost {lost_back} (missing from the new leader: {lost_new}), "
              f"duplicated {duplicated} ({time.monotonic() - t0:.0f} s)", flush=True)
        problems = lost_or_duplicated(runs)
        if problems:
            self.fail("acknowledged records lost or duplicated after a follower's failed sync and a power cut of "
                      "the whole cluster (the leader counted a follower whose sync had failed?):\n"
                      + "\n".join(problems))


def main():
    args = sys.argv[1:]
    if "--build-dir" in args:
        lazyfs_mount.require_or_skip(os.path.abspath(args[args.index("--build-dir") + 1]))
    run_tests(sys.modules[__name__])


if __name__ == "__main__":
    main()
