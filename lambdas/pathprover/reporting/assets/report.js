/* Path Prover report: the drill-down and the charts, hand-written SVG from the embedded JSON (no library). */
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  var SVG = "http://www.w3.org/2000/svg";
  var PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac", "#1f77b4", "#2ca02c"];
  var SCOPE_COLOURS = { config: "#4e79a7", account: "#f28e2b", harness: "#b07aa1" };
  var STATUS_COLOURS = { failed: "#f28e2b", unfeasible: "#e15759" };
  var METRICS = {
    tok_per_gpu_hour: { label: "output tokens per GPU-hour", unit: "tok / GPU-h", better: "high" },
    tok_per_usd: { label: "output tokens per dollar", unit: "tok / $", better: "high" },
    tps_per_user: { label: "tokens/s per user (1000 ÷ TPOT p50)", unit: "tok/s/user", better: "high" },
    ttft_p50_ms: { label: "TTFT p50", unit: "ms", better: "low" }
  };

  // ------------------------------------------------------------------ small helpers
  function h(tag, attrs, children) {
    var node = document.createElement(tag);
    setAll(node, attrs, children);
    return node;
  }
  function s(tag, attrs, children) {
    var node = document.createElementNS(SVG, tag);
    setAll(node, attrs, children);
    return node;
  }
  function setAll(node, attrs, children) {
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] !== null && attrs[k] !== undefined) { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) { return; }
      node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    });
  }
  function fmt(v, digits) {
    if (v === null || v === undefined || v === "") { return "—"; }
    if (typeof v !== "number") { return String(v); }
    var a = Math.abs(v);
    if (a >= 1e9) { return (v / 1e9).toFixed(1) + "G"; }
    if (a >= 1e6) { return (v / 1e6).toFixed(a >= 1e7 ? 0 : 1) + "M"; }
    if (a >= 1e4) { return (v / 1e3).toFixed(a >= 1e5 ? 0 : 1) + "k"; }
    if (digits !== undefined) { return v.toFixed(digits); }
    if (Number.isInteger(v)) { return String(v); }
    return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
  }
  function niceTicks(lo, hi, count) {
    if (!(hi > lo)) { hi = lo + 1; }
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) / count)));
    var err = (hi - lo) / count / step;
    if (err >= 7.5) { step *= 10; } else if (err >= 3.5) { step *= 5; } else if (err >= 1.5) { step *= 2; }
    var start = Math.floor(lo / step) * step, end = Math.ceil(hi / step) * step, ticks = [];
    for (var v = start; v <= end + step / 2; v += step) { ticks.push(Number(v.toPrecision(12))); }
    return ticks;
  }
  function pill(text, cls) { return h("span", { "class": "pill " + cls }, [text]); }

  // ------------------------------------------------------------------ drill-down
  var drill = document.getElementById("drilldown");
  function showCell(td) {
    var cell = DATA.cells[td.getAttribute("data-cell")];
    if (!cell) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("td.cell.selected"), function (n) {
      n.classList.remove("selected");
    });
    td.classList.add("selected");
    drill.textContent = "";
    drill.appendChild(h("h3", {}, [cell.model_family + " on " + cell.instance_family]));
    drill.appendChild(h("p", {}, [
      cell.proven + " of " + cell.feasible + " feasible configs proven" +
      (cell.feasible ? " (" + Math.round(100 * cell.proven / cell.feasible) + "%)" : "") + "; " +
      cell.completed_rows + " completed rows (report coverage); " + cell.rows + " rows in all; " +
      cell.impossible + " of " + cell.space + " configs of the space impossible by rule" +
      (cell.needs_plan ? ", " + cell.needs_plan + " need a training plan" : "") + "."
    ]));
    if (cell.configs.length) {
      drill.appendChild(h("h4", {}, ["Configs with rows (" + cell.configs.length + ")"]));
      cell.configs.forEach(function (c) {
        var title = [c.deployment_config, c.quantization, "tp " + c.tp_degree, c.deployment_target].join(" · ");
        drill.appendChild(h("div", { "class": "config" }, [
          pill(c.state, c.state), " ", h("code", {}, [c.config_id]), " ", title,
          c.rule ? h("span", { "class": "reason" }, [" — rule: " + c.rule]) : null
        ]));
        var head = ["run type", "status", "when (UTC)", "attempt", "model", "instance", "TTFT p50 ms",
          "TTFT p99 ms", "ITL p50 ms", "peak tok/s", "at conc.", "$ / 1M tok", "failure (category · scope · stage)"];
        var rows = c.rows.map(function (r) {
          var failure = r.failure_category ? [r.failure_category, r.failure_scope || "config", r.failure_stage]
            .filter(Boolean).join(" · ") : "";
          return h("tr", {}, [
            h("td", {}, [r.run_type]),
            h("td", {}, [pill(r.status, r.status), r.simulated ? " " : null, r.simulated ? pill("simulated", "sim") : null]),
            h("td", {}, [(r.run_timestamp || "").replace("T", " ").slice(0, 19)]),
            h("td", { "class": "num" }, [fmt(r.attempt)]),
            h("td", {}, [r.model_name || "—"]),
            h("td", {}, [r.instance_type || "—"]),
            h("td", { "class": "num" }, [fmt(r.ttft_p50_ms)]),
            h("td", { "class": "num" }, [fmt(r.ttft_p99_ms)]),
            h("td", { "class": "num" }, [fmt(r.itl_p50_ms)]),
            h("td", { "class": "num" }, [fmt(r.peak_output_token_throughput_tps)]),
            h("td", { "class": "num" }, [fmt(r.peak_concurrency)]),
            h("td", { "class": "num" }, [r.cost_per_1m_tokens === null ? "—" : "$" + fmt(r.cost_per_1m_tokens, 2)]),
            h("td", { "class": "reason" }, [failure ? h("b", {}, [failure]) : null, r.failure_reason ? " " + r.failure_reason : null])
          ]);
        });
        drill.appendChild(h("table", {}, [
          h("thead", {}, [h("tr", {}, head.map(function (x) { return h("th", {}, [x]); }))]),
          h("tbody", {}, rows)
        ]));
        if (c.rows_total > c.rows.length) {
          drill.appendChild(h("p", { "class": "hint" }, ["The " + c.rows.length + " most recent of " + c.rows_total +
            " rows."]));
        }
        c.rows.forEach(function (r) {
          if (!r.levels || !r.levels.length) { return; }
          drill.appendChild(h("details", {}, [
            h("summary", {}, ["Levels of the " + r.run_type + " row of " + (r.run_timestamp || "").slice(0, 10) +
              " (" + r.levels.length + ")"]),
            h("table", {}, [
              h("thead", {}, [h("tr", {}, ["concurrency", "output tok/s", "TTFT p50 ms", "TPOT p50 ms", "$ / 1M tok"]
                .map(function (x) { return h("th", {}, [x]); }))]),
              h("tbody", {}, r.levels.map(function (lv) {
                return h("tr", {}, [lv.concurrency, fmt(lv.tps), fmt(lv.ttft_p50_ms), fmt(lv.tpot_p50_ms),
                  lv.cost_per_1m_tokens === null ? "—" : "$" + fmt(lv.cost_per_1m_tokens, 2)]
                  .map(function (x) { return h("td", { "class": "num" }, [String(x)]); }));
              }))
            ])
          ]));
        });
      });
    }
    if (cell.untested_total > 0) {
      drill.appendChild(h("h4", {}, ["Feasible configs not tested yet (" + cell.untested_total + ")" +
        (cell.untested.length < cell.untested_total ? ", the first " + cell.untested.length : "")]));
      drill.appendChild(h("table", {}, [
        h("thead", {}, [h("tr", {}, ["config_id", "deployment config", "quantization", "tp", "target",
          "would run on"].map(function (x) { return h("th", {}, [x]); }))]),
        h("tbody", {}, cell.untested.map(function (u) {
          return h("tr", {}, [h("td", {}, [h("code", {}, [u.config_id])]), h("td", {}, [u.deployment_config]),
            h("td", {}, [u.quantization]), h("td", {}, [String(u.tp_degree)]), h("td", {}, [u.deployment_target]),
            h("td", {}, [u.model_name + " on " + u.instance_type])]);
        }))
      ]));
    }
    if (cell.reasons.length) {
      drill.appendChild(h("h4", {}, ["Why the other configs are ruled out (top reasons)"]));
      drill.appendChild(h("ul", {}, cell.reasons.map(function (r) {
        return h("li", {}, [r.configs + " config" + (r.configs === 1 ? "" : "s") + ": " + r.reason]);
      })));
    }
  }
  function cellFromHash() {
    // #cell=<model family>|<instance family> opens that cell's drill-down (links can point at a cell).
    var match = /^#cell=(.+)$/.exec(window.location.hash);
    if (!match) { return; }
    var name = decodeURIComponent(match[1]);
    Array.prototype.forEach.call(document.querySelectorAll("td.cell"), function (td) {
      if (td.getAttribute("data-cell") === name) { showCell(td); }
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("td.cell"), function (td) {
    td.addEventListener("click", function () {
      showCell(td);
      try {
        window.history.replaceState(null, "", "#cell=" + encodeURIComponent(td.getAttribute("data-cell")));
      } catch (e) { /* a browser that refuses history on file:// still shows the cell */ }
    });
    td.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); showCell(td); }
    });
  });

  // ------------------------------------------------------------------ scatter with Pareto frontier
  function frontier(points, xKey, yKey, xBetter) {
    var sorted = points.slice().sort(function (a, b) {
      return xBetter === "high" ? b[xKey] - a[xKey] || b[yKey] - a[yKey] : a[xKey] - b[xKey] || b[yKey] - a[yKey];
    });
    var best = -Infinity, out = [];
    sorted.forEach(function (p) { if (p[yKey] > best) { out.push(p); best = p[yKey]; } });
    return out;
  }

  function scatter(model, xKey, yKey) {
    var W = 460, H = 340, m = { l: 62, r: 16, t: 14, b: 44 };
    var pts = model.points.filter(function (p) {
      return typeof p[xKey] === "number" && typeof p[yKey] === "number";
    });
    var fig = h("figure", { "class": "pareto", "data-model": model.model }, [h("figcaption", {}, [model.model])]);
    var left = model.points.length - pts.length;
    if (!pts.length) {
      fig.appendChild(h("p", { "class": "note" }, ["No point has both " + METRICS[xKey].label + " and " +
        METRICS[yKey].label + " (e.g. async or batch targets have no TTFT)."]));
      return fig;
    }
    var labels = [];
    pts.forEach(function (p) { if (labels.indexOf(p.label) < 0) { labels.push(p.label); } });
    var legendRows = labels.length + 1;
    var HH = H + legendRows * 16 + 6;
    var xs = pts.map(function (p) { return p[xKey]; }), ys = pts.map(function (p) { return p[yKey]; });
    var xt = niceTicks(0, Math.max.apply(null, xs), 5), yt = niceTicks(0, Math.max.apply(null, ys), 5);
    var x0 = xt[0], x1 = xt[xt.length - 1], y0 = yt[0], y1 = yt[yt.length - 1];
    var X = function (v) { return m.l + (v - x0) / (x1 - x0) * (W - m.l - m.r); };
    var Y = function (v) { return H - m.b - (v - y0) / (y1 - y0) * (H - m.t - m.b); };
    var svg = s("svg", { "class": "chart", viewBox: "0 0 " + W + " " + HH, role: "img",
      "aria-label": model.model + ": " + METRICS[yKey].label + " against " + METRICS[xKey].label });
    var grid = s("g", { "class": "grid" }), axes = s("g", { "class": "axis" });
    xt.forEach(function (t) {
      grid.appendChild(s("line", { x1: X(t), x2: X(t), y1: m.t, y2: H - m.b }));
      axes.appendChild(s("text", { x: X(t), y: H - m.b + 14, "text-anchor": "middle", "class": "label" }, [fmt(t)]));
    });
    yt.forEach(function (t) {
      grid.appendChild(s("line", { x1: m.l, x2: W - m.r, y1: Y(t), y2: Y(t) }));
      axes.appendChild(s("text", { x: m.l - 6, y: Y(t) + 4, "text-anchor": "end", "class": "label" }, [fmt(t)]));
    });
    axes.appendChild(s("line", { x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b }));
    axes.appendChild(s("line", { x1: m.l, x2: m.l, y1: m.t, y2: H - m.b }));
    axes.appendChild(s("text", { x: (m.l + W - m.r) / 2, y: H - 8, "text-anchor": "middle", "class": "title" },
      [METRICS[xKey].label + (METRICS[xKey].better === "low" ? " (ms, lower is better)" : " (higher is better)")]));
    axes.appendChild(s("text", { x: 14, y: (m.t + H - m.b) / 2, "text-anchor": "middle", "class": "title",
      transform: "rotate(-90 14 " + (m.t + H - m.b) / 2 + ")" }, [METRICS[yKey].unit]));
    svg.appendChild(grid);
    svg.appendChild(axes);
    var front = frontier(pts, xKey, yKey, METRICS[xKey].better);
    var fpath = front.slice().sort(function (a, b) { return a[xKey] - b[xKey]; });
    svg.appendChild(s("polyline", { "class": "frontier", points: fpath.map(function (p) {
      return X(p[xKey]).toFixed(1) + "," + Y(p[yKey]).toFixed(1);
    }).join(" ") }));
    pts.forEach(function (p) {
      var colour = PALETTE[labels.indexOf(p.label) % PALETTE.length];
      var on = front.indexOf(p) >= 0;
      svg.appendChild(s("circle", { "class": "pt" + (on ? " on-frontier" : ""), cx: X(p[xKey]).toFixed(1),
        cy: Y(p[yKey]).toFixed(1), r: 4.5, fill: colour }, [s("title", {}, [
          p.label + " — concurrency " + p.concurrency + (p.mode ? " (" + p.mode + ")" : "") + "\n" +
          METRICS[yKey].label + ": " + fmt(p[yKey]) + "\n" + METRICS[xKey].label + ": " + fmt(p[xKey]) +
          "\noutput tokens/s: " + fmt(p.tps) + (p.gpus ? " on " + p.gpus + " GPU(s)" : "") +
          (on ? "\non the Pareto frontier" : "") + (p.simulated ? "\nsimulated" : "") + "\nconfig " + p.config_id])]));
    });
    var lg = s("g", { transform: "translate(" + (m.l - 40) + "," + (H + 2) + ")" });
    labels.forEach(function (label, i) {
      var gx = 0, gy = i * 16;
      lg.appendChild(s("circle", { cx: gx + 5, cy: gy + 5, r: 4.5, fill: PALETTE[i % PALETTE.length] }));
      lg.appendChild(s("text", { x: gx + 14, y: gy + 9, "class": "legend-text" },
        [label.length > 64 ? label.slice(0, 63) + "…" : label]));
    });
    var fy = labels.length * 16;
    lg.appendChild(s("line", { x1: 0, x2: 12, y1: fy + 5, y2: fy + 5, "class": "frontier" }));
    lg.appendChild(s("text", { x: 14, y: fy + 9, "class": "legend-text" }, ["Pareto frontier (ringed points)"]));
    svg.appendChild(lg);
    fig.appendChild(svg);
    if (left) {
      fig.appendChild(h("p", { "class": "note" }, [left + " level(s) left out: no " +
        (pts.length ? "value for an axis (async/batch levels have no TTFT; unknown instance types no GPU count)" : "")]));
    }
    return fig;
  }

  function drawPareto() {
    var box = document.getElementById("pareto-charts");
    var xKey = document.getElementById("x-metric").value, yKey = document.getElementById("y-metric").value;
    box.textContent = "";
    if (!DATA.pareto.length) {
      box.appendChild(h("p", { "class": "hint" }, ["No proven config with levels yet."]));
      return;
    }
    DATA.pareto.forEach(function (model) { box.appendChild(scatter(model, xKey, yKey)); });
  }
  document.getElementById("x-metric").addEventListener("change", drawPareto);
  document.getElementById("y-metric").addEventListener("change", drawPareto);

  // ------------------------------------------------------------------ stacked horizontal bars
  function bars(target, title, items, keys, colours, unit) {
    var box = document.getElementById(target);
    box.appendChild(h("figcaption", {}, [title]));
    if (!items.length) {
      box.appendChild(h("p", { "class": "note" }, ["No failed or unfeasible rows."]));
      return;
    }
    var W = 520, row = 24, m = { l: 150, r: 40, t: 28, b: 36 }, H = m.t + items.length * row + m.b;
    var max = Math.max.apply(null, items.map(function (it) { return it.total; }));
    var ticks = niceTicks(0, max, Math.min(5, max));
    var top = ticks[ticks.length - 1];
    var X = function (v) { return m.l + v / top * (W - m.l - m.r); };
    var svg = s("svg", { "class": "chart bars", viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": title });
    var grid = s("g", { "class": "grid" }), axes = s("g", { "class": "axis" });
    ticks.forEach(function (t) {
      if (t !== Math.round(t)) { return; }
      grid.appendChild(s("line", { x1: X(t), x2: X(t), y1: m.t - 4, y2: H - m.b }));
      axes.appendChild(s("text", { x: X(t), y: H - m.b + 14, "text-anchor": "middle", "class": "label" }, [String(t)]));
    });
    axes.appendChild(s("text", { x: (m.l + W - m.r) / 2, y: H - 6, "text-anchor": "middle", "class": "title" }, [unit]));
    svg.appendChild(grid);
    svg.appendChild(axes);
    items.forEach(function (it, i) {
      var y = m.t + i * row, x = 0;
      svg.appendChild(s("text", { x: m.l - 6, y: y + row / 2 + 4, "text-anchor": "end", "class": "legend-text" }, [it.name]));
      keys.forEach(function (k) {
        var n = it.parts[k] || 0;
        if (!n) { return; }
        svg.appendChild(s("rect", { "class": "bar", x: X(x), y: y + 3, width: Math.max(1, X(x + n) - X(x)),
          height: row - 6, fill: colours[k] || "#8c959f" }, [s("title", {}, [it.name + " · " + k + ": " + n])]));
        x += n;
      });
      svg.appendChild(s("text", { x: X(x) + 4, y: y + row / 2 + 4, "class": "label" }, [String(it.total)]));
    });
    var lx = m.l;
    keys.forEach(function (k) {
      svg.appendChild(s("rect", { x: lx, y: 6, width: 11, height: 11, fill: colours[k] || "#8c959f" }));
      svg.appendChild(s("text", { x: lx + 15, y: 15, "class": "legend-text" }, [k]));
      lx += 24 + k.length * 7;
    });
    box.appendChild(svg);
  }

  function drawFailures() {
    var f = DATA.failures, scopes = [], statuses = ["failed", "unfeasible"];
    f.by_category.forEach(function (c) {
      Object.keys(c.scopes).forEach(function (k) { if (scopes.indexOf(k) < 0) { scopes.push(k); } });
    });
    scopes.sort(function (a, b) {
      var order = ["config", "account", "harness"];
      return (order.indexOf(a) + 1 || 9) - (order.indexOf(b) + 1 || 9);
    });
    bars("failures-category", "Failed and unfeasible rows by category (colour: failure_scope)",
      f.by_category.map(function (c) { return { name: c.category, parts: c.scopes, total: c.total }; }),
      scopes, SCOPE_COLOURS, "rows");
    bars("failures-scope", "Failed and unfeasible rows by failure_scope (colour: status)",
      f.by_scope.map(function (c) { return { name: c.scope, parts: c.statuses, total: c.total }; }),
      statuses, STATUS_COLOURS, "rows");
  }

  drawPareto();
  drawFailures();
  cellFromHash();
  window.addEventListener("hashchange", cellFromHash);
  document.body.setAttribute("data-rendered", "ok");
})();
