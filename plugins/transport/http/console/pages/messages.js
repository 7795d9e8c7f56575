// Message browser (#/topics/{t}/messages?partition=p): newest N, from an
// offset or from a time; keys and values as text, pretty JSON or hex;
// headers; follow mode (long polls with timeout_ms). Records are fetched in
// base64 so that every byte can be shown in each format.
"use strict";

(() => {
  const {h, api, clear, enc, fmtNum, fmtTime, field} = Keel;
  const kMaxRows = 1000;
  const kFollowWaitMs = 15000;

  function bytesOf(b64) {
    const s = atob(b64);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; ++i) out[i] = s.charCodeAt(i);
    return out;
  }
  function hex(bytes) {
    const lines = [];
    for (let i = 0; i < bytes.length; i += 16) {
      const row = [...bytes.slice(i, i + 16)];
      lines.push(`${i.toString(16).padStart(6, "0")}  ${row.map((b) => b.toString(16).padStart(2, "0")).join(" ").padEnd(48)} ` +
        row.map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : ".")).join(""));
    }
    return lines.join("\n");
  }
  // The bytes as the chosen format; text that is not UTF-8 falls back to hex.
  function show(b64, format) {
    if (b64 === null || b64 === undefined) return h("span", {class: "muted"}, "null");
    const bytes = bytesOf(b64);
    if (format === "hex") return h("pre", {class: "hex"}, hex(bytes));
    let text;
    try { text = new TextDecoder("utf-8", {fatal: true}).decode(bytes); } catch (_) {
      return h("pre", {class: "hex", title: "not UTF-8: shown in hex"}, hex(bytes));
    }
    if (format === "json") {
      try { return h("pre", {class: "json"}, JSON.stringify(JSON.parse(text), null, 2)); } catch (_) { /* not JSON */ }
    }
    return h("pre", null, text);
  }
  function recordRow(r, format) {
    const headers = (r.headers || []).map((x) => h("div", null, h("span", {class: "tag"}, x.key), show(x.value, "text")));
    return h("tr", {"data-offset": String(r.offset)}, h("td", null, fmtNum(r.offset)), h("td", null, fmtTime(r.timestamp)),
      h("td", {class: "key"}, show(r.key, format)), h("td", {class: "value"}, show(r.value, format)), h("td", null, headers));
  }

  Keel.page(/^\/topics\/([^/]+)\/messages$/, async (ctx, [topic], query) => {
    clear(ctx.root, h("h1", null, `Messages of ${topic}`), Keel.loading("the topic"));
    const t = await api("GET", `/topics/${enc(topic)}`);
    const partition = h("select", {id: "partition"}, t.partitions.map((p) =>
      h("option", {value: String(p.partition), selected: String(p.partition) === (query.partition || "0")}, String(p.partition))));
    const mode = h("select", {id: "mode"}, h("option", {value: "newest", selected: !query.offset}, "Newest N"),
      h("option", {value: "offset", selected: !!query.offset}, "From offset"), h("option", {value: "timestamp"}, "From time"));
    const count = h("input", {type: "number", id: "count", min: "1", max: "1000", value: "50"});
    const offset = h("input", {type: "number", id: "offset", min: "0", value: query.offset || "0"});
    const time = h("input", {type: "datetime-local", id: "time", step: "1"});
    const format = h("select", {id: "format"}, ["text", "json", "hex"].map((f) => h("option", {value: f}, f)));
    const follow = h("input", {type: "checkbox", id: "follow"});
    const status = h("p", {class: "muted", id: "browse-status", role: "status"});
    const tbody = h("tbody", {id: "records"});
    let records = [];
    let run = 0; // each load or follow loop checks it is still the current one

    const redraw = () => clear(tbody, records.map((r) => recordRow(r, format.value)));
    format.addEventListener("change", redraw);
    const sync = () => {
      offset.parentElement.hidden = mode.value !== "offset";
      time.parentElement.hidden = mode.value !== "timestamp";
    };
    mode.addEventListener("change", sync);

    async function fetchFrom(p, params, signal) {
      const qs = new URLSearchParams({value_format: "base64", ...params});
      return api("GET", `/topics/${enc(topic)}/partitions/${p}/records?${qs}`, undefined, {signal});
    }

    async function load() {
      const mine = ++run;
      const p = Number(partition.value);
      const n = Math.max(1, Math.min(1000, Number(count.value) || 50));
      status.textContent = "Loading…";
      let params;
      if (mode.value === "newest") {
        const w = await api("GET", `/topics/${enc(topic)}/partitions/${p}`);
        params = {offset: Math.max(w.log_start_offset, w.high_watermark - n), max_records: n};
      } else if (mode.value === "offset") {
        params = {offset: Math.max(0, Number(offset.value) || 0), max_records: n};
      } else {
        if (!time.value) throw new Error("choose a time to read from");
        params = {timestamp: new Date(time.value).getTime(), max_records: n};
      }
      const r = await fetchFrom(p, params);
      if (mine !== run) return;
      records = r.records;
      redraw();
      status.textContent = `${fmtNum(records.length)} record${records.length === 1 ? "" : "s"} of partition ${p}; ` +
        `high watermark ${fmtNum(r.high_watermark)}${follow.checked ? "; following…" : ""}`;
      if (follow.checked) followFrom(mine, p, r.next_offset);
    }

    // Long polls from `next`, appending what arrives, until another load,
    // follow is unticked, or the page is left.
    async function followFrom(mine, p, next) {
      while (mine === run && follow.checked && ctx.alive()) {
        let r;
        try {
          r = await fetchFrom(p, {offset: next, timeout_ms: kFollowWaitMs, max_records: 500}, ctx.signal);
        } catch (e) {
          Keel.report(e);
          follow.checked = false;
          break;
        }
        if (mine !== run) return;
        next = r.next_offset;
        if (r.records.length) {
          records = records.concat(r.records).slice(-kMaxRows);
          for (const rec of r.records) tbody.append(recordRow(rec, format.value));
          while (tbody.children.length > kMaxRows) tbody.firstChild.remove();
        }
        status.textContent = `${fmtNum(records.length)} records of partition ${p}; high watermark ${fmtNum(r.high_watermark)}; following…`;
      }
    }
    follow.addEventListener("change", () => { if (follow.checked) ctx.guard(load); else ++run; });

    const form = h("form", {id: "browse", onsubmit: (e) => { e.preventDefault(); ctx.guard(load); }},
      field("Partition", partition), field("Read", mode), field("Count", count), field("Offset", offset),
      field("Time (local)", time), field("Show as", format),
      h("div", {class: "field"}, h("label", {for: "follow"}, "Follow"), follow),
      h("button", {type: "submit", id: "load"}, "Load"));
    clear(ctx.root, h("h1", null, `Messages of `, h("a", {href: `#/topics/${enc(topic)}`}, topic)),
      h("div", {class: "toolbar"}, h("a", {href: `#/topics/${enc(topic)}/produce`}, "Produce a record")),
      h("section", {class: "card"}, form), status,
      h("div", {class: "card scroll"}, h("table", {id: "messages"},
        h("thead", null, h("tr", null, ["Offset", "Timestamp", "Key", "Value", "Headers"].map((x) => h("th", {scope: "col"}, x)))), tbody)));
    sync();
    ctx.guard(load);
  }, (t) => `Messages of ${t}`);
})();
