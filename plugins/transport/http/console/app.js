// Keel console: the hash router, the API client, the error banner and the
// small helpers the pages share. Pages (pages/*.js) register themselves with
// Keel.page(pattern, render); render(ctx, params, query) builds the page
// into ctx.root. Everything the console shows comes from the broker's HTTP
// API on the same origin (docs/protocol.md, "HTTP endpoints").
"use strict";

window.Keel = (() => {
  const pages = [];
  let current = null; // the page on screen: {controller, timers, leave}

  // ---- DOM

  // h("a", {href: "#/", class: "x", onclick: fn}, "text", child...)
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k === "value") el.value = v;
      else el.setAttribute(k, v === true ? "" : v);
    }
    append(el, children);
    return el;
  }
  function append(el, children) {
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  function clear(el, ...children) {
    el.replaceChildren();
    return append(el, children);
  }
  function table(headers, rows, props) {
    return h("table", props,
      h("thead", null, h("tr", null, headers.map((x) => h("th", {scope: "col"}, x)))),
      h("tbody", null, rows.map((r) => h("tr", null, r.map((c) => h("td", null, c))))));
  }
  function section(title, ...children) {
    return h("section", {class: "card"}, h("h2", null, title), ...children);
  }
  function loading(what) {
    return h("p", {class: "loading", role: "status"}, `Loading ${what}…`);
  }
  // A labelled form field: field("Partitions", h("input", ...)).
  function field(label, control, hint) {
    const id = control.id || `f-${Math.random().toString(36).slice(2)}`;
    control.id = id;
    return h("div", {class: "field"}, h("label", {for: id}, label), control,
      hint ? h("small", null, hint) : null);
  }

  // ---- formatting

  function fmtNum(n) {
    return n === null || n === undefined || Number.isNaN(n) ? "–" : Number(n).toLocaleString("en-US");
  }
  function fmtBytes(n) {
    if (n === null || n === undefined || n < 0) return "–";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; ++i; }
    return `${i ? n.toFixed(1) : n} ${units[i]}`;
  }
  function fmtTime(ms) {
    return ms === null || ms === undefined || ms < 0 ? "–" : new Date(ms).toISOString().replace("T", " ").replace("Z", " UTC");
  }

  // ---- errors

  class ApiError extends Error {
    constructor(status, code, message, where) {
      super(message);
      this.status = status;
      this.code = code;
      this.where = where;
    }
  }

  // Every failure reaches the banner (a failure repeated by polling once,
  // with a count) and stays until dismissed or until another page is opened.
  function report(err) {
    if (err && err.name === "AbortError") return; // the page was left: nothing failed
    const banner = document.getElementById("banner");
    const text = err instanceof ApiError
      ? `${err.where} → ${err.status ? "HTTP " + err.status + " " : ""}${err.code}: ${err.message}`
      : `${err && err.message ? err.message : err}`;
    for (const item of banner.children) {
      if (item.dataset.text === text) {
        item.dataset.count = String(Number(item.dataset.count) + 1);
        item.querySelector(".count").textContent = ` (×${item.dataset.count})`;
        return;
      }
    }
    const item = h("div", {class: "error", "data-text": text, "data-count": "1"},
      h("strong", null, err instanceof ApiError ? err.code : "error"), " ",
      h("span", {class: "message"}, text), h("span", {class: "count"}),
      h("button", {type: "button", class: "dismiss", "aria-label": "Dismiss", onclick: () => item.remove()}, "×"));
    if (err instanceof ApiError) item.dataset.code = err.code;
    banner.append(item);
    if (!(err instanceof ApiError)) console.warn("console:", err);
  }
  function clearBanner() {
    document.getElementById("banner").replaceChildren();
  }

  // ---- API client

  // fetch() on the same origin: with HTTP Basic authentication the browser
  // adds the credentials it was given for /ui/. Throws ApiError with the
  // broker's {"error": {"code", "message"}} for any answer but 2xx.
  async function api(method, path, body, opts = {}) {
    const init = {method, headers: {Accept: "application/json"}, credentials: "same-origin",
      signal: opts.signal || (current && current.controller.signal)};
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    const where = `${method} ${path}`;
    let res;
    try {
      // Absolute from the origin: a page opened as http://user:pass@host/ui/
      // has a base URL that fetch() refuses to resolve against.
      res = await fetch(location.origin + path, init);
    } catch (e) {
      if (e.name === "AbortError") throw e;
      throw new ApiError(0, "network_error", `the broker did not answer (${e.message})`, where);
    }
    const text = await res.text();
    const json = (res.headers.get("Content-Type") || "").startsWith("application/json");
    let data = text;
    if (json && text) {
      try { data = JSON.parse(text); } catch (e) {
        throw new ApiError(res.status, "bad_answer", `not JSON: ${e.message}`, where);
      }
    }
    if (!res.ok) {
      const e = data && data.error ? data.error : {code: `http_${res.status}`, message: text || res.statusText};
      throw new ApiError(res.status, e.code, e.message, where);
    }
    return data;
  }
  const enc = encodeURIComponent;

  // ---- Prometheus text

  // [{name, labels: {k: v}, value}] for every sample line.
  function parseMetrics(text) {
    const out = [];
    const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
    const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    for (const l of text.split("\n")) {
      if (!l || l[0] === "#") continue;
      const m = line.exec(l);
      if (!m) continue;
      const labels = {};
      if (m[2]) {
        for (const x of m[2].matchAll(label)) labels[x[1]] = x[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
      }
      out.push({name: m[1], labels, value: Number(m[3])});
    }
    return out;
  }
  function sumMetric(samples, name, filter) {
    let s = 0;
    for (const x of samples) if (x.name === name && (!filter || filter(x.labels))) s += x.value;
    return s;
  }

  // ---- charts (Chart.js 3, embedded from Debian's libjs-chart.js)

  // A line chart of the last `points` samples; push(label, [values]).
  function lineChart(canvas, names, opts = {}) {
    const colors = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2"];
    const chart = new Chart(canvas, {
      type: "line",
      data: {labels: [], datasets: names.map((n, i) => ({label: n, data: [], borderColor: colors[i % colors.length],
        backgroundColor: colors[i % colors.length], pointRadius: 0, borderWidth: 2, spanGaps: true}))},
      options: {animation: false, responsive: true, maintainAspectRatio: false,
        scales: {y: {beginAtZero: true, title: {display: !!opts.unit, text: opts.unit}}},
        plugins: {legend: {position: "bottom"}}},
    });
    const points = opts.points || 60;
    return {
      chart,
      push(label, values) {
        chart.data.labels.push(label);
        values.forEach((v, i) => chart.data.datasets[i].data.push(v));
        if (chart.data.labels.length > points) {
          chart.data.labels.shift();
          chart.data.datasets.forEach((d) => d.data.shift());
        }
        chart.update("none");
      },
    };
  }

  // ---- pages and router

  function page(pattern, render, title) {
    pages.push({pattern, render, title});
  }

  function leave() {
    if (!current) return;
    current.controller.abort();
    for (const t of current.timers) clearTimeout(t.id);
    for (const fn of current.leave) { try { fn(); } catch (e) { report(e); } }
    current = null;
  }

  // What a page gets: where to draw, a signal aborted when it is left,
  // every(ms, fn) for polling (fn runs now, then ms after it finished), and
  // onLeave(fn) to release charts.
  function makeContext(root) {
    const ctx = {root, controller: new AbortController(), timers: [], leave: []};
    ctx.signal = ctx.controller.signal;
    ctx.alive = () => current === ctx;
    ctx.onLeave = (fn) => ctx.leave.push(fn);
    ctx.every = (ms, fn) => {
      const timer = {id: 0};
      ctx.timers.push(timer);
      const run = async () => {
        if (!ctx.alive()) return;
        try { await fn(); } catch (e) { report(e); }
        if (ctx.alive()) timer.id = setTimeout(run, ms);
      };
      run();
    };
    // Runs fn, reporting its failure; pages use it for actions.
    ctx.guard = async (fn) => {
      try { return await fn(); } catch (e) { report(e); return undefined; }
    };
    return ctx;
  }

  function route() {
    const hash = location.hash.replace(/^#/, "") || "/";
    const [path, qs] = hash.split("?");
    const query = Object.fromEntries(new URLSearchParams(qs || ""));
    leave();
    clearBanner();
    const main = document.getElementById("main");
    for (const p of pages) {
      const m = p.pattern.exec(path);
      if (!m) continue;
      const params = m.slice(1).map((x) => decodeURIComponent(x));
      const ctx = makeContext(main);
      current = ctx;
      clear(main);
      document.title = `${typeof p.title === "function" ? p.title(...params) : p.title} · Keel`;
      for (const a of document.querySelectorAll("header nav a")) {
        const here = path === a.getAttribute("href").slice(1) || (a.dataset.prefix && path.startsWith(a.dataset.prefix));
        if (here) a.setAttribute("aria-current", "page");
        else a.removeAttribute("aria-current");
      }
      Promise.resolve(p.render(ctx, params, query)).catch(report);
      return;
    }
    clear(main, h("h1", null, "Not found"), h("p", null, `No console page ${path}. `, h("a", {href: "#/"}, "Overview")));
  }

  // Changes the query of the current hash without rendering the page again.
  function setQuery(query) {
    const [path] = (location.hash || "#/").split("?");
    const qs = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== "" && v !== undefined && v !== null));
    history.replaceState(null, "", qs.toString() ? `${path}?${qs}` : path);
  }

  window.addEventListener("hashchange", route);
  window.addEventListener("unhandledrejection", (e) => report(e.reason));
  document.addEventListener("DOMContentLoaded", route);

  return {h, append, clear, table, section, loading, field, fmtNum, fmtBytes, fmtTime, ApiError, report,
    api, enc, parseMetrics, sumMetric, lineChart, page, setQuery, reload: route};
})();
