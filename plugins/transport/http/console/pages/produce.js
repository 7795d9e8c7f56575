// Produce (#/topics/{t}/produce): one record from a form (key, value,
// headers, optional partition) with POST /topics/{t}/records; shows where
// it was stored.
"use strict";

(() => {
  const {h, api, clear, enc, field} = Keel;

  // "name: value" per line; a line without ':' is a header with an empty value.
  function parseHeaders(text) {
    return text.split("\n").filter((l) => l.trim()).map((l) => {
      const i = l.indexOf(":");
      return i < 0 ? {key: l.trim(), value: ""} : {key: l.slice(0, i).trim(), value: l.slice(i + 1).trim()};
    });
  }

  Keel.page(/^\/topics\/([^/]+)\/produce$/, async (ctx, [topic]) => {
    clear(ctx.root, h("h1", null, `Produce to ${topic}`), Keel.loading("the topic"));
    const t = await api("GET", `/topics/${enc(topic)}`);
    const key = h("input", {type: "text", id: "key", placeholder: "empty: no key"});
    const nullKey = h("input", {type: "checkbox", id: "null-key", checked: true});
    const value = h("textarea", {id: "value", rows: "5", placeholder: "text or JSON"});
    const headers = h("textarea", {id: "headers", rows: "3", placeholder: "name: value (one per line)"});
    const partition = h("select", {id: "produce-partition"}, h("option", {value: ""}, "chosen by the partitioner"),
      t.partitions.map((p) => h("option", {value: String(p.partition)}, String(p.partition))));
    const result = h("div", {id: "produce-result", role: "status"});
    key.addEventListener("input", () => { nullKey.checked = key.value === ""; });

    const form = h("form", {class: "stack", id: "produce", onsubmit: (e) => {
      e.preventDefault();
      clear(result); // a refusal must not leave the previous success on screen
      ctx.guard(async () => {
        const record = {value: value.value, headers: parseHeaders(headers.value)};
        record.key = nullKey.checked && key.value === "" ? null : key.value;
        if (partition.value !== "") record.partition = Number(partition.value);
        const r = await api("POST", `/topics/${enc(topic)}/records`, {records: [record]});
        const at = r.records[0];
        clear(result, h("p", {class: "result"}, "Stored in partition ", h("strong", {id: "produced-partition"}, String(at.partition)),
          " at offset ", h("strong", {id: "produced-offset"}, String(at.offset)), ". ",
          h("a", {href: `#/topics/${enc(topic)}/messages?partition=${at.partition}&offset=${at.offset}`}, "See it")));
      });
    }},
    field("Key", key), h("div", {class: "field"}, h("label", null, nullKey, " null key when empty")),
    field("Value", value), field("Headers", headers, "One header per line, name: value"),
    field("Partition", partition), h("div", null, h("button", {type: "submit", id: "send"}, "Produce")));
    clear(ctx.root, h("h1", null, "Produce to ", h("a", {href: `#/topics/${enc(topic)}`}, topic)),
      h("section", {class: "card"}, form, result));
  }, (t) => `Produce to ${t}`);
})();
