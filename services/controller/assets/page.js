// Skein's page: plain JavaScript against the controller's own API. No framework, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const STAGES = ["queued", "running", "scraping", "analyzing", "storing", "final"];
const EVENT_NAMES = ["queued", "running", "scraping", "analyzing", "storing", "retry_scheduled",
  "succeeded", "failed", "cancelled"];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** An error answer of the API, in its one shape. */
class ApiFailure extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

/** Creates an element with text and attributes; children appended in order. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function svg(tag, attrs = {}) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

/** Every call goes through here: the request log shows its status and `traceresponse`. */
async function api(method, path, body) {
  const init = { method, headers: { accept: "application/json" } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    logRequest(method, path, "no answer", null);
    throw new ApiFailure(0, "network_error", `The controller did not answer: ${e.message}`);
  }
  logRequest(method, path, response.status, response.headers.get("traceresponse"));
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    const error = data && data.error;
    throw new ApiFailure(response.status, error ? error.code : `http_${response.status}`,
      error ? error.message : `The controller answered ${response.status}.`);
  }
  return data;
}

function logRequest(method, path, status, traceresponse) {
  const list = $("requests");
  const item = el("li", { class: typeof status === "number" && status < 400 ? "" : "failed" },
    `${method} ${path} → ${status}`, el("br"), `traceresponse: ${traceresponse || "(none)"}`);
  item.dataset.traceresponse = traceresponse || "";
  list.prepend(item);
  while (list.children.length > 40) list.lastElementChild.remove();
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

function say(message) { $("message").textContent = message; }

// ---- submitting ---------------------------------------------------------------------------

async function submit(event) {
  event.preventDefault();
  const asJob = !(event.submitter && event.submitter.value === "sync");
  const url = $("url").value.trim();
  showError("");
  if (!url) { showError("Enter the URL of a page to scrape."); $("url").focus(); return; }
  const order = { url, force: $("force").checked };
  // What is shown below belongs to the previous submission until this one's answer arrives.
  $("document-section").hidden = true;
  for (const button of document.querySelectorAll("#scrape-form button")) button.disabled = true;
  try {
    if (asJob) {
      say("Queueing the job…");
      const job = await api("POST", "/api/v1/jobs", order);
      say(`Job ${job.id} queued.`);
      followJob(job);
    } else {
      say("Scraping… (the controller calls the scraper, then the analyzer)");
      const doc = await api("POST", "/api/v1/scrape", order);
      say(`Stored “${doc.title || doc.url}”.`);
      showDocument(doc);
      if (doc.trace_id) loadTrace(doc.trace_id, doc.trace_url);
      refreshLists();
    }
  } catch (e) {
    say("");
    showError(e.message);
  } finally {
    for (const button of document.querySelectorAll("#scrape-form button")) button.disabled = false;
  }
}

// ---- a job, live ---------------------------------------------------------------------------

let stream = null;

function followJob(job) {
  if (stream) stream.close();
  $("job-section").hidden = false;
  $("job-id").textContent = job.id;
  $("job-events").replaceChildren();
  $("final-stage").textContent = "done";
  markStage("queued", false);
  $("job-status").textContent = job.status;
  if (job.trace_id) prepareTrace(job.trace_id, job.trace_url);
  const source = new EventSource(`/api/v1/jobs/${encodeURIComponent(job.id)}/events`);
  stream = source;
  for (const name of EVENT_NAMES) {
    source.addEventListener(name, (message) => {
      let event;
      try { event = JSON.parse(message.data); } catch { return; }
      onJobEvent(job, event);
      if (event.final) { source.close(); stream = null; }
    });
  }
  // EventSource reconnects by itself; the stream resumes from the job's current stage.
  source.onerror = () => { if (stream === source) say("The job's event stream was interrupted; reconnecting…"); };
}

function onJobEvent(job, event) {
  const detail = event.detail || {};
  let line = `${event.stage} (attempt ${event.attempt})`;
  const failed = event.stage === "failed" || event.stage === "retry_scheduled";
  if (detail.message) line += `: ${detail.message}`;
  if (event.stage === "retry_scheduled") line = `attempt ${event.attempt} failed, retry scheduled: ${detail.message || ""}`;
  $("job-events").append(el("li", { class: failed ? "failed" : "", text: `${event.at || ""} ${line}` }));
  $("job-status").textContent = event.stage;
  if (event.stage === "retry_scheduled") markStage("queued", false);
  else if (STAGES.includes(event.stage)) markStage(event.stage, false);
  if (event.stage === "succeeded" || event.stage === "failed" || event.stage === "cancelled") {
    $("final-stage").textContent = event.stage;
    markStage("final", event.stage !== "succeeded");
    if (event.stage === "failed") showError(detail.message || "The job failed.");
    finishJob(job, detail);
  }
}

function markStage(stage, failed) {
  const at = STAGES.indexOf(stage);
  document.querySelectorAll("#stages li").forEach((li, i) => {
    li.className = i < at ? "done" : i === at ? (failed ? "failed" : stage === "final" ? "done" : "current") : "";
    if (i === at) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
  });
}

async function finishJob(job, detail) {
  if (detail.document_id) {
    try {
      showDocument(await api("GET", `/api/v1/documents/${encodeURIComponent(detail.document_id)}`));
    } catch (e) { showError(e.message); }
  }
  if (job.trace_id) loadTrace(job.trace_id, job.trace_url);
  refreshLists();
  refreshMap();
}

// ---- a document ----------------------------------------------------------------------------

function showDocument(doc) {
  $("document-section").hidden = false;
  const facts = $("document");
  facts.replaceChildren();
  const add = (term, value) => facts.append(el("dt", { text: term }), el("dd", {}, value));
  const link = el("a", { href: doc.final_url || doc.url, rel: "noopener noreferrer", text: doc.final_url || doc.url });
  add("Title", doc.title || "(no title)");
  add("URL", link);
  add("Language", languageName(doc.language));
  add("Reading time", `${Math.max(1, Math.round((doc.reading_time_s || 0) / 60))} min (${doc.word_count ?? "?"} words)`);
  const r = doc.readability || {};
  add("Readability", `${(r.level || "").replace(/_/g, " ")} — Flesch ${fixed(r.flesch_reading_ease)}, grade ${fixed(r.flesch_kincaid_grade)}`);
  const s = doc.sentiment || {};
  add("Sentiment", `${s.label || "?"} (${fixed(s.score, 2)})`);
  add("Keywords", (doc.keywords || []).slice(0, 10).map((k) => k.term).join(", ") || "—");
  add("Key phrases", (doc.key_phrases || []).slice(0, 6).map((k) => k.phrase).join("; ") || "—");
  const tags = el("span", { id: "document-tags" });
  for (const tag of doc.tags || []) tags.append(el("span", { class: "tag", text: tag }));
  add("Tags", tags);
}

/** `en` → `English (en)`, by the browser's own language names (no table to ship). */
function languageName(code) {
  if (!code || code === "und") return "undetermined";
  try {
    const name = new Intl.DisplayNames(["en"], { type: "language" }).of(code);
    return name && name !== code ? `${name} (${code})` : code;
  } catch { return code; }
}

const fixed = (n, digits = 1) => (typeof n === "number" ? n.toFixed(digits) : "?");

// ---- the trace -----------------------------------------------------------------------------

let traceToken = 0;

function prepareTrace(traceId, traceUrl) {
  $("trace-section").hidden = false;
  $("trace-id").textContent = traceId;
  const link = $("grafana-link");
  if (traceUrl) link.href = traceUrl;
}

/** Fetches the trace until its span count stops growing: spans reach the store in batches. */
async function loadTrace(traceId, traceUrl) {
  const token = ++traceToken;
  prepareTrace(traceId, traceUrl);
  $("waterfall").tBodies[0].replaceChildren();
  const note = $("trace-note");
  note.textContent = "Loading the trace…";
  let seen = -1;
  for (let attempt = 0; attempt < 20 && token === traceToken; attempt++) {
    try {
      const trace = await api("GET", `/api/v1/traces/${encodeURIComponent(traceId)}`);
      if (token !== traceToken) return;
      drawWaterfall(trace);
      if (trace.trace_url) $("grafana-link").href = trace.trace_url;
      if (trace.spans.length === seen) {
        note.textContent = `${trace.spans.length} spans from ${trace.services.join(", ")}.`;
        return;
      }
      seen = trace.spans.length;
      note.textContent = `${seen} spans so far; more may still arrive…`;
    } catch (e) {
      if (token !== traceToken) return;
      note.textContent = e.message;
      if (e.status !== 404) { note.className = "error"; return; }
    }
    note.className = "";
    await sleep(1500);
  }
}

function drawWaterfall(trace) {
  const body = $("waterfall").tBodies[0];
  body.replaceChildren();
  const total = trace.duration_ms || 1;
  for (const span of trace.spans) {
    const error = span.status === "error";
    const name = el("td", { text: span.name });
    name.style.paddingLeft = `${0.4 + span.depth * 0.9}rem`;
    const bar = el("div", { class: error ? "bar error" : "bar" });
    bar.style.left = `${(span.start_ms / total) * 100}%`;
    bar.style.width = `${Math.max((span.duration_ms / total) * 100, 0.3)}%`;
    const row = el("tr", { class: error ? "span-error" : "", "data-service": span.service, "data-status": span.status },
      el("td", { text: span.service }),
      name,
      el("td", { class: "bar-cell" }, el("div", { class: "bar-track", role: "presentation" }, bar)),
      el("td", { text: `${span.duration_ms.toFixed(1)} ms` }),
      el("td", { class: error ? "status-error" : "", text: error ? `error: ${span.error || ""}` : span.status }));
    body.append(row);
  }
}

// ---- the service map -----------------------------------------------------------------------

async function refreshMap() {
  const minutes = $("map-minutes").value;
  $("map-window").textContent = minutes;
  try {
    const map = await api("GET", `/api/v1/service-map?minutes=${encodeURIComponent(minutes)}`);
    drawMap(map);
    $("map-note").textContent = map.edges.length
      ? `From ${map.source}: ${map.edges.length} edges.`
      : `From ${map.source}: no calls in the last ${minutes} minutes yet.`;
    $("map-note").className = "";
  } catch (e) {
    $("map-note").textContent = e.message;
    $("map-note").className = "error";
  }
}

/** Layers nodes left to right by the longest chain of callers, then draws edges between them. */
function drawMap(map) {
  const nodes = map.nodes;
  const depth = Object.fromEntries(nodes.map((n) => [n, 0]));
  for (let pass = 0; pass < nodes.length; pass++) {
    for (const e of map.edges) {
      if (e.client !== e.server && depth[e.server] < depth[e.client] + 1) depth[e.server] = depth[e.client] + 1;
    }
  }
  const columns = [];
  for (const n of nodes) (columns[depth[n]] = columns[depth[n]] || []).push(n);
  const colWidth = 250, rowHeight = 64, w = 130, h = 32;
  const width = Math.max(640, columns.length * colWidth + 20);
  const height = Math.max(120, Math.max(1, ...columns.map((c) => (c ? c.length : 0))) * rowHeight + 30);
  const pos = {};
  columns.forEach((column, i) => (column || []).forEach((n, j) => {
    pos[n] = { x: 20 + i * colWidth, y: 20 + j * rowHeight + (height - 30 - (column.length * rowHeight)) / 2 };
  }));
  const root = $("map");
  root.setAttribute("viewBox", `0 0 ${width} ${height}`);
  root.replaceChildren();
  const defs = svg("defs");
  for (const id of ["arrow", "arrow-failed"]) {
    const marker = svg("marker", { id, viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 10, markerHeight: 10,
      markerUnits: "userSpaceOnUse", orient: "auto" });
    marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z" }));
    defs.append(marker);
  }
  root.append(defs);
  const rows = $("edges").tBodies[0];
  rows.replaceChildren();
  // A node's outgoing edges leave from points spread down its right side, in target order.
  const outgoing = {};
  for (const e of map.edges) (outgoing[e.client] = outgoing[e.client] || []).push(e);
  const offset = new Map();
  for (const list of Object.values(outgoing)) {
    list.sort((p, q) => pos[p.server].y - pos[q.server].y);
    list.forEach((e, i) => offset.set(e, (i - (list.length - 1) / 2) * Math.min(6, (h - 8) / list.length)));
  }
  for (const e of map.edges) {
    const a = pos[e.client], b = pos[e.server];
    const failed = e.failed > 0;
    const g = svg("g", { class: failed ? "edge failed" : "edge", "data-client": e.client, "data-server": e.server });
    const x1 = a.x + w, y1 = a.y + h / 2 + offset.get(e), x2 = b.x, y2 = b.y + h / 2;
    const bend = x2 > x1 ? 0 : 60;
    g.append(svg("path", {
      d: `M${x1},${y1} C${x1 + 60 + bend},${y1 - bend} ${x2 - 60 - bend},${y2 - bend} ${x2},${y2}`,
      "marker-end": `url(#${failed ? "arrow-failed" : "arrow"})`,
    }));
    // Labels sit just before the arrowhead: targets differ, so labels do not pile up.
    const label = bend ? svg("text", { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 6 - bend / 2, "text-anchor": "middle" })
      : svg("text", { x: x2 - 12, y: y2 - 8, "text-anchor": "end" });
    label.textContent = failed ? `${e.calls} (${e.failed} failed)` : String(e.calls);
    g.append(label);
    const title = svg("title");
    title.textContent = `${e.client} → ${e.server}: ${e.calls} calls, ${e.failed} failed`;
    g.append(title);
    root.append(g);
    rows.append(el("tr", { class: failed ? "failed" : "", "data-client": e.client, "data-server": e.server, "data-failed": e.failed },
      el("td", { text: e.client }), el("td", { text: e.server }),
      el("td", { text: String(e.calls) }), el("td", { text: String(e.failed) })));
  }
  for (const n of nodes) {
    const g = svg("g", { class: "node", "data-node": n, transform: `translate(${pos[n].x},${pos[n].y})` });
    g.append(svg("rect", { width: w, height: h, rx: 6 }));
    const text = svg("text", { x: w / 2, y: h / 2 });
    text.textContent = n.length > 17 ? `${n.slice(0, 16)}…` : n;
    g.append(text);
    root.append(g);
  }
}

// ---- lists ---------------------------------------------------------------------------------

async function refreshDocuments() {
  const tag = $("tag-filter").value;
  const query = tag ? `?limit=20&tag=${encodeURIComponent(tag)}` : "?limit=20";
  try {
    const page = await api("GET", `/api/v1/documents${query}`);
    const list = $("documents");
    list.replaceChildren();
    for (const doc of page.items) {
      const show = el("button", { type: "button", class: "secondary", text: "Show document and trace" });
      show.addEventListener("click", () => {
        showDocument(doc);
        if (doc.trace_id) loadTrace(doc.trace_id, doc.trace_url);
        $("doc-title").scrollIntoView();
      });
      const tags = el("div");
      for (const t of doc.tags || []) tags.append(el("span", { class: "tag", text: t }));
      list.append(el("li", { "data-id": doc.id }, el("strong", { text: doc.title || "(no title)" }), el("br"),
        el("span", { class: "mono", text: doc.url }), tags, show));
    }
    if (!page.items.length) list.append(el("li", { text: "No documents yet." }));
  } catch (e) { showError(e.message); }
}

async function refreshTags() {
  try {
    const tags = await api("GET", "/api/v1/tags");
    const select = $("tag-filter");
    const current = select.value;
    select.replaceChildren(el("option", { value: "", text: "all tags" }));
    for (const t of tags) select.append(el("option", { value: t.tag, text: `${t.tag} (${t.count})` }));
    select.value = tags.some((t) => t.tag === current) ? current : "";
  } catch (e) { showError(e.message); }
}

async function refreshJobs() {
  try {
    const page = await api("GET", "/api/v1/jobs?limit=10");
    const body = $("jobs").tBodies[0];
    body.replaceChildren();
    for (const job of page.items) {
      body.append(el("tr", { class: job.status === "failed" ? "failed" : "", "data-status": job.status },
        el("td", { text: job.status }), el("td", { class: "mono", text: job.url }),
        el("td", { text: `${job.attempts}/${job.max_attempts}` }), el("td", { text: job.created_at || "" })));
    }
  } catch (e) { showError(e.message); }
}

async function refreshLists() {
  await refreshTags();
  await refreshDocuments();
  await refreshJobs();
}

document.addEventListener("DOMContentLoaded", () => {
  $("scrape-form").addEventListener("submit", submit);
  $("map-refresh").addEventListener("click", refreshMap);
  $("map-minutes").addEventListener("change", refreshMap);
  $("jobs-refresh").addEventListener("click", refreshJobs);
  $("tag-filter").addEventListener("change", refreshDocuments);
  refreshLists();
  refreshMap();
  setInterval(() => { if (!document.hidden) refreshMap(); }, 10000);
});
