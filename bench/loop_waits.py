#!/usr/bin/env python3
"""Summarises a sched_switch trace of the Kafka loop threads: every time one
was off its CPU for more than 5 ms, grouped by what it waited on.

Reads `perf script -F time,event,trace,ip,sym` output of

    perf record -e sched:sched_switch \\
      --filter 'prev_comm ~ "kafka-loop-*" || next_comm ~ "kafka-loop-*"' -g -C 1

on stdin (bench/roll_sync_ab.sh --trace-loop records it). Groups:
  i_data_sem  an append's delayed allocation into a hole
              (ext4_da_get_block_prep in the stack: the inode's i_data_sem)
  requests    epoll_wait: the loop had nothing to do (the client was late,
              or the connection is on another loop)
  D:<func>    another uninterruptible wait, named by a frame of its stack
  other       preempted, or runnable and not run
Prints one line: count, total and longest wait of each group."""
import re
import sys

SWITCH = re.compile(r"\s*([\d.]+):\s+sched:sched_switch:\s+(.*)")
PREV = re.compile(r"prev_comm=(kafka-loop-\d+) ")
NEXT = re.compile(r"next_comm=(kafka-loop-\d+) ")


def group(out):
    stack = " ".join(out["stack"])
    if "ext4_da_get_block_prep" in stack:
        return "i_data_sem"
    if "epoll_wait" in stack:
        return "requests"
    if "prev_state=D" in out["text"] and len(out["stack"]) > 4:
        return "D:" + out["stack"][4].split()[-1]
    return "other"


def main():
    events, cur = [], None
    for line in sys.stdin:
        m = SWITCH.match(line)
        if m:
            cur = {"t": float(m.group(1)), "text": m.group(2), "stack": []}
            events.append(cur)
        elif cur is not None and line.strip():
            cur["stack"].append(line.strip())
    count, total, longest = {}, {}, {}
    away = {}  # loop thread -> the switch that took it off its CPU
    for e in events:
        if m := NEXT.search(e["text"]):
            out = away.pop(m.group(1), None)
            gap = e["t"] - out["t"] if out else 0
            if gap > 0.005:
                g = group(out)
                count[g] = count.get(g, 0) + 1
                total[g] = total.get(g, 0) + gap
                longest[g] = max(longest.get(g, 0), gap)
        if m := PREV.search(e["text"]):
            away[m.group(1)] = e
    if not events:
        print("    loop waits over 5 ms: no trace (is perf installed, and are the loop threads named kafka-loop-<n>?)")
        return
    parts = [f"{g} {count[g]}, {total[g] * 1000:.0f} ms in all, longest {longest[g] * 1000:.0f} ms"
             for g in sorted(count, key=lambda k: -total[k])]
    print("    loop waits over 5 ms: " + ("; ".join(parts) if parts else "none"))


if __name__ == "__main__":
    main()
