// Consumer groups (#/groups): every group with committed offsets or
// members (GET /groups), filtered here.
"use strict";

(() => {
  const {h, api, clear, enc, fmtNum} = Keel;

  Keel.page(/^\/groups$/, async (ctx, _params, query) => {
    const search = h("input", {type: "search", id: "group-search", placeholder: "Filter by id", value: query.q || "",
      "aria-label": "Filter groups by id", autocomplete: "off"});
    const body = h("div", null, Keel.loading("groups"));
    clear(ctx.root, h("h1", null, "Consumer groups"), h("div", {class: "toolbar"}, search), body);
    const all = (await api("GET", "/groups")).groups.slice().sort();
    const render = () => {
      const q = search.value.trim().toLowerCase();
      const shown = q ? all.filter((g) => g.toLowerCase().includes(q)) : all;
      Keel.setQuery({q: search.value.trim()});
      clear(body, h("p", {class: "muted", role: "status"}, `${fmtNum(shown.length)} of ${fmtNum(all.length)} groups`),
        shown.length ? h("ul", {id: "groups"}, shown.slice(0, 500).map((g) => h("li", null, h("a", {href: `#/groups/${enc(g)}`}, g))))
          : h("p", null, all.length ? "No group matches." : "No consumer groups yet."),
        shown.length > 500 ? h("p", {class: "muted"}, "The first 500 are listed; filter to find others.") : null);
    };
    search.addEventListener("input", render);
    render();
  }, "Consumer groups");
})();
