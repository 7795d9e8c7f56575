// Topic list (#/topics?q=...&page=N): one GET /topics for names and
// partition counts, filtered and paged here; sizes only for the topics on
// screen (GET /topics/{t}, which sizes every partition, a few at a time).
"use strict";

(() => {
  const {h, api, clear, enc, fmtNum, fmtBytes, setQuery} = Keel;
  const kPageSize = 25;
  const kParallel = 8;

  // Runs fns (returning promises) at most `limit` at a time.
  async function pool(fns, limit) {
    let next = 0;
    const worker = async () => { while (next < fns.length) await fns[next++](); };
    await Promise.all(Array.from({length: Math.min(limit, fns.length)}, worker));
  }

  Keel.page(/^\/topics$/, async (ctx, _params, query) => {
    const search = h("input", {type: "search", id: "topic-search", placeholder: "Filter by name", value: query.q || "",
      "aria-label": "Filter topics by name", autocomplete: "off"});
    const body = h("div", null, Keel.loading("topics"));
    clear(ctx.root, h("h1", null, "Topics"),
      h("div", {class: "toolbar"}, search, h("a", {href: "#/create-topic"}, "Create topic")), body);
    const list = await api("GET", "/topics");
    const all = list.topics.map((t) => t.name).sort();
    const byName = new Map(list.topics.map((t) => [t.name, t]));
    let page = Math.max(1, Number(query.page) || 1);
    let sizes = null; // the AbortController of the sizes being fetched

    function render() {
      const q = search.value.trim().toLowerCase();
      const names = q ? all.filter((n) => n.toLowerCase().includes(q)) : all;
      const pages = Math.max(1, Math.ceil(names.length / kPageSize));
      page = Math.min(page, pages);
      setQuery({q: search.value.trim(), page: page > 1 ? page : ""});
      const shown = names.slice((page - 1) * kPageSize, page * kPageSize);
      const cells = new Map();
      const rows = shown.map((n) => {
        const t = byName.get(n);
        const size = h("td", {class: "num size", "data-topic": n}, "…");
        cells.set(n, size);
        return h("tr", null,
          h("td", null, h("a", {href: `#/topics/${enc(n)}`}, n), t.internal ? h("span", {class: "tag"}, "internal") : null),
          h("td", {class: "num"}, fmtNum(t.partition_count)), size,
          h("td", null, h("a", {href: `#/topics/${enc(n)}/messages`}, "messages")));
      });
      const go = (p) => { page = p; render(); window.scrollTo(0, 0); };
      clear(body,
        h("p", {class: "muted", id: "topic-summary", role: "status"},
          `${fmtNum(names.length)} of ${fmtNum(all.length)} topics${q ? ` matching “${q}”` : ""}`),
        names.length ? h("table", {id: "topics"},
          h("thead", null, h("tr", null, h("th", null, "Name"), h("th", {class: "num"}, "Partitions"),
            h("th", {class: "num"}, "Size"), h("th", null, ""))),
          h("tbody", null, rows)) : h("p", null, all.length ? "No topic matches." : "No topics yet."),
        h("nav", {class: "pager", "aria-label": "Pages"},
          h("button", {type: "button", class: "secondary", id: "prev-page", disabled: page <= 1,
            onclick: () => go(page - 1)}, "‹ Previous"),
          h("span", {id: "page-info"}, `Page ${page} of ${pages}`),
          h("button", {type: "button", class: "secondary", id: "next-page", disabled: page >= pages,
            onclick: () => go(page + 1)}, "Next ›")));
      // Sizes for this page only; a newer page aborts the older requests.
      if (sizes) sizes.abort();
      sizes = new AbortController();
      const signal = sizes.signal;
      const jobs = [];
      for (const n of shown) {
        jobs.push(async () => {
          if (signal.aborted) return;
          try {
            const t = await api("GET", `/topics/${enc(n)}`, undefined, {signal});
            cells.get(n).textContent = fmtBytes(t.partitions.reduce((sum, p) => sum + p.size_bytes, 0));
          } catch (e) {
            if (e.name !== "AbortError") { cells.get(n).textContent = "error"; Keel.report(e); }
          }
        });
      }
      pool(jobs, kParallel);
    }

    ctx.onLeave(() => sizes && sizes.abort());
    let timer = 0;
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => { page = 1; render(); }, 120);
    });
    render();
  }, "Topics");
})();
