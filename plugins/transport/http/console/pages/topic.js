// Topic detail (#/topics/{t}): partitions with watermarks, size, leader and
// ISR (GET /cluster), segments (GET .../segments), settings and Kafka
// configs; add partitions; delete the topic.
"use strict";

(() => {
  const {h, api, clear, section, table, enc, fmtNum, fmtBytes, fmtTime, field} = Keel;

  async function segments(topic, p, cell, button) {
    button.disabled = true;
    try {
      const s = await api("GET", `/topics/${enc(topic)}/partitions/${p}/segments`);
      clear(cell, table(["Base offset", "Next offset", "Size", "Newest record", "Modified", ""],
        s.segments.map((x) => [fmtNum(x.base_offset), fmtNum(x.next_offset), fmtBytes(x.size_bytes), fmtTime(x.max_timestamp),
          fmtTime(x.last_modified_ms), x.active ? "active" : ""]), {class: "segments", "data-partition": String(p)}));
    } finally {
      button.disabled = false;
    }
  }

  Keel.page(/^\/topics\/([^/]+)$/, async (ctx, [topic]) => {
    clear(ctx.root, h("h1", null, `Topic ${topic}`), Keel.loading("the topic"));
    const [t, cluster] = await Promise.all([api("GET", `/topics/${enc(topic)}`),
      api("GET", "/cluster").catch((e) => { Keel.report(e); return null; })]);
    const view = cluster && cluster.topics.find((x) => x.name === topic);
    const state = (p) => (view ? view.partitions.find((x) => x.partition === p) : null);

    const partitionRows = t.partitions.map((p) => {
      const st = state(p.partition);
      const size = h("td", {class: "num"}, "…");
      const segCell = h("td", {colspan: "9"});
      const segRow = h("tr", {hidden: true}, segCell);
      const segButton = h("button", {type: "button", class: "secondary", "data-segments": String(p.partition),
        onclick: () => ctx.guard(async () => {
          await segments(topic, p.partition, segCell, segButton);
          segRow.hidden = false;
        })}, "Segments");
      ctx.guard(async () => {
        const d = await api("GET", `/topics/${enc(topic)}/partitions/${p.partition}`);
        size.textContent = `${fmtBytes(d.size_bytes)} in ${fmtNum(d.segments)} segment${d.segments === 1 ? "" : "s"}`;
      });
      return [h("tr", null,
        h("td", null, h("a", {href: `#/topics/${enc(topic)}/messages?partition=${p.partition}`}, String(p.partition))),
        h("td", {class: "num"}, fmtNum(p.log_start_offset)), h("td", {class: "num"}, fmtNum(p.high_watermark)),
        h("td", {class: "num"}, fmtNum(p.log_end_offset)), size,
        h("td", null, st ? (st.leader >= 0 ? `broker ${st.leader}` : "none") : "–"),
        h("td", null, st ? st.replicas.join(", ") : "–"),
        h("td", null, st ? h("span", {class: st.under_replicated ? "bad" : ""}, st.isr.join(", ")) : "–"),
        h("td", null, segButton)), segRow];
    });

    const kv = (obj) => table(["Name", "Value"], Object.entries(obj || {}).sort()
      .map(([k, v]) => [h("span", {class: "mono"}, k), h("span", {class: "mono"}, typeof v === "string" ? v : JSON.stringify(v))]));

    const count = h("input", {type: "number", min: String(t.partition_count + 1), max: "10000",
      value: String(t.partition_count + 1), id: "partition-count-input", required: true});
    const addResult = h("div", {role: "status"});
    const addForm = h("form", {id: "add-partitions", onsubmit: (e) => {
      e.preventDefault();
      clear(addResult); // a refusal must not leave the previous success on screen
      ctx.guard(async () => {
        const r = await api("POST", `/topics/${enc(topic)}/partitions`, {count: Number(count.value)});
        clear(addResult, h("p", {class: "result"}, `${topic} has ${r.partition_count} partitions now.`));
        Keel.reload();
      });
    }}, field("New partition count", count), h("button", {type: "submit"}, "Add partitions"));

    const del = h("button", {type: "button", class: "danger", id: "delete-topic", onclick: () => {
      if (!window.confirm(`Delete topic ${topic} and all its records? This cannot be undone.`)) return;
      ctx.guard(async () => {
        await api("DELETE", `/topics/${enc(topic)}`);
        location.hash = "#/topics";
      });
    }}, "Delete topic");

    clear(ctx.root, h("h1", null, `Topic ${topic}`, t.internal ? h("span", {class: "tag"}, "internal") : null),
      h("div", {class: "toolbar"},
        h("a", {href: `#/topics/${enc(topic)}/messages`}, "Browse messages"),
        h("a", {href: `#/topics/${enc(topic)}/produce`}, "Produce a record"),
        t.declared_in_config ? h("span", {class: "tag"}, "declared in the config file") : null),
      section(`${t.partition_count} partition${t.partition_count === 1 ? "" : "s"}`, h("div", {class: "scroll"},
        h("table", {id: "partitions"}, h("thead", null, h("tr", null,
          ["Partition", "Log start", "High watermark", "Log end", "Size", "Leader", "Replicas", "ISR", ""]
            .map((x, i) => h("th", {scope: "col", class: i >= 1 && i <= 4 ? "num" : null}, x)))), h("tbody", null, partitionRows.flat())))),
      h("div", {class: "grid"},
        section("Strategies and settings (Keel)", t.settings ? h("div", {id: "settings"}, kv(t.settings))
          : h("p", {class: "muted"}, "Not shown: DESCRIBE_CONFIGS on this topic is needed.")),
        section("Configs (Kafka names)", t.configs ? h("div", {id: "configs", class: "scroll"}, kv(t.configs))
          : h("p", {class: "muted"}, "Not shown: DESCRIBE_CONFIGS on this topic is needed."))),
      section("Administration", addForm, addResult, h("p", null, del)));
  }, (t) => `Topic ${t}`);
})();
