// Topic detail (#/topics/{t}?page=N): partitions with watermarks, size,
// leader and ISR (GET /cluster), 100 to a page; segments (GET .../segments),
// settings and Kafka configs; add partitions; delete the topic.
"use strict";

(() => {
  const {h, api, clear, section, table, enc, fmtNum, fmtBytes, fmtTime, field, setQuery} = Keel;
  const kPageSize = 100;

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

  Keel.page(/^\/topics\/([^/]+)$/, async (ctx, [topic], query) => {
    clear(ctx.root, h("h1", null, `Topic ${topic}`), Keel.loading("the topic"));
    const [t, cluster] = await Promise.all([api("GET", `/topics/${enc(topic)}`),
      api("GET", "/cluster").catch((e) => { Keel.report(e); return null; })]);
    const view = cluster && cluster.topics.find((x) => x.name === topic);
    const state = (p) => (view ? view.partitions.find((x) => x.partition === p) : null);

    const row = (p) => {
      const st = state(p.partition);
      const segCell = h("td", {colspan: "9"});
      const segRow = h("tr", {hidden: true}, segCell);
      const segButton = h("button", {type: "button", class: "secondary", "data-segments": String(p.partition),
        onclick: () => ctx.guard(async () => {
          await segments(topic, p.partition, segCell, segButton);
          segRow.hidden = false;
        })}, "Segments");
      return [h("tr", null,
        h("td", null, h("a", {href: `#/topics/${enc(topic)}/messages?partition=${p.partition}`}, String(p.partition))),
        h("td", {class: "num"}, fmtNum(p.log_start_offset)), h("td", {class: "num"}, fmtNum(p.high_watermark)),
        h("td", {class: "num"}, fmtNum(p.log_end_offset)),
        h("td", {class: "num"}, `${fmtBytes(p.size_bytes)} in ${fmtNum(p.segments)} segment${p.segments === 1 ? "" : "s"}`),
        h("td", null, st ? (st.leader >= 0 ? `broker ${st.leader}` : "none") : "–"),
        h("td", null, st ? st.replicas.join(", ") : "–"),
        h("td", null, st ? h("span", {class: st.under_replicated ? "bad" : ""}, st.isr.join(", ")) : "–"),
        h("td", null, segButton)), segRow];
    };
    // Pages of kPageSize partitions: a topic may have thousands.
    const pages = Math.max(1, Math.ceil(t.partitions.length / kPageSize));
    let page = Math.min(pages, Math.max(1, Number(query.page) || 1));
    const tbody = h("tbody");
    const pageInfo = h("span", {id: "partition-page-info"});
    const prev = h("button", {type: "button", class: "secondary", id: "partition-prev-page", onclick: () => show(page - 1)},
      "‹ Previous");
    const next = h("button", {type: "button", class: "secondary", id: "partition-next-page", onclick: () => show(page + 1)},
      "Next ›");
    function show(p) {
      page = p;
      setQuery({page: page > 1 ? page : ""});
      clear(tbody, t.partitions.slice((page - 1) * kPageSize, page * kPageSize).map(row).flat());
      pageInfo.textContent = `Partitions ${fmtNum((page - 1) * kPageSize)}–${fmtNum(Math.min(page * kPageSize, t.partitions.length) - 1)}, page ${page} of ${pages}`;
      prev.disabled = page <= 1;
      next.disabled = page >= pages;
    }
    show(page);

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
            .map((x, i) => h("th", {scope: "col", class: i >= 1 && i <= 4 ? "num" : null}, x)))), tbody)),
        pages > 1 ? h("nav", {class: "pager", "aria-label": "Partition pages"}, prev, pageInfo, next) : null),
      h("div", {class: "grid"},
        section("Strategies and settings (Keel)", t.settings ? h("div", {id: "settings"}, kv(t.settings))
          : h("p", {class: "muted"}, "Not shown: DESCRIBE_CONFIGS on this topic is needed.")),
        section("Configs (Kafka names)", t.configs ? h("div", {id: "configs", class: "scroll"}, kv(t.configs))
          : h("p", {class: "muted"}, "Not shown: DESCRIBE_CONFIGS on this topic is needed."))),
      section("Administration", addForm, addResult, h("p", null, del)));
  }, (t) => `Topic ${t}`);
})();
