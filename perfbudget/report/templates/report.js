// perfbudget report: draws the tests and URLs tables from the embedded JSON, sorts, filters, opens a detail panel.
// No libraries, no network. State lives in the URL hash (#sort=queries&dir=desc&q=api&status=regressed&open=t3;
// cause=0 keeps the rows of the subjects the first cause of "What changed" moved), so a view can be linked and
// the page's own links (a cause's subjects, a finding's panel) and tests can drive it. Text from the data is only ever set with textContent, never
// parsed as HTML. A table draws PAGE rows of what matches, and more on request: drawing 50,000 rows at once
// would freeze the tab (issue 8).
(function () {
  "use strict";
  var PAGE = 250;
  var NOT_KEPT = "Details (queries, requests, cache calls…) are kept in this page only for the tests and URLs " +
    "whose status is not ok, so that it stays small however big the run. The run's results file " +
    "(.perfbudget/results.ndjson.gz unless --perf-output named another) has them all; perfbudget show summarises it.";
  var LEFT_OUT = "More tests and URLs changed than this page has room for details of: they were kept most severe " +
    "first, and this one's left out. The run's results file (.perfbudget/results.ndjson.gz unless --perf-output " +
    "named another) has them all; perfbudget show summarises it.";
  var data = JSON.parse(document.getElementById("perfbudget-data").textContent);
  var statuses = data.statuses, details = data.details, causes = data.causes || [];
  var state = { sort: "", dir: "", q: "", status: "", open: "", cause: "" };
  var causeRows = null;  // the row ids of state.cause's subjects, or null for no such filter
  var tables = {}, rowsById = Object.create(null);  // no prototype: an id from the hash cannot be "__proto__"

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function setUp(table) {
    var kind = table.dataset.kind, columns = [];
    table.querySelectorAll("th[data-sort]").forEach(function (th) {
      if (th.dataset.sort !== "status" && th.dataset.sort !== "name") columns.push({ key: th.dataset.sort, heading: th.textContent });
    });
    var rows = data[kind].map(function (r) {
      var row = { data: r, lower: r[1].toLowerCase(), kind: kind };
      rowsById[r[0]] = row;
      return row;
    });
    tables[kind] = { table: table, kind: kind, columns: columns, rows: rows, matched: rows, limit: PAGE };
  }

  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    Object.keys(state).forEach(function (key) { state[key] = params.get(key) || ""; });
  }

  function writeHash() {
    var params = new URLSearchParams();
    Object.keys(state).forEach(function (key) { if (state[key]) params.set(key, state[key]); });
    var hash = params.toString();
    history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
  }

  function sortValue(t, key) {
    if (key === "name") return function (row) { return row.lower; };
    if (key === "status") return function (row) { return row.data[2]; };
    for (var i = 0; i < t.columns.length; i++) {
      if (t.columns[i].key === key) {
        var index = 4 + i;
        return function (row) { var cell = row.data[index]; return cell ? cell[0] : null; };
      }
    }
    return null;
  }

  function causeFilter() {
    // The hash is untrusted: only a listed cause whose subjects are embedded filters anything.
    var ids = /^\d+$/.test(state.cause) ? causes[Number(state.cause)] : null;
    var notice = document.getElementById("cause-filter");
    causeRows = null;
    if (!ids) { notice.hidden = true; return; }
    causeRows = Object.create(null);
    ids.forEach(function (id) { causeRows[id] = true; });
    var item = document.getElementById("cause-" + Number(state.cause)), line = item && item.querySelector(".line");
    notice.querySelector(".note").textContent = "Showing the " + (item ? item.dataset.subjects : ids.length.toLocaleString("en")) +
      " of: " + (line ? line.textContent.trim() : "cause " + (Number(state.cause) + 1)) + ".";
    notice.hidden = false;
  }

  function refresh(t) {
    var needle = state.q.toLowerCase();
    t.matched = t.rows.filter(function (row) {
      return (!needle || row.lower.indexOf(needle) !== -1) && (!state.status || statuses[row.data[2]][0] === state.status ||
        (state.status === "unconfirmed" && statuses[row.data[2]][0] === "faster_unconfirmed")) &&
        (!causeRows || causeRows[row.data[0]] === true);
    });
    var value = sortValue(t, state.sort), sign = state.dir === "asc" ? 1 : -1;
    t.table.querySelectorAll("th[data-sort]").forEach(function (th) {
      th.classList.remove("sorted-asc", "sorted-desc");
      if (value && th.dataset.sort === state.sort) th.classList.add(state.dir === "asc" ? "sorted-asc" : "sorted-desc");
    });
    if (value) {
      t.matched.sort(function (a, b) {
        var x = value(a), y = value(b);
        if (x === y) return a.lower < b.lower ? -1 : a.lower > b.lower ? 1 : 0;
        if (x === null) return 1;  // missing values last, whichever the direction
        if (y === null) return -1;
        return (x < y ? -1 : 1) * sign;
      });
    }
    t.limit = PAGE;
    draw(t);
  }

  function rowElement(row) {
    var r = row.data, status = statuses[r[2]], tr = el("tr", null, r[0] === state.open ? "selected" : "");
    tr.dataset.id = r[0];
    tr.dataset.name = row.lower;
    tr.dataset.status = status[0];
    tr.tabIndex = 0;
    tr.appendChild(el("td")).appendChild(el("span", status[1], "badge s-" + status[0]));
    var name = tr.appendChild(el("td", null, "name"));
    name.appendChild(el("code", r[1]));
    if (r[3]) { name.appendChild(document.createTextNode(" ")); name.appendChild(el("span", r[3], "note")); }
    for (var i = 4; i < r.length; i++) {
      var cell = r[i], td = tr.appendChild(el("td", cell ? cell[1] : "–", "num"));
      if (cell && cell[2]) { td.appendChild(document.createTextNode(" ")); td.appendChild(el("span", cell[2], "delta " + (cell[3] ? "worse" : "better"))); }
    }
    return tr;
  }

  function draw(t) {
    var shown = Math.min(t.limit, t.matched.length), fragment = document.createDocumentFragment();
    for (var i = 0; i < shown; i++) fragment.appendChild(rowElement(t.matched[i]));
    var body = t.table.tBodies[0];
    body.textContent = "";
    body.appendChild(fragment);
    t.table.dataset.shown = String(t.matched.length);
    var label = document.getElementById(t.kind + "-shown");
    if (label) label.textContent = t.matched.length.toLocaleString("en") + " of " + t.rows.length.toLocaleString("en");
    var more = document.getElementById(t.kind + "-more");
    more.hidden = shown >= t.matched.length;
    more.querySelector(".note").textContent = "Showing the first " + shown.toLocaleString("en") + " of " +
      t.matched.length.toLocaleString("en") + "; sort or filter to bring others to the top.";
  }

  function grid(headings, rows, render) {
    var table = el("table"), head = el("tr");
    headings.forEach(function (h) { head.appendChild(el("th", h)); });
    table.appendChild(el("thead")).appendChild(head);
    var body = table.appendChild(el("tbody"));
    rows.forEach(function (row) {
      var tr = body.appendChild(el("tr"));
      (render ? render(row) : row).forEach(function (cell) { tr.appendChild(el("td", cell)); });
    });
    return table;
  }

  function section(parent, title, content, info, key) {
    parent.appendChild(el("h3", title));
    parent.appendChild(content);
    if (info && info.more && info.more[key]) parent.appendChild(el("div", "… and " + info.more[key].toLocaleString("en") + " more", "note"));
  }

  function heading(body, kind, name, where) {
    body.appendChild(el("div", kind === "url" ? "URL" : "Test", "note"));
    body.appendChild(el("h2", name));
    if (where) body.appendChild(el("div", where, "note"));
  }

  function showDetails(body, d) {
    heading(body, d.kind, d.name, d.where ? d.where + (d.outcome ? " · " + d.outcome : "") : "");
    if (d.verdicts && d.verdicts.length) {
      var list = el("ul");
      d.verdicts.forEach(function (v) {
        var li = list.appendChild(el("li"));
        li.appendChild(el("span", v[1], "badge s-" + v[0]));
        li.appendChild(document.createTextNode(" " + v[2]));
      });
      section(body, "Verdicts", list);
    }
    if (d.metrics && d.metrics.length) metrics(body, d.metrics);
    if (d.sql) {
      var wrap = el("div");
      d.sql.forEach(function (g) {
        var head = el("div", g[3] + " × " + (g[12] || g[1].toUpperCase()) + " on " + g[2] + " · " + g[4] + (g[5] ? " · " + g[5] + " duplicates" : "") + ((g[13] || g[6]) ? " · " + (g[13] || g[6]) : ""));
        if (g[7]) head.insertBefore(el("span", "N+1 ", "n1"), head.firstChild);
        if (g[8]) head.insertBefore(el("span", "warm-up, not compared ", "warm"), head.firstChild);
        if (g[9]) head.insertBefore(el("span", "N+1 in test code, not judged ", "warm"), head.firstChild);
        if (MARKS[g[10]]) head.insertBefore(el("span", MARKS[g[10]](g[11]), "mark m-" + g[10]), head.firstChild);
        wrap.appendChild(head);
        if (g[14]) wrap.appendChild(el("div", g[14], "fix"));
        wrap.appendChild(el("pre", g[0]));
      });
      section(body, "Queries", wrap, d, "sql");
    }
    if (d.gone) {
      var gone = el("div");
      d.gone.forEach(function (g) {
        var head = el("div", g[3] + " × " + g[1].toUpperCase() + " on " + g[2] + " in the baseline" + (g[4] ? " · " + g[4] : ""));
        head.insertBefore(el("span", g[5] === "replaced" ? "rewritten, was " : "gone ", "mark m-gone"), head.firstChild);
        gone.appendChild(head);
        gone.appendChild(el("pre", g[0]));
      });
      section(body, "Queries gone", gone, d, "gone");
    }
    if (d.requests) section(body, "Requests", grid(["Method", "Path", "Status", "Queries", "Time"], d.requests), d, "requests");
    if (d.network) section(body, "Network calls", grid(["Method", "Endpoint", "Calls", "Loopback"], d.network, function (c) { return [c[0], c[1], c[2], c[3] ? "yes" : "no"]; }), d, "network");
    if (d.cache) section(body, "Cache", grid(["Cache", "Operation", "Calls", "Hits", "Misses", "Time"], d.cache), d, "cache");
    if (d.templates) section(body, "Templates", grid(["Template", "Renders", "Time"], d.templates), d, "templates");
    if (d.signals) section(body, "Signals", grid(["Signal", "Sent"], d.signals), d, "signals");
    if (d.status_codes && d.status_codes.length) section(body, "Status codes", grid(["Status", "Responses"], d.status_codes));
    if (d.tests) {
      var tests = el("ul");
      d.tests.forEach(function (name) { tests.appendChild(el("li")).appendChild(el("code", name)); });
      section(body, "Requested by", tests, d, "tests");
    }
  }

  // What a cause of "What changed" says of a query group: its badge in the panel, from the count before.
  var MARKS = {
    "new": function () { return "new "; },
    "more": function (before) { return "grown, was " + before + " "; },
    "fewer": function (before) { return "fewer, was " + before + " "; },
    "rewritten": function () { return "rewritten "; },
  };

  function metrics(body, lines) {
    // Metrics that are zero in both runs are folded away; a toggle shows them.
    var table = grid(["Metric", "This run", "Baseline"], lines, function (m) { return m.slice(0, 3); });
    var rows = table.tBodies[0].rows, zeros = 0;
    lines.forEach(function (m, i) { if (m[3]) { rows[i].hidden = true; rows[i].className = "zero"; zeros++; } });
    section(body, "Metrics", table);
    if (!zeros) return;
    var toggle = body.appendChild(el("button", null, "zeros"));
    toggle.type = "button";
    function label() { toggle.textContent = (table.dataset.zeros === "shown" ? "Hide the " : "Show the ") + zeros + " metrics at zero"; }
    toggle.addEventListener("click", function () {
      var show = table.dataset.zeros !== "shown";
      table.dataset.zeros = show ? "shown" : "";
      table.querySelectorAll("tr.zero").forEach(function (tr) { tr.hidden = !show; });
      label();
    });
    label();
  }

  function showFigures(body, row) {
    var r = row.data, status = statuses[r[2]], figures = [];
    heading(body, row.kind === "urls" ? "url" : "test", r[1], r[3]);
    var badge = body.appendChild(el("p"));
    badge.appendChild(el("span", status[1], "badge s-" + status[0]));
    tables[row.kind].columns.forEach(function (column, i) {
      var cell = r[4 + i];
      if (cell) figures.push([column.heading, cell[1] + (cell[2] ? " (" + cell[2] + ")" : "")]);
    });
    if (figures.length) section(body, "Figures", grid(["Metric", "This run"], figures));
    body.appendChild(el("p", status[0] === "ok" ? NOT_KEPT : LEFT_OUT, "note kept"));
  }

  function openPanel(id) {
    var row = rowsById[id], panel = document.getElementById("panel"), body = document.getElementById("panel-body");
    document.querySelectorAll("tr.selected").forEach(function (tr) { tr.classList.remove("selected"); });
    if (!row) { panel.hidden = true; state.open = ""; return; }
    var tr = document.querySelector('tr[data-id="' + id + '"]');  // an id of ours: letters and digits
    if (tr) tr.classList.add("selected");
    body.textContent = "";
    if (Object.prototype.hasOwnProperty.call(details, id)) showDetails(body, details[id]); else showFigures(body, row);
    panel.hidden = false;
    state.open = id;
  }

  function apply() {
    causeFilter();
    Object.keys(tables).forEach(function (kind) { refresh(tables[kind]); });
    document.querySelectorAll("input.filter").forEach(function (input) { input.value = state.q; });
    document.querySelectorAll("select.status-filter").forEach(function (select) { select.value = state.status; });
    if (state.open) openPanel(state.open); else document.getElementById("panel").hidden = true;
  }

  document.querySelectorAll("table.data[data-kind]").forEach(setUp);
  document.querySelectorAll("th[data-sort]").forEach(function (th) {
    th.addEventListener("click", function () {
      var key = th.dataset.sort;
      var numeric = key !== "name";
      state.dir = state.sort === key ? (state.dir === "asc" ? "desc" : "asc") : (numeric ? "desc" : "asc");
      state.sort = key;
      writeHash(); apply();
    });
  });
  document.querySelectorAll("input.filter").forEach(function (input) {
    input.addEventListener("input", function () { state.q = input.value; writeHash(); apply(); });
  });
  document.querySelectorAll("select.status-filter").forEach(function (select) {
    select.addEventListener("change", function () { state.status = select.value; writeHash(); apply(); });
  });
  document.querySelectorAll("div.more button").forEach(function (button) {
    button.addEventListener("click", function () { var t = tables[button.dataset.table]; t.limit += PAGE; draw(t); });
  });
  document.querySelectorAll("table.data tbody").forEach(function (body) {
    function pick(event) {
      var row = event.target.closest("tr[data-id]");
      if (row) { openPanel(row.dataset.id); writeHash(); }
    }
    body.addEventListener("click", pick);
    body.addEventListener("keydown", function (event) { if (event.key === "Enter") pick(event); });
  });
  function closePanel() { openPanel(""); writeHash(); }
  document.getElementById("panel-close").addEventListener("click", closePanel);
  document.addEventListener("keydown", function (event) { if (event.key === "Escape") closePanel(); });
  window.addEventListener("hashchange", function () {
    readHash(); apply();
    if (causeRows) document.getElementById("cause-filter").scrollIntoView();  // a cause's link: to its rows
  });

  readHash();
  apply();
  document.documentElement.dataset.ready = "true";  // tests read this from the dumped DOM
})();
