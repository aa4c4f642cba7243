/**
 * The page script's component panel (details, live log, restart/stop/start) and event timeline.
 * Joined after the graph part in page_script.ts; it uses that part's helpers.
 */
export const PANEL_SCRIPT = String.raw`
var panelLog = null;
var LOG_LINES = 2000, TIMELINE_ITEMS = 1000;

function openPanel(id) {
  if (!app.init || !app.init.details[id]) return;
  var panel = document.getElementById("panel");
  var same = app.selected === id && !panel.hidden;
  app.selected = id;
  Object.keys(app.nodes).forEach(function (key) { app.nodes[key].g.classList.toggle("selected", key === id); });
  panel.hidden = false;
  if (same) { refreshPanel(); return; }
  while (panel.firstChild) panel.removeChild(panel.firstChild);
  var details = app.init.details[id];
  var head = h("div", null, panel);
  head.className = "panel-head";
  var title = h("h2", id, head);
  title.id = "panel-title";
  var close = h("button", "Close", head);
  close.addEventListener("click", closePanel);
  h("p", details.summary.join(" \u00B7 "), panel).id = "panel-summary";
  var buttons = h("div", null, panel);
  buttons.className = "buttons";
  ["restart", "stop", "start"].forEach(function (action) {
    var button = h("button", action.charAt(0).toUpperCase() + action.slice(1), buttons);
    button.setAttribute("data-action", action);
    button.addEventListener("click", function () { control(action); });
  });
  var label = h("label", null, buttons);
  var box = h("input", null, label);
  box.type = "checkbox"; box.id = "with-dependents";
  label.appendChild(document.createTextNode(" with dependents"));
  var result = h("p", "", panel);
  result.id = "control-result"; result.setAttribute("role", "status");
  var list = h("dl", null, panel);
  list.id = "panel-facts";
  h("h3", "Log", panel);
  var log = h("pre", "", panel);
  log.id = "log"; log.tabIndex = 0; log.setAttribute("aria-label", "log of " + id);
  h("h3", "Environment (declared; secrets masked)", panel);
  var table = h("table", null, panel);
  if (details.env.length === 0) h("td", "none", h("tr", null, table));
  details.env.forEach(function (pair) {
    var row = h("tr", null, table);
    h("td", pair[0], row); h("td", pair[1], row);
  });
  followPanelLog(id, log);
  refreshPanel();
  close.focus();
}

function closePanel() {
  var panel = document.getElementById("panel");
  panel.hidden = true;
  if (panelLog) { panelLog.close(); panelLog = null; }
  var id = app.selected;
  app.selected = null;
  Object.keys(app.nodes).forEach(function (key) { app.nodes[key].g.classList.remove("selected"); });
  if (id && app.nodes[id]) app.nodes[id].g.focus();
}

function followPanelLog(id, log) {
  if (panelLog) panelLog.close();
  panelLog = new EventSource(api("/api/logs?component=" + encodeURIComponent(id)));
  panelLog.addEventListener("lines", function (message) {
    var lines = JSON.parse(message.data);
    if (!lines.length) return;
    log.appendChild(document.createTextNode(lines.join("\n") + "\n"));
    while (log.childNodes.length > LOG_LINES) log.removeChild(log.firstChild);
    if (followsEnd(log)) requestAnimationFrame(function () { log.scrollTop = log.scrollHeight; });
  });
}

function refreshPanel() {
  var id = app.selected, list = document.getElementById("panel-facts");
  if (!id || !list) return;
  var c = app.components[id] || { state: "pending", restarts: 0, waitsOn: [] };
  var details = app.init.details[id], now = Date.now();
  while (list.firstChild) list.removeChild(list.firstChild);
  function fact(name, value) {
    h("dt", name, list);
    var dd = h("dd", value === undefined ? "" : value, list);
    return dd;
  }
  fact("State", (SYMBOL[c.state] || "") + " " + c.state);
  if (c.waitsOn && c.waitsOn.length) {
    var dd = fact("Waits on");
    c.waitsOn.forEach(function (dep, i) {
      if (i) dd.appendChild(document.createTextNode(", "));
      var link = h("button", dep, dd);
      link.className = "link";
      link.addEventListener("click", function () { openPanel(dep); });
    });
  }
  fact("Restarts", c.restarts + " (" + details.restart + ")");
  fact("Last exit", c.lastExit || "none");
  fact("Process", c.pid ? "pid " + c.pid : c.containerId ? "container " + c.containerId : "not running");
  fact("Node", c.node);
  if (c.cpuPercent !== undefined) fact("CPU / memory", c.cpuPercent.toFixed(1) + "% of a core \u00B7 " + bytes(c.rssBytes));
  fact("Ports", details.ports.length ? details.ports.join(", ") : "none");
  fact("Health check", details.health);
  // Probes report changes, not every probe: a passing check says since when it passes.
  fact("Health probe", c.lastProbe ? (c.lastProbe.ok ? "\u2713 " + c.lastProbe.text + ", since " : "\u2717 " + c.lastProbe.text + ", ") + ago(now - c.lastProbe.time) + " ago" : "no result yet");
  fact("Registered", c.registeredAt ? ago(now - c.registeredAt) + " ago" + (c.registeredVia ? " via " + c.registeredVia : "") : "no");
  if (c.lastHeartbeat) fact("Heartbeat", ago(now - c.lastHeartbeat) + " ago, " + c.heartbeatStatus + (c.stale ? " (stale)" : ""));
}

function control(action) {
  var id = app.selected, result = document.getElementById("control-result");
  var withDependents = document.getElementById("with-dependents").checked;
  result.textContent = action + " " + id + "\u2026";
  fetch(api("/api/control"), {
    method: "POST",
    headers: { "content-type": "application/json", "x-flowctl-token": TOKEN },
    body: JSON.stringify({ action: action, components: [id], withDependents: withDependents }),
  }).then(function (response) {
    if (!response.ok) return response.text().then(function (text) { throw new Error(text.trim()); });
    return response.json();
  }).then(function (body) {
    result.textContent = body.results.map(function (r) {
      return (r.ok ? "\u2713 " + r.action + " " + r.component + (r.note ? " (" + r.note + ")" : "") : "\u2717 cannot " + r.action + " " + r.component + ": " + r.reason);
    }).join("; ");
  }).catch(function (error) { result.textContent = "\u2717 " + error.message; });
}

function setupTimeline() {
  var filter = document.getElementById("timeline-filter");
  filter.addEventListener("change", applyFilter);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && app.selected) closePanel();
  });
}

function resetTimeline(init) {
  var list = document.getElementById("timeline"), filter = document.getElementById("timeline-filter");
  while (list.firstChild) list.removeChild(list.firstChild);
  var chosen = filter.value;
  while (filter.options.length > 1) filter.remove(1);
  init.graph.components.forEach(function (c) {
    var option = h("option", c.id, filter);
    option.value = c.id;
  });
  filter.value = init.details[chosen] ? chosen : "";
  app.lastSeq = 0;
  addTimeline(init.timeline);
}

/**
 * Appends entries at once. Whether the list follows its end is known from its scroll events, and
 * the scroll happens in the next frame: reading the layout here would force one per message.
 */
function addTimeline(entries) {
  // Entries an init already brought may come again in the next timeline frame.
  entries = entries.filter(function (entry) { return entry.seq > app.lastSeq; });
  if (!entries.length) return;
  app.lastSeq = entries[entries.length - 1].seq;
  var list = document.getElementById("timeline");
  var chosen = document.getElementById("timeline-filter").value;
  var fragment = document.createDocumentFragment();
  entries.slice(-TIMELINE_ITEMS).forEach(function (entry) { fragment.appendChild(timelineItem(entry, chosen)); });
  list.appendChild(fragment);
  var extra = list.childNodes.length - TIMELINE_ITEMS;
  for (var i = 0; i < extra; i++) list.removeChild(list.firstChild);
  if (followsEnd(list)) requestAnimationFrame(function () { list.scrollTop = list.scrollHeight; });
}

/** Whether the box is scrolled to its end, as its last scroll event left it (initially: yes). */
function followsEnd(box) {
  if (!box.hasAttribute("data-follow")) {
    box.setAttribute("data-follow", "1");
    box.addEventListener("scroll", function () {
      box.setAttribute("data-follow", box.scrollTop + box.clientHeight >= box.scrollHeight - 4 ? "1" : "0");
    }, { passive: true });
  }
  return box.getAttribute("data-follow") === "1";
}

function timelineItem(entry, chosen) {
  var item = document.createElement("li");
  var component = entry.component || "";
  item.setAttribute("data-event", entry.event);
  item.setAttribute("data-event-component", component);
  h("span", entry.time.slice(11, 19), item).className = "time";
  h("span", entry.event, item).className = "type";
  if (component) h("span", component + " ", item).className = "who";
  var rest = {};
  Object.keys(entry).forEach(function (key) {
    if (["seq", "time", "event", "component"].indexOf(key) < 0) rest[key] = entry[key];
  });
  var text = JSON.stringify(rest);
  if (text !== "{}") h("span", text.length > 240 ? text.slice(0, 239) + "\u2026" : text, item);
  if (chosen && component !== chosen) item.classList.add("hidden");
  return item;
}

function applyFilter() {
  var chosen = document.getElementById("timeline-filter").value;
  var items = document.getElementById("timeline").children;
  for (var i = 0; i < items.length; i++) {
    var who = items[i].getAttribute("data-event-component");
    items[i].classList.toggle("hidden", chosen !== "" && who !== chosen);
  }
}
`;
