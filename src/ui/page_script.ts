/**
 * The dashboard page's script, served as /app.js: draws the graph as SVG (columns by dependency
 * level), follows the event stream, and runs the component panel and the timeline. Plain
 * browser JavaScript without libraries; every text from the run goes in through textContent.
 */
import { PANEL_SCRIPT } from "./page_script_panel.ts";

const GRAPH_SCRIPT = String.raw`
"use strict";
var TOKEN = new URLSearchParams(location.search).get("token") || "";
var SVG = "http://www.w3.org/2000/svg";
var W = 230, H = 100, COL = 130, ROW = 22, PAD = 24;
var SYMBOL = { healthy: "\u25CF", running: "\u25CF", unhealthy: "\u25B2", failed: "\u2716",
  starting: "\u25D0", waiting: "\u29D7", restarting: "\u21BB", stopping: "\u25CC",
  stopped: "\u25A0", exited: "\u2715", pending: "\u25CB" };
var app = { init: null, state: null, nodes: {}, edges: {}, history: {}, selected: null, components: {}, lastSeq: 0 };

function api(path) { return path + (path.indexOf("?") < 0 ? "?" : "&") + "token=" + encodeURIComponent(TOKEN); }
function el(name, attrs, parent) {
  var node = document.createElementNS(SVG, name);
  for (var key in attrs) node.setAttribute(key, attrs[key]);
  if (parent) parent.appendChild(node);
  return node;
}
function h(name, text, parent) {
  var node = document.createElement(name);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (parent) parent.appendChild(node);
  return node;
}
function ago(ms) {
  var s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m" + (s % 60) + "s";
  return Math.floor(s / 3600) + "h" + Math.floor((s % 3600) / 60) + "m";
}
function bytes(n) {
  if (n < 1048576) return Math.round(n / 1024) + " KB";
  if (n < 1073741824) return (n / 1048576).toFixed(1) + " MB";
  return (n / 1073741824).toFixed(2) + " GB";
}
function rateText(rate) {
  if (!rate || rate.source === "none") return "no rate";
  var eps = rate.eventsPerSecond;
  var text = (eps >= 100 ? Math.round(eps) : eps.toFixed(eps >= 10 ? 1 : 2)) + " ev/s";
  if (rate.bytesPerSecond) text += " \u00B7 " + bytes(rate.bytesPerSecond) + "/s";
  return text;
}

/** Columns by level; within a column, ordered by where the inputs sit, to keep edges short. */
function layout(graph) {
  var pos = {}, rows = [];
  graph.levels.forEach(function (ids, level) {
    var inputs = {};
    graph.edges.forEach(function (e) { (inputs[e.to] = inputs[e.to] || []).push(e.from); });
    var ordered = ids.map(function (id, i) {
      var ys = (inputs[id] || []).filter(function (f) { return pos[f]; }).map(function (f) { return pos[f].row; });
      var center = ys.length ? ys.reduce(function (a, b) { return a + b; }, 0) / ys.length : i;
      return { id: id, key: center, i: i };
    }).sort(function (a, b) { return a.key - b.key || a.i - b.i; });
    ordered.forEach(function (item, row) {
      pos[item.id] = { x: PAD + level * (W + COL), y: PAD + row * (H + ROW), row: row };
    });
    rows.push(ids.length);
  });
  var width = PAD * 2 + Math.max(1, graph.levels.length) * (W + COL) - COL;
  var height = PAD * 2 + Math.max.apply(null, rows.concat([1])) * (H + ROW) - ROW;
  return { pos: pos, width: width, height: height };
}

function drawGraph(init) {
  // Drawn into a detached copy and swapped in: one layout for the whole graph.
  var old = document.getElementById("graph");
  var svg = old.cloneNode(false);
  var laid = layout(init.graph);
  svg.setAttribute("width", laid.width);
  svg.setAttribute("height", laid.height);
  svg.setAttribute("viewBox", "0 0 " + laid.width + " " + laid.height);
  var defs = el("defs", {}, svg);
  var marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" }, defs);
  el("path", { d: "M0,0 L10,5 L0,10 z" }, marker);
  var edgeLayer = el("g", { "class": "edges" }, svg);
  var nodeLayer = el("g", { "class": "nodes" }, svg);
  app.nodes = {}; app.edges = {}; app.components = {};
  init.graph.edges.forEach(function (edge) {
    var a = laid.pos[edge.from], b = laid.pos[edge.to];
    if (!a || !b) return;
    var key = edge.from + "->" + edge.to;
    var g = el("g", { "class": "edge " + edge.kind, "data-edge": key }, edgeLayer);
    var x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x - 2, y2 = b.y + H / 2, mid = (x1 + x2) / 2;
    el("path", { d: "M" + x1 + "," + y1 + " C" + mid + "," + y1 + " " + mid + "," + y2 + " " + x2 + "," + y2, "marker-end": "url(#arrow)" }, g);
    var title = el("title", {}, g);
    title.textContent = key + (edge.eventTypes.length ? " (" + edge.eventTypes.join(", ") + ")" : "");
    if (edge.kind !== "data") return;
    var lx = mid - 40, ly = (y1 + y2) / 2 - 22;
    var label = el("text", { "class": "rate", x: mid, y: ly, "text-anchor": "middle" }, g);
    label.textContent = "no rate";
    el("line", { "class": "spark-base", x1: lx, y1: ly + 18, x2: lx + 80, y2: ly + 18 }, g);
    var spark = el("polyline", { "class": "spark", points: "" }, g);
    var tip = el("title", {}, label);
    app.edges[key] = { g: g, label: label, tip: tip, spark: spark, x: lx, y: ly + 18 };
    app.history[key] = (init.history[key] || []).slice();
  });
  init.graph.components.forEach(function (c) {
    var p = laid.pos[c.id];
    if (!p) return;
    var g = el("g", { "class": "node", "data-component": c.id, "data-state": "pending", tabindex: "0", role: "button", transform: "translate(" + p.x + "," + p.y + ")" }, nodeLayer);
    el("rect", { "class": "box", width: W, height: H, rx: "6" }, g);
    el("rect", { "class": "stripe", width: "5", height: H - 2, x: "1", y: "1", rx: "2" }, g);
    var lines = [["title", 18], ["state", 36], ["detail l1", 53], ["detail l2", 69], ["detail l3", 85]].map(function (spec) {
      return el("text", { "class": spec[0], x: "14", y: spec[1] }, g);
    });
    lines[0].textContent = c.id.length > 30 ? c.id.slice(0, 29) + "\u2026" : c.id;
    var title = el("title", {}, g);
    title.textContent = c.id;
    g.addEventListener("click", function () { openPanel(c.id); });
    g.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); openPanel(c.id); }
    });
    app.nodes[c.id] = { g: g, lines: lines, title: title, kind: c.kind };
  });
  old.parentNode.replaceChild(svg, old);
}

function componentLines(c, now) {
  var exit = c.lastExit ? "last exit: " + c.lastExit.replace("was ", "").replace("exited with ", "") : "no exit yet";
  var usage = c.cpuPercent !== undefined ? "cpu " + c.cpuPercent.toFixed(1) + "% \u00B7 mem " + bytes(c.rssBytes) : (c.pid ? "pid " + c.pid : c.containerId ? c.containerId : "not running");
  var third;
  if (c.waitsOn && c.waitsOn.length) third = "waits on " + c.waitsOn.join(", ");
  else if (c.registeredAt) third = "registered " + ago(now - c.registeredAt) + " ago \u00B7 heartbeat " + ago(now - c.lastHeartbeat) + (c.stale ? " (stale)" : "");
  else third = "not registered";
  return ["restarts " + c.restarts + " \u00B7 " + exit, usage + " \u00B7 " + c.node, third];
}

function drawState(state) {
  app.state = state;
  var now = Date.now();
  var banner = document.getElementById("pipeline-state");
  banner.setAttribute("data-pipeline-state", state.pipeline.state);
  banner.textContent = "pipeline " + state.pipeline.state + (state.pipeline.failure ? ": " + state.pipeline.failure : "");
  state.components.forEach(function (c) {
    app.components[c.id] = c;
    var node = app.nodes[c.id];
    if (!node) return;
    node.g.setAttribute("data-state", c.state);
    node.g.setAttribute("aria-label", c.id + ": " + c.state + ", " + c.restarts + " restarts");
    node.lines[1].textContent = (SYMBOL[c.state] || "\u25C7") + " " + c.state + (c.stale ? " \u00B7 heartbeats stale" : "");
    var text = componentLines(c, now);
    for (var i = 0; i < 3; i++) node.lines[i + 2].textContent = text[i];
  });
  state.edges.forEach(function (edge) {
    var drawn = app.edges[edge.key];
    if (drawn) drawn.decision = edge.decision;
    drawRate(edge.key, edge);
  });
  if (app.selected) refreshPanel();
}

function drawRate(key, rate) {
  var edge = app.edges[key];
  if (!edge) return;
  edge.label.textContent = rateText(rate);
  edge.label.appendChild(edge.tip);
  edge.tip.textContent = key + ": " + rateText(rate) + (rate.source === "heartbeat"
    ? ", from " + key.split("->")[0] + "'s heartbeat metric " + rate.metric
    : rate.source === "data path" ? ", measured by flowctl's data path" : ", no figures yet") +
    (edge.decision ? "; " + edge.decision.mode + ": " + edge.decision.reason : "");
  if (edge.decision) edge.g.setAttribute("data-edge-mode", edge.decision.mode);
  edge.g.setAttribute("data-rate-source", rate.source);
  edge.g.setAttribute("data-rate", String(rate.eventsPerSecond));
  edge.g.classList.toggle("flowing", rate.eventsPerSecond > 0);
}

function drawSpark(key) {
  var edge = app.edges[key], points = app.history[key] || [];
  if (!edge) return;
  // An edge without traffic keeps its flat line: most edges, most of the time.
  var idle = points.every(function (v) { return v === 0; });
  if (idle && edge.idle) return;
  edge.idle = idle;
  // The newest point sits at the right end; two minutes (120 points) span the width.
  var shown = points.slice(-120), max = Math.max.apply(null, shown.concat([1e-9]));
  edge.spark.setAttribute("points", shown.map(function (v, i) {
    var x = edge.x + 80 - ((shown.length - 1 - i) * 80) / 119;
    return x.toFixed(1) + "," + (edge.y - (14 * v) / max).toFixed(1);
  }).join(" "));
}

function onRates(message) {
  Object.keys(message.edges).forEach(function (key) {
    var rate = message.edges[key];
    var series = app.history[key] = app.history[key] || [];
    series.push(rate.eventsPerSecond);
    if (series.length > 300) series.shift();
    drawRate(key, rate);
    drawSpark(key);
  });
}

function connect() {
  var source = new EventSource(api("/api/events"));
  var status = document.getElementById("connection");
  source.addEventListener("init", function (message) {
    performance.mark("flowctl:init-received");
    var init = JSON.parse(message.data);
    app.init = init;
    document.title = "flowctl \u2014 " + init.pipeline.name;
    document.getElementById("pipeline-name").textContent = init.pipeline.name + " (" + init.pipeline.orchestrator + ")";
    status.textContent = "live";
    drawGraph(init);
    Object.keys(app.history).forEach(drawSpark);
    resetTimeline(init);
    drawState(init.state);
    performance.mark("flowctl:init-drawn");
    // For bench/dashboard.ts: when the first graph is on screen (after the next paint).
    if (!performance.getEntriesByName("flowctl:graph-on-screen").length) {
      requestAnimationFrame(function () {
        setTimeout(function () { performance.mark("flowctl:graph-on-screen"); }, 0);
      });
    }
    if (app.selected && app.nodes[app.selected]) openPanel(app.selected);
  });
  source.addEventListener("state", function (message) { drawState(JSON.parse(message.data)); });
  source.addEventListener("rates", function (message) { onRates(JSON.parse(message.data)); });
  source.addEventListener("timeline", function (message) { addTimeline(JSON.parse(message.data)); });
  source.addEventListener("open", function () { status.textContent = "live"; });
  source.addEventListener("error", function () {
    status.textContent = "disconnected from flowctl: showing the last picture";
    var ended = app.state && ["stopped", "completed", "failed"].indexOf(app.state.pipeline.state) >= 0;
    if (ended) source.close();
  });
}

setInterval(function () { if (app.state) drawState(app.state); }, 1000);
`;

/** The whole client script. */
export const PAGE_SCRIPT = GRAPH_SCRIPT + PANEL_SCRIPT +
  '\ndocument.addEventListener("DOMContentLoaded", function () { connect(); setupTimeline(); });\n';
