// Group detail (#/groups/{g}): state, members and their assignment
// (GET /groups/{g}), lag per partition polled with a chart over time
// (GET /groups/{g}/lag), and resetting an empty group's offsets
// (POST /groups/{g}/offsets/reset; the broker refuses with 409
// group_has_members while the group has live members).
"use strict";

(() => {
  const {h, api, clear, section, table, enc, fmtNum, field, lineChart} = Keel;
  const kPollMs = 3000;

  function describeCard(card, g) {
    const members = g.members || [];
    clear(card, h("h2", null, "State"),
      h("dl", {class: "stats"},
        h("div", null, h("dt", null, "State"), h("dd", {id: "group-state"}, g.state)),
        h("div", null, h("dt", null, "Members"), h("dd", null, fmtNum(members.length))),
        h("div", null, h("dt", null, "Protocol"), h("dd", null, [g.protocol_type, g.protocol].filter(Boolean).join(" / ") || "–")),
        h("div", null, h("dt", null, "Generation"),
          h("dd", null, g.generation === undefined || g.generation < 0 ? "–" : String(g.generation))),
        h("div", null, h("dt", null, "Leader"), h("dd", {class: "mono"}, g.leader || "–"))),
      members.length ? h("div", {class: "scroll"}, table(["Member", "Instance", "Client", "Host", "Assignment"], members.map((m) => [
        h("span", {class: "mono"}, m.member_id), m.group_instance_id || "–", m.client_id || "–", m.client_host || "–",
        m.assignment.map((a) => `${a.topic}-${a.partition}`).join(", ") || "–"]), {id: "members"}))
        : h("p", {class: "muted"}, "No live members."));
  }

  function resetForm(ctx, group, topics) {
    const topic = h("select", {id: "reset-topic", required: true}, topics.map((t) => h("option", {value: t}, t)));
    const userTopics = topics.filter((t) => !t.startsWith("__"));
    if (userTopics.length) topic.value = userTopics[0];
    const partitions = h("input", {type: "text", id: "reset-partitions", placeholder: "all", inputmode: "numeric"});
    const to = h("select", {id: "reset-to"}, ["earliest", "latest", "timestamp", "offset"].map((x) => h("option", {value: x}, x)));
    const time = h("input", {type: "datetime-local", id: "reset-time", step: "1"});
    const offset = h("input", {type: "number", id: "reset-offset", min: "0", value: "0"});
    const result = h("div", {id: "reset-result", role: "status"});
    const sync = () => {
      time.parentElement.hidden = to.value !== "timestamp";
      offset.parentElement.hidden = to.value !== "offset";
    };
    to.addEventListener("change", sync);
    const form = h("form", {id: "reset", onsubmit: (e) => {
      e.preventDefault();
      clear(result); // a refusal must not leave the previous success on screen
      ctx.guard(async () => {
        const body = {topic: topic.value, to: to.value};
        if (partitions.value.trim()) body.partitions = partitions.value.split(",").map((x) => Number(x.trim()));
        if (to.value === "timestamp") body.timestamp = new Date(time.value).getTime();
        if (to.value === "offset") body.offset = Number(offset.value);
        const r = await api("POST", `/groups/${enc(group)}/offsets/reset`, body);
        clear(result, h("div", {class: "result"}, h("p", null, "Committed:"),
          table(["Topic", "Partition", "Offset"], r.offsets.map((o) => [o.topic, String(o.partition), fmtNum(o.offset)]),
            {id: "reset-offsets"})));
      });
    }}, field("Topic", topic), field("Partitions", partitions, "comma-separated; empty: all"), field("Reset to", to),
    field("Time (local)", time), field("Offset", offset), h("button", {type: "submit", id: "reset-submit"}, "Reset offsets"));
    const card = section("Reset offsets", h("p", {class: "muted"},
      "Only while the group has no live members: stop its consumers first (the broker refuses otherwise)."), form, result);
    sync();
    return card;
  }

  Keel.page(/^\/groups\/([^/]+)$/, async (ctx, [group]) => {
    const state = h("section", {class: "card"}, Keel.loading("the group"));
    const lag = h("div", {id: "lag"}, Keel.loading("lag"));
    const total = h("span", {id: "total-lag"}, "–");
    const canvas = h("canvas", {role: "img", "aria-label": "Total lag over time"});
    const reset = h("div");
    clear(ctx.root, h("h1", null, `Group ${group}`), state,
      h("div", {class: "grid"}, section(h("span", null, "Lag (total ", total, ")"), lag),
        section("Total lag over time", h("div", {class: "chart"}, canvas))), reset);
    const chart = lineChart(canvas, ["total lag"], {unit: "records"});
    ctx.onLeave(() => chart.chart.destroy());

    ctx.every(5000, async () => {
      try {
        describeCard(state, await api("GET", `/groups/${enc(group)}`));
      } catch (e) {
        clear(state, h("h2", null, "State"), h("p", {class: "bad"}, `${e.code || "error"}: ${e.message}`));
        throw e;
      }
    });
    // Every topic may be reset; those the group has offsets in come first.
    ctx.guard(async () => {
      const names = (await api("GET", "/topics")).topics.map((t) => t.name).sort();
      clear(reset, resetForm(ctx, group, names));
    });
    ctx.every(kPollMs, async () => {
      let l;
      try {
        l = await api("GET", `/groups/${enc(group)}/lag`);
      } catch (e) {
        // A group that has members but has committed nothing has no lag:
        // a state to show, not a failure.
        if (e.code !== "unknown_group") throw e;
        clear(lag, h("p", {class: "muted"}, "No committed offsets yet."));
        return;
      }
      total.textContent = fmtNum(l.total_lag);
      chart.push(new Date().toLocaleTimeString(), [l.total_lag]);
      clear(lag, h("div", {class: "scroll"}, table(["Topic", "Partition", "Committed", "Log start", "High watermark", "Lag"],
        l.partitions.map((p) => [h("a", {href: `#/topics/${enc(p.topic)}`}, p.topic), String(p.partition), fmtNum(p.committed_offset),
          fmtNum(p.log_start_offset), fmtNum(p.high_watermark),
          h("strong", {class: "lag", "data-partition": `${p.topic}-${p.partition}`}, fmtNum(p.lag))]),
        {id: "lag-table"})));
    });
  }, (g) => `Group ${g}`);
})();
