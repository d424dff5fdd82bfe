// perfbudget report: sort, filter and a detail panel. No libraries, no network.
// State lives in the URL hash (#sort=queries&dir=desc&q=api&status=regressed&open=t3), so a view can be
// linked and tests can drive it. Text from the data is only ever set with textContent, never parsed as HTML.
(function () {
  "use strict";
  var details = JSON.parse(document.getElementById("perfbudget-data").textContent);
  var state = { sort: "", dir: "", q: "", status: "", open: "" };

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

  function value(row, key) {
    if (key === "name") return row.dataset.name;
    if (key === "status") return Number(row.dataset.severity);
    var raw = row.dataset[key.replace(/_([a-z0-9])/g, function (_, c) { return c.toUpperCase(); })];
    return raw === undefined || raw === "" ? null : Number(raw);
  }

  function sortTable(table) {
    var key = state.sort;
    var headers = table.querySelectorAll("th[data-sort]");
    headers.forEach(function (th) {
      th.classList.remove("sorted-asc", "sorted-desc");
      if (th.dataset.sort === key) th.classList.add(state.dir === "asc" ? "sorted-asc" : "sorted-desc");
    });
    if (!key || !table.querySelector('th[data-sort="' + key + '"]')) return;
    var sign = state.dir === "asc" ? 1 : -1;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a, key), y = value(b, key);
      if (x === y) return a.dataset.name < b.dataset.name ? -1 : a.dataset.name > b.dataset.name ? 1 : 0;
      if (x === null) return 1;  // missing values last, whichever the direction
      if (y === null) return -1;
      return (x < y ? -1 : 1) * sign;
    });
    var fragment = document.createDocumentFragment();
    rows.forEach(function (row) { fragment.appendChild(row); });
    body.appendChild(fragment);
  }

  function filterTable(table) {
    var needle = state.q.toLowerCase(), shown = 0, rows = table.tBodies[0].rows;
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      var visible = (!needle || row.dataset.name.indexOf(needle) !== -1) && (!state.status || row.dataset.status === state.status);
      row.hidden = !visible;
      if (visible) shown++;
    }
    table.dataset.shown = String(shown);
    var label = document.getElementById(table.dataset.kind + "-shown");
    if (label) label.textContent = shown + " of " + rows.length;
  }

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
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

  function section(parent, title, content) {
    parent.appendChild(el("h3", title));
    parent.appendChild(content);
  }

  function openPanel(id) {
    var data = details[id], panel = document.getElementById("panel"), body = document.getElementById("panel-body");
    document.querySelectorAll("tr.selected").forEach(function (row) { row.classList.remove("selected"); });
    if (!data) { panel.hidden = true; state.open = ""; return; }
    var row = document.querySelector('tr[data-id="' + id + '"]');
    if (row) row.classList.add("selected");
    body.textContent = "";
    body.appendChild(el("div", data.kind === "url" ? "URL" : "Test", "note"));
    body.appendChild(el("h2", data.name));
    if (data.where) body.appendChild(el("div", data.where + (data.outcome ? " · " + data.outcome : ""), "note"));
    if (data.verdicts && data.verdicts.length) {
      var list = el("ul");
      data.verdicts.forEach(function (v) {
        var li = list.appendChild(el("li"));
        li.appendChild(el("span", v[1], "badge s-" + v[0]));
        li.appendChild(document.createTextNode(" " + v[2]));
      });
      section(body, "Verdicts", list);
    }
    if (data.metrics && data.metrics.length) section(body, "Metrics", grid(["Metric", "This run", "Baseline"], data.metrics));
    if (data.sql) {
      var wrap = el("div");
      data.sql.forEach(function (g) {
        var head = el("div", g[3] + " × " + g[1].toUpperCase() + " on " + g[2] + " · " + g[4] + (g[5] ? " · " + g[5] + " duplicates" : "") + (g[6] ? " · " + g[6] : ""));
        if (g[7]) head.insertBefore(el("span", "N+1 ", "n1"), head.firstChild);
        wrap.appendChild(head);
        wrap.appendChild(el("pre", g[0]));
      });
      section(body, "Queries", wrap);
    }
    if (data.requests) section(body, "Requests", grid(["Method", "Path", "Status", "Queries", "Time"], data.requests));
    if (data.network) section(body, "Network calls", grid(["Method", "Endpoint", "Calls", "Loopback"], data.network, function (c) { return [c[0], c[1], c[2], c[3] ? "yes" : "no"]; }));
    if (data.cache) section(body, "Cache", grid(["Cache", "Operation", "Calls", "Hits", "Misses", "Time"], data.cache));
    if (data.templates) section(body, "Templates", grid(["Template", "Renders", "Time"], data.templates));
    if (data.signals) section(body, "Signals", grid(["Signal", "Sent"], data.signals));
    if (data.status_codes && data.status_codes.length) section(body, "Status codes", grid(["Status", "Responses"], data.status_codes));
    if (data.tests && data.tests.length) {
      var tests = el("ul");
      data.tests.forEach(function (t) { tests.appendChild(el("li")).appendChild(el("code", t)); });
      section(body, "Requested by", tests);
    }
    panel.hidden = false;
    state.open = id;
  }

  function apply() {
    document.querySelectorAll("table.data[data-kind]").forEach(function (table) { sortTable(table); filterTable(table); });
    document.querySelectorAll("input.filter").forEach(function (input) { input.value = state.q; });
    document.querySelectorAll("select.status-filter").forEach(function (select) { select.value = state.status; });
    if (state.open) openPanel(state.open); else document.getElementById("panel").hidden = true;
  }

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
  window.addEventListener("hashchange", function () { readHash(); apply(); });

  readHash();
  apply();
  document.documentElement.dataset.ready = "true";  // tests read this from the dumped DOM
})();
