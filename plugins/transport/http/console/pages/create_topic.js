// Create topic (#/create-topic): name and partitions, then either Kafka
// topic configs (cleanup.policy, retention.ms, ...) or Keel settings
// (strategies by name and their settings) -> POST /topics.
"use strict";

(() => {
  const {h, api, clear, enc, field} = Keel;

  // "key=value" per line, for more configs or plugin settings.
  function parsePairs(text) {
    const out = {};
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      const i = line.indexOf("=");
      if (i < 0) throw new Error(`"${line.trim()}" is not key=value`);
      out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
    return out;
  }
  const numberOrText = (v) => (/^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v);

  Keel.page(/^\/create-topic$/, (ctx) => {
    const name = h("input", {type: "text", id: "topic-name", required: true, pattern: "[a-zA-Z0-9._\\-]{1,249}",
      title: "1–249 characters of a-z A-Z 0-9 . _ -"});
    const partitions = h("input", {type: "number", id: "topic-partitions", min: "1", max: "10000", placeholder: "topic default"});
    const kind = h("select", {id: "settings-kind"}, h("option", {value: "configs"}, "Kafka configs"),
      h("option", {value: "settings"}, "Keel settings"));
    // Kafka names
    const policy = h("select", {id: "cleanup-policy"}, h("option", {value: ""}, "topic default"),
      ["delete", "compact", "compact,delete"].map((p) => h("option", {value: p}, p)));
    const retentionMs = h("input", {type: "number", id: "retention-ms", placeholder: "default", min: "-1"});
    const retentionBytes = h("input", {type: "number", id: "retention-bytes", placeholder: "default", min: "-1"});
    const segmentBytes = h("input", {type: "number", id: "segment-bytes", placeholder: "default", min: "1"});
    const more = h("textarea", {id: "more-configs", rows: "3", placeholder: "min.cleanable.dirty.ratio=0.3"});
    // Keel names
    const strategies = ["compaction", "time", "size"].map((s) => h("input", {type: "checkbox", id: `retention-${s}`, value: s}));
    const index = ["sparse-mmap", "timestamp"].map((s) => h("input", {type: "checkbox", id: `index-${s}`, value: s, checked: true}));
    const partitioner = h("select", {id: "partitioner"}, ["key-hash", "round-robin"].map((p) => h("option", {value: p}, p)));
    const pluginSettings = h("textarea", {id: "plugin-settings", rows: "3",
      placeholder: "time.retention_ms=86400000\ncompaction.min_cleanable_dirty_ratio=0.3"});
    const result = h("div", {id: "create-result", role: "status"});

    const kafkaBox = h("fieldset", {id: "kafka-configs"}, h("legend", null, "Kafka topic configs"),
      field("cleanup.policy", policy), field("retention.ms", retentionMs), field("retention.bytes", retentionBytes),
      field("segment.bytes", segmentBytes), field("More configs", more, "one name=value per line"));
    const check = (box, label) => h("label", {class: "check"}, box, ` ${label} `);
    const keelBox = h("fieldset", {id: "keel-settings"}, h("legend", null, "Keel settings"),
      h("div", {class: "field"}, h("span", {class: "label"}, "Retention strategies"),
        h("div", null, strategies.map((b) => check(b, b.value))),
        h("small", null, "none: keep forever; compaction = cleanup.policy=compact")),
      h("div", {class: "field"}, h("span", {class: "label"}, "Indexes"), h("div", null, index.map((b) => check(b, b.value)))),
      field("Partitioner", partitioner), field("Strategy settings", pluginSettings, "strategy.key=value per line"));
    const sync = () => { kafkaBox.hidden = kind.value !== "configs"; keelBox.hidden = kind.value !== "settings"; };
    kind.addEventListener("change", sync);

    function body() {
      const b = {name: name.value.trim()};
      if (partitions.value) b.partitions = Number(partitions.value);
      if (kind.value === "configs") {
        const c = {};
        if (policy.value) c["cleanup.policy"] = policy.value;
        if (retentionMs.value) c["retention.ms"] = retentionMs.value;
        if (retentionBytes.value) c["retention.bytes"] = retentionBytes.value;
        if (segmentBytes.value) c["segment.bytes"] = segmentBytes.value;
        Object.assign(c, parsePairs(more.value));
        if (Object.keys(c).length) b.configs = c;
      } else {
        const s = {retention: strategies.filter((x) => x.checked).map((x) => x.value),
          index: index.filter((x) => x.checked).map((x) => x.value), partitioner: partitioner.value};
        const plugins = {};
        for (const [k, v] of Object.entries(parsePairs(pluginSettings.value))) {
          const dot = k.indexOf(".");
          if (dot < 0) throw new Error(`strategy setting "${k}" must be strategy.key`);
          (plugins[k.slice(0, dot)] ||= {})[k.slice(dot + 1)] = numberOrText(v);
        }
        if (Object.keys(plugins).length) s.plugins = plugins;
        b.settings = s;
      }
      return b;
    }

    const form = h("form", {class: "stack", id: "create-topic", onsubmit: (e) => {
      e.preventDefault();
      clear(result); // a refusal must not leave the previous success on screen
      ctx.guard(async () => {
        const t = await api("POST", "/topics", body());
        clear(result, h("p", {class: "result"}, "Created ", h("a", {href: `#/topics/${enc(t.name)}`, id: "created-topic"}, t.name),
          ` with ${t.partition_count} partition${t.partition_count === 1 ? "" : "s"}.`));
      });
    }}, field("Name", name), field("Partitions", partitions), field("Settings as", kind), kafkaBox, keelBox,
    h("div", null, h("button", {type: "submit", id: "create"}, "Create topic")));
    clear(ctx.root, h("h1", null, "Create topic"), h("section", {class: "card"}, form, result));
    sync();
  }, "Create topic");
})();
