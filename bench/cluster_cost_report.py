"""The report of bench/cluster_cost.py: markdown tables of RF 1 against RF 3
and whether issue 13's targets hold (RF 3's broker CPU per record at most 2x
RF 1's; its p50 at most one loopback round trip above RF 1's)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers"))
from compare_report import _med, _range, _size  # noqa: E402

CPU_TARGET = 2.0  # RF 3 broker CPU per record / RF 1's, at most
RTT_TARGET = 1.0  # p50(RF 3) - p50(RF 1), in loopback round trips, at most


def _ok(runs):
    return [r for r in runs if not r.get("failed_run")]


def _stat(runs, get):
    values = [get(r) for r in _ok(runs)]
    return (_med(values), min(values), max(values)) if values else None


def _median(runs, get):
    stat = _stat(runs, get)
    return stat[0] if stat else float("nan")


def _loads(runs):
    """The 1-minute load average before each run."""
    return ", ".join(r["load"].split()[0] for r in runs)


def _key(size, rate):
    return "{}@{}".format(size, rate)


def _scenario(size, rate):
    return "{} @ {:,}/s".format(_size(size), rate)


def _per_record(runs, get):
    return _median(runs, lambda r: get(r) / r["acked"] * 1e6)


def _build(m):
    b = m.get("build", {})
    dirty = b.get("uncommitted")
    return "keel built {} (sha256 {}…) from {} at commit {}{}{}".format(
        b.get("keel_mtime"), b.get("keel_sha256"), b.get("source"), b.get("commit"),
        " with uncommitted changes to {}".format(", ".join(dirty)) if dirty else "",
        "; it was rebuilt during the run (the brokers ran the earlier one)" if b.get("changed_during_run") else "")


def markdown(rep):
    m, rtt = rep["machine"], rep["rtt"]["rtt_us"]
    setups = {s["name"]: s for s in rep["setups"]}
    rf1, rf3 = setups["RF 1"], setups["RF 3"]
    both = (rf1, rf3)
    opens = [tuple(x) for x in rep["open"]]
    closed = [int(k) for k in rf1["closed"]]
    out = ["Measured {} by `python3 bench/cluster_cost.py{}` in {:.0f} s, {} run(s) per scenario and set-up, the "
           "set-ups taking turns run by run; median, (min–max) in brackets.".format(
               rep["date"], rep["options"], m["elapsed_s"], rep["args"]["runs"]), "",
           "- {cpu}, {cores} cores, {memory}; {os}, kernel {kernel}; data on {filesystem}; {pinning}".format(**m),
           "- {}; {}; flush_mode {} on every broker".format(_build(m), rep["etcd"], rep["args"]["flush_mode"]),
           "- load average {} at the start, {} at the end".format(m["load"], m["load_end"]),
           "- loopback TCP round trip (keel-tcp-rtt, 64 B): p50 {:.1f} µs, p99 {:.1f} µs".format(rtt["p50"],
                                                                                              rtt["p99"]), ""]

    out += ["Closed loop (librdkafka defaults: linger.ms 5, up to 100,000 records queued):", "",
            "| Set-up | Size | msgs/s | MB/s | Broker CPU µs/record | Load before each run |",
            "|---|---|---|---|---|---|"]
    for s in both:
        for size in closed:
            runs = s["closed"][str(size)]
            out.append("| {} | {} | {} | {} | {} | {} |".format(
                s["name"], _size(size), _range(_stat(runs, lambda r: r["msgs_per_s"]), "{:,.0f}"),
                _range(_stat(runs, lambda r: r["mb_per_s"]), "{:.1f}"),
                _range(_stat(runs, lambda r: r["broker_us_per_record"]), "{:.2f}"), _loads(runs)))
    out += [""]

    out += ["Open loop (--linger-ms 0, 5 requests in flight; latency from each record's scheduled send time to its "
            "acknowledgement):", "",
            "| Set-up | Size @ rate | p50 µs | p99 µs | p99.9 µs | Broker CPU µs/record | etcd CPU µs/record | "
            "Load before each run |", "|---|---|---|---|---|---|---|---|"]
    for s in both:
        for size, rate in opens:
            runs = s["open"][_key(size, rate)]
            out.append("| {} | {} | {} | {} | {} | {} | {} | {} |".format(
                s["name"], _scenario(size, rate), _range(_stat(runs, lambda r: r["latency_us"]["p50"]), "{:,.0f}"),
                _range(_stat(runs, lambda r: r["latency_us"]["p99"]), "{:,.0f}"),
                _range(_stat(runs, lambda r: r["latency_us"]["p999"]), "{:,.0f}"),
                _range(_stat(runs, lambda r: r["broker_us_per_record"]), "{:.2f}"),
                _range(_stat(runs, lambda r: r["etcd_us_per_record"]), "{:.2f}") if s is rf3 else "–",
                _loads(runs)))
    out += [""]

    out += ["Issue 13's targets (open loop, medians):", "",
            "| Size @ rate | Broker CPU µs/record RF 1 | RF 3 | Ratio (target ≤ {:g}×) | p50 µs RF 1 | RF 3 | "
            "Added p50 µs | Added ÷ RTT p50 (target ≤ {:g}) |".format(CPU_TARGET, RTT_TARGET),
            "|---|---|---|---|---|---|---|---|"]
    verdicts = []
    for size, rate in opens:
        o1, o3 = rf1["open"][_key(size, rate)], rf3["open"][_key(size, rate)]
        c1, c3 = (_median(o, lambda r: r["broker_us_per_record"]) for o in (o1, o3))
        p1, p3 = (_median(o, lambda r: r["latency_us"]["p50"]) for o in (o1, o3))
        ratio, added = c3 / c1 if c1 else float("nan"), p3 - p1
        rtts = added / rtt["p50"]
        out.append("| {} | {:.2f} | {:.2f} | {:.2f}× | {:,.0f} | {:,.0f} | {:,.0f} | {:.1f} |".format(
            _scenario(size, rate), c1, c3, ratio, p1, p3, added, rtts))
        cpu_met, p50_met = ratio <= CPU_TARGET, rtts <= RTT_TARGET
        verdicts.append("- {}: CPU per record {} ({:.2f}×{}); p50 {} (adds {:,.0f} µs = {:.1f} round trips{})."
                        .format(
            _scenario(size, rate), "met" if cpu_met else "**not met**", ratio,
            "" if cpu_met else ", {:.0f}% over the target".format(100 * (ratio / CPU_TARGET - 1)),
            "met" if p50_met else "**not met**", added, rtts,
            "" if p50_met else ", {:,.0f} µs over the target".format(added - RTT_TARGET * rtt["p50"])))
    out += [""] + verdicts + [""]

    out += ["Where the CPU goes, µs per record acknowledged (open loop, medians); RF 3's leader is broker {}:".format(
        rf3["leader"]), "",
            "| Size @ rate | RF 1 broker | " + " | ".join(
                "RF 3 broker {}{}".format(i, " (leader)" if i == rf3["leader"] else "") for i in rf3["brokers"])
            + " | etcd | client RF 1 | client RF 3 |",
            "|---|---|" + "---|" * (len(rf3["brokers"]) + 3)]
    for size, rate in opens:
        o1, o3 = rf1["open"][_key(size, rate)], rf3["open"][_key(size, rate)]
        cells = ["{:.2f}".format(_per_record(o1, lambda r: sum(r["broker_cpu_s"].values())))]
        cells += ["{:.2f}".format(_per_record(o3, lambda r, i=i: r["broker_cpu_s"][str(i)])) for i in rf3["brokers"]]
        cells += ["{:.2f}".format(_per_record(o3, lambda r: r["etcd_cpu_s"]))]
        cells += ["{:.2f}".format(_per_record(o, lambda r: r["client_cpu_s_total"])) for o in (o1, o3)]
        out.append("| {} | {} |".format(_scenario(size, rate), " | ".join(cells)))
    out += [""]

    for s in both:
        idle = s["idle"]
        out.append("- idle, {:g} s before the runs, in % of a core: {} broker(s) {}{}".format(
            rep["args"]["idle_seconds"], s["name"], ", ".join("{:.1f}".format(v) for v in idle["brokers_pct"].values()),
            ", etcd {:.1f}".format(idle["etcd_pct"]) if s is rf3 else ""))
    for size, rate in opens:
        peaks = [_median(s["closed"].get(str(size), []), lambda r: r["msgs_per_s"]) for s in both]
        kept = min((r["msgs_per_s"] / rate for s in both for r in _ok(s["open"][_key(size, rate)])), default=0)
        peak_text = ("{:.1f}% of the lower closed-loop peak ({:,.0f} msg/s)".format(100 * rate / min(peaks), min(peaks))
                     if all(p == p for p in peaks) else "no closed-loop peak at this size")
        out.append("- open loop {}: {}; the slowest run delivered {:.1f}% of the rate{}".format(
            _scenario(size, rate), peak_text, 100 * kept,
            "" if kept >= 0.99 else " (it fell behind: its latency includes queueing in the client)"))
    out += [""]

    out += ["Commands (the same for both set-ups; $BROKERS is the set-up's bootstrap list):", "", "```",
            "flock /tmp/keel-bench.lock python3 bench/cluster_cost.py" + rep["options"]] + rep["commands"] + ["```", ""]

    profiled = _scenario(*(rep["args"]["perf_scenario"] or opens[0]))
    for s in both:
        for name, rows in s.get("perf", {}).items():
            out += ["{} {}: perf record -g for {:g} s of an extra {} run, top symbols by self time:".format(
                s["name"], name, rep["args"]["perf"], profiled), "", "```"] + rows + ["```", ""]
    return "\n".join(out)
