// Overview (#/): broker health and cluster, topic and partition counts, live
// throughput and latency charts from /metrics, disk use per topic, log
// rewrite (compaction) activity, the plugins loaded.
"use strict";

(() => {
  const {h, api, clear, section, table, loading, fmtNum, fmtBytes, parseMetrics, sumMetric, lineChart} = Keel;
  const kPollMs = 3000;
  // keel_request_seconds{api=...}: the Kafka transport's API names and the
  // HTTP transport's route names for the same work.
  const kProduceApis = new Set(["Produce", "produce"]);
  const kFetchApis = new Set(["Fetch", "consume", "group_fetch"]);

  // Mean and 99th percentile (upper bucket bound) of the observations made
  // between two samples of a histogram, in milliseconds.
  function latency(prev, now, apis) {
    const pick = (s, suffix) => s.filter((x) => x.name === `keel_request_seconds${suffix}` && apis.has(x.labels.api));
    const total = (s, suffix) => pick(s, suffix).reduce((a, x) => a + x.value, 0);
    const count = total(now, "_count") - total(prev, "_count");
    if (count <= 0) return [null, null];
    const mean = ((total(now, "_sum") - total(prev, "_sum")) / count) * 1000;
    const buckets = new Map();
    for (const [s, sign] of [[now, 1], [prev, -1]]) {
      for (const x of pick(s, "_bucket")) buckets.set(x.labels.le, (buckets.get(x.labels.le) || 0) + sign * x.value);
    }
    let p99 = null;
    for (const le of [...buckets.keys()].sort((a, b) => Number(a) - Number(b))) {
      if (buckets.get(le) >= 0.99 * count) { p99 = le === "+Inf" ? null : Number(le) * 1000; break; }
    }
    return [mean, p99];
  }

  async function brokerCard(ctx, card) {
    const [health, ready, cluster, topics] = await Promise.all([
      api("GET", "/health").then(() => true, (e) => { Keel.report(e); return false; }),
      api("GET", "/ready").then(() => true, (e) => { Keel.report(e); return false; }),
      api("GET", "/cluster").catch((e) => { Keel.report(e); return null; }),
      api("GET", "/topics").catch((e) => { Keel.report(e); return null; }),
    ]);
    const partitions = topics ? topics.topics.reduce((a, t) => a + t.partition_count, 0) : null;
    const state = (good, yes, no) => h("span", {class: good ? "ok" : "bad"}, good ? yes : no);
    clear(card, h("h2", null, "Broker"),
      h("dl", {class: "stats"},
        h("div", null, h("dt", null, "Health"), h("dd", {id: "health"}, state(health, "ok", "failing"))),
        h("div", null, h("dt", null, "Ready"), h("dd", {id: "ready"}, state(ready, "ready", "not ready"))),
        h("div", null, h("dt", null, "Cluster"), h("dd", null, cluster ? cluster.cluster_id : "–")),
        h("div", null, h("dt", null, "Controller"), h("dd", null, cluster ? `broker ${cluster.controller_id}` : "–")),
        h("div", null, h("dt", null, "Topics"), h("dd", {id: "topic-count"}, topics ? fmtNum(topics.topics.length) : "–")),
        h("div", null, h("dt", null, "Partitions"), h("dd", {id: "partition-count"}, fmtNum(partitions))),
        h("div", null, h("dt", null, "Under-replicated"),
          h("dd", null, cluster ? state(cluster.under_replicated_partitions === 0, "0",
            fmtNum(cluster.under_replicated_partitions)) : "–"))),
      cluster ? h("div", {class: "scroll"}, table(["Broker", "HTTP", "Kafka", "Rack", "Role"],
        cluster.brokers.map((b) => [String(b.id), b.url ? h("a", {href: b.url + "/ui/"}, b.url) : "–", b.kafka || "–",
          b.rack || "–", [b.id === cluster.broker_id ? "this broker" : "", b.id === cluster.controller_id ? "controller" : ""]
            .filter(Boolean).join(", ") || "–"]))) : null);
  }

  async function pluginsCard(card) {
    const p = await api("GET", "/plugins");
    clear(card, h("h2", null, `Plugins (broker ABI ${p.abi.major}.${p.abi.minor})`),
      h("div", {class: "scroll"}, table(["Kind", "Name", "Plugin", "Version", "ABI", "Path"],
        p.strategies.map((s) => [s.kind, s.name, s.plugin, s.version, `${s.abi_major}.${s.abi_minor}`,
          h("span", {class: "mono"}, s.path)]), {id: "plugins"})));
  }

  function diskTable(samples) {
    const byTopic = new Map();
    for (const x of samples) {
      if (x.name !== "keel_log_size_bytes") continue;
      const t = byTopic.get(x.labels.topic) || {bytes: 0, partitions: 0};
      t.bytes += x.value;
      t.partitions += 1;
      byTopic.set(x.labels.topic, t);
    }
    const rows = [...byTopic].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 15);
    if (!rows.length) return h("p", {class: "muted"}, "No partitions yet.");
    return h("div", null, table(["Topic", "Partitions", "Size"], rows.map(([name, t]) => [
      h("a", {href: `#/topics/${Keel.enc(name)}`}, name), fmtNum(t.partitions), fmtBytes(t.bytes)]), {id: "disk"}),
    byTopic.size > rows.length ? h("p", {class: "muted"}, `The 15 largest of ${fmtNum(byTopic.size)} topics.`) : null);
  }

  // By the unit the metric's name ends in (Prometheus' naming rules).
  function rewriteValue(name, v) {
    if (name.endsWith("_ratio")) return `${(v * 100).toFixed(1)} %`;
    if (name.endsWith("_bytes_per_second")) return `${fmtBytes(v)}/s`;
    if (name.endsWith("_seconds")) return v < 1 ? `${(v * 1000).toFixed(1)} ms` : `${v.toFixed(2)} s`;
    if (name.includes("_bytes")) return fmtBytes(v);
    return fmtNum(v);
  }

  function rewriteTable(samples) {
    const rows = samples.filter((x) => x.name.startsWith("keel_log_rewrite_"));
    if (!rows.length) {
      return h("p", {class: "muted"},
        "No log rewrite (compaction) metrics yet: no compacted partition has been cleaned since the broker started.");
    }
    return h("div", {class: "scroll"}, table(["Metric", "Topic", "Partition", "Value"], rows.slice(0, 200).map((x) => [
      x.name.replace(/^keel_log_rewrite_/, ""), x.labels.topic || "–", x.labels.partition || "–",
      rewriteValue(x.name, x.value)]),
    {id: "rewrites"}));
  }

  Keel.page(/^\/$/, async (ctx) => {
    const brokers = h("section", {class: "card"}, loading("the broker"));
    const canvases = {records: h("canvas", {"aria-label": "Records per second, produced and fetched", role: "img"}),
      bytes: h("canvas", {"aria-label": "Bytes per second, produced and fetched", role: "img"}),
      latency: h("canvas", {"aria-label": "Produce and fetch latency in milliseconds", role: "img"})};
    const disk = section("Disk use per topic", loading("sizes"));
    const rewrites = section("Log rewrites (compaction)", loading("metrics"));
    const plugins = h("section", {class: "card"}, h("h2", null, "Plugins"), loading("plugins"));
    clear(ctx.root, h("h1", null, "Overview"), brokers,
      h("div", {class: "grid"},
        section("Records per second", h("div", {class: "chart"}, canvases.records)),
        section("Bytes per second", h("div", {class: "chart"}, canvases.bytes)),
        section("Request latency (ms)", h("div", {class: "chart"}, canvases.latency))),
      h("div", {class: "grid", style: "margin-top:16px"}, disk, rewrites), plugins);

    const charts = {
      records: lineChart(canvases.records, ["produced", "fetched"], {unit: "records/s"}),
      bytes: lineChart(canvases.bytes, ["in", "out"], {unit: "bytes/s"}),
      latency: lineChart(canvases.latency, ["produce mean", "produce p99", "fetch mean", "fetch p99"], {unit: "ms"}),
    };
    ctx.onLeave(() => Object.values(charts).forEach((c) => c.chart.destroy()));

    ctx.every(10000, () => brokerCard(ctx, brokers));
    ctx.guard(() => pluginsCard(plugins));
    let prev = null;
    ctx.every(kPollMs, async () => {
      const text = await api("GET", "/metrics");
      const now = {t: performance.now(), s: parseMetrics(text)};
      if (prev) {
        const dt = (now.t - prev.t) / 1000;
        const rate = (name) => Math.max(0, (sumMetric(now.s, name) - sumMetric(prev.s, name)) / dt);
        const label = new Date().toLocaleTimeString();
        charts.records.push(label, [rate("keel_records_in_total"), rate("keel_records_out_total")]);
        charts.bytes.push(label, [rate("keel_bytes_in_total"), rate("keel_bytes_out_total")]);
        charts.latency.push(label, [...latency(prev.s, now.s, kProduceApis), ...latency(prev.s, now.s, kFetchApis)]);
      }
      prev = now;
      clear(disk, h("h2", null, "Disk use per topic"), diskTable(now.s));
      clear(rewrites, h("h2", null, "Log rewrites (compaction)"), rewriteTable(now.s));
    });
  }, "Overview");
})();
