/**
 * The dashboard page: HTML and CSS, hand-written and dependency-free (the client script is in
 * page_script.ts). A graph of a few hundred boxes laid out by dependency level needs no layout
 * library, and an SVG drawn by hand stays small (see the README for its size), readable and
 * fully offline: the page loads only its own two assets, which are part of the program.
 */
export { PAGE_SCRIPT } from "./page_script.ts";

/** The page, with `token` in the links to its assets. */
export function pageHtml(token: string): string {
  const query = `?token=${encodeURIComponent(token)}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>flowctl dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/app.css${query}">
<script src="/app.js${query}" defer></script>
</head>
<body>
<header>
  <h1><span class="brand">flowctl</span> <span id="pipeline-name">…</span></h1>
  <p id="pipeline-state" role="status" data-pipeline-state="connecting">connecting…</p>
  <p id="connection" role="status"></p>
</header>
<main>
  <section id="graph-pane" aria-label="Pipeline graph (Tab moves between components, Enter opens one)">
    <svg id="graph" xmlns="http://www.w3.org/2000/svg" role="group" aria-label="pipeline graph"></svg>
  </section>
  <aside id="panel" hidden aria-labelledby="panel-title"></aside>
</main>
<section id="timeline-pane" aria-labelledby="timeline-title">
  <div class="timeline-head">
    <h2 id="timeline-title">Events</h2>
    <label>Component <select id="timeline-filter"><option value="">all</option></select></label>
  </div>
  <ol id="timeline"></ol>
</section>
</body>
</html>
`;
}

/**
 * States carry a symbol and a label; colour only repeats them. Borders differ in style too, so
 * the picture reads in greyscale.
 */
export const PAGE_STYLE = `
:root { color-scheme: light; --ink: #1d232b; --muted: #5b6572; --line: #c9d0d8; --bg: #f6f7f9;
  --ok: #1f7a3a; --warn: #9a6700; --bad: #b42318; --idle: #6b7280; --focus: #1d4ed8; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
  background: var(--bg); display: grid; grid-template-rows: auto minmax(0, 1fr) 28vh;
  grid-template-columns: minmax(0, 1fr); height: 100vh; }
header { display: flex; gap: 16px; align-items: baseline; padding: 8px 16px; background: #fff;
  border-bottom: 1px solid var(--line); }
h1 { font-size: 16px; margin: 0; } .brand { color: var(--muted); font-weight: 500; }
header p { margin: 0; color: var(--muted); }
#pipeline-state[data-pipeline-state="failed"] { color: var(--bad); font-weight: 600; }
#connection { margin-left: auto; }
main { display: flex; min-height: 0; min-width: 0; }
#graph-pane { flex: 1; overflow: auto; min-width: 0; }
#graph { display: block; }
.node { cursor: pointer; }
.node .box { fill: #fff; stroke: var(--line); stroke-width: 1.5; }
.node:focus { outline: none; } .node:focus .box, .node.selected .box { stroke: var(--focus); stroke-width: 3; }
.node text { font-size: 12px; fill: var(--ink); }
.node .title { font-weight: 600; font-size: 13px; }
.node .detail { fill: var(--muted); font-size: 11px; }
.node .state { font-weight: 600; }
.node[data-state="healthy"] .state, .node[data-state="running"] .state { fill: var(--ok); }
.node[data-state="unhealthy"] .box, .node[data-state="failed"] .box { stroke: var(--bad); stroke-width: 2.5; stroke-dasharray: 6 3; }
.node[data-state="unhealthy"] .state, .node[data-state="failed"] .state, .node[data-state="exited"] .state { fill: var(--bad); }
.node[data-state="starting"] .state, .node[data-state="waiting"] .state, .node[data-state="restarting"] .state { fill: var(--warn); }
.node[data-state="restarting"] .box, .node[data-state="starting"] .box { stroke-dasharray: 2 3; }
.node[data-state="stopped"] .box, .node[data-state="exited"] .box, .node[data-state="pending"] .box { fill: #f1f2f4; }
.node[data-state="stopped"] .state, .node[data-state="pending"] .state { fill: var(--idle); }
.node .stripe { fill: var(--line); }
.node[data-state="healthy"] .stripe, .node[data-state="running"] .stripe { fill: var(--ok); }
.node[data-state="unhealthy"] .stripe, .node[data-state="failed"] .stripe, .node[data-state="exited"] .stripe { fill: var(--bad); }
.node[data-state="starting"] .stripe, .node[data-state="waiting"] .stripe, .node[data-state="restarting"] .stripe { fill: var(--warn); }
.edge path { fill: none; stroke: #8a94a3; stroke-width: 1.6; }
.edge.order path { stroke-dasharray: 5 4; }
.edge.flowing path { stroke: var(--focus); stroke-width: 2.4; }
.edge .rate { font-size: 11px; fill: var(--ink); paint-order: stroke; stroke: var(--bg); stroke-width: 3px; }
.edge .spark { fill: none; stroke: var(--focus); stroke-width: 1.2; }
.edge .spark-base { stroke: var(--line); stroke-width: 1; }
#arrow path { fill: #8a94a3; }
#panel { flex: 0 0 440px; max-width: 50vw; overflow: auto; background: #fff; border-left: 1px solid var(--line);
  padding: 12px 16px; }
#panel h2 { margin: 0 0 4px; font-size: 16px; word-break: break-all; }
.panel-head { display: flex; justify-content: space-between; align-items: baseline; gap: 8px; }
#panel h3 { font-size: 13px; margin: 14px 0 4px; }
#panel dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 8px 0; }
#panel dt { color: var(--muted); } #panel dd { margin: 0; word-break: break-word; }
#panel .buttons { display: flex; gap: 6px; flex-wrap: wrap; align-items: center; margin: 8px 0; }
button { font: inherit; padding: 4px 10px; border: 1px solid #8a94a3; border-radius: 4px; background: #fff; cursor: pointer; }
button:focus-visible, select:focus-visible, input:focus-visible, pre:focus-visible { outline: 3px solid var(--focus); outline-offset: 1px; }
button.link { border: none; padding: 0; color: var(--focus); text-decoration: underline; background: none; }
#panel table { border-collapse: collapse; width: 100%; font: 12px ui-monospace, monospace; }
#panel td { border-top: 1px solid #eef0f3; padding: 2px 4px; vertical-align: top; word-break: break-all; }
#log { background: #10151b; color: #e6e9ee; font: 12px/1.35 ui-monospace, monospace; padding: 8px;
  height: 280px; overflow: auto; white-space: pre-wrap; word-break: break-all; margin: 0; }
#control-result { min-height: 1.4em; margin: 0; color: var(--muted); }
#timeline-pane { border-top: 1px solid var(--line); background: #fff; display: flex; flex-direction: column; min-height: 0; }
.timeline-head { display: flex; gap: 16px; align-items: center; padding: 4px 16px; }
.timeline-head h2 { font-size: 13px; margin: 0; }
#timeline { list-style: none; margin: 0; padding: 0 16px 8px; overflow: auto; font: 12px ui-monospace, monospace; }
#timeline li { padding: 1px 0; border-bottom: 1px solid #f0f1f3; }
#timeline .time { color: var(--muted); margin-right: 8px; }
#timeline .type { font-weight: 600; margin-right: 8px; }
#timeline li.hidden { display: none; }
`;
