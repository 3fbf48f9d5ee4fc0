// freebeken local page, core: the API, the activity log, progress, and the stepper over the plug's
// journey. The journey lives on the server (the same state `freebeken convert` keeps), so a reload,
// a closed tab or the command line continue where the last one stopped. Every decision is made by
// the Python API; this file only shows it.
const params = new URLSearchParams(location.search);
if (params.get("token")) sessionStorage.setItem("token", params.get("token"));
const token = sessionStorage.getItem("token") || "";
const $ = (id) => document.getElementById(id);
if (!token) $("no-token").hidden = false;
let ORDER = ["device"], LABEL = {};  // the steps and their names come from the server (start)
const page = { journey: null, view: null, step: "device", reached: "device" };

async function api(path, body, raw) {
  const headers = { "X-Freebeken-Token": token };
  const init = { method: body === undefined ? "GET" : "POST", headers };
  if (raw) { init.body = raw; headers["Content-Type"] = "application/octet-stream"; }
  else if (body !== undefined) { init.body = JSON.stringify(body); headers["Content-Type"] = "application/json"; }
  let response;
  try { response = await fetch(path, init); }
  catch (e) { throw new Error("freebeken does not answer — is `freebeken web` still running in its terminal?"); }
  const data = await response.json().catch(() => ({ error: `freebeken answered ${response.status} without words`, hint: "" }));
  if (!response.ok) throw new Error(data.error + (data.hint ? " — " + data.hint : ""));
  return data;
}

function show(el, text, kind) { el.className = kind || ""; el.textContent = text; }
function log(text) {  // top to bottom, newest last, as it happened
  const line = document.createElement("div");
  line.textContent = `${new Date().toLocaleTimeString()}  ${text}`;
  $("log").appendChild(line);
  $("log").scrollTop = $("log").scrollHeight;
}
function fmtBytes(n) { return n >= 1048576 ? (n / 1048576).toFixed(2) + " MiB" : (n / 1024).toFixed(0) + " KiB"; }
function fmtTime(s) { return s >= 90 ? `${Math.round(s / 60)} min` : `${Math.max(0, Math.round(s))} s`; }
function para(box, text, kind) { const p = document.createElement("p"); p.textContent = text; if (kind) p.className = kind; box.appendChild(p); return p; }

// A wait the server announced (its phase's data: seconds, and what happens at the end) as a countdown.
function countdown(el, wait, then) {
  if (!el) return () => {};
  const end = Date.now() + wait * 1000;
  const tick = () => {
    const left = Math.max(0, Math.round((end - Date.now()) / 1000));
    el.textContent = `Waiting: ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")} left. ${then || ""}`;
  };
  el.hidden = false; tick();
  const timer = setInterval(tick, 1000);
  return () => { clearInterval(timer); el.hidden = true; };
}

// Follow a job's events: progress bar with bytes, rate and time left (for what the server says the
// bar shows); a wait as a countdown; questions become buttons.
function follow(jobId, progressEl, onQuestion, countdownEl) {
  return new Promise((resolve, reject) => {
    const source = new EventSource(`/api/jobs/${jobId}/events?token=${encodeURIComponent(token)}`);
    let phaseStart = Date.now();
    let stopCountdown = () => {};
    const finish = () => { source.close(); stopCountdown(); };
    source.onmessage = (message) => {
      const ev = JSON.parse(message.data);
      if (ev.kind === "phase") {
        phaseStart = Date.now(); log(ev.message); stopCountdown();
        if (ev.data && ev.data.wait) stopCountdown = countdown(countdownEl, ev.data.wait, ev.data.then);
      }
      else if (ev.kind === "progress" && progressEl && ev.bar !== false) {
        progressEl.style.display = "block";
        const pct = ev.total ? (100 * ev.done) / ev.total : 0;
        const seconds = (Date.now() - phaseStart) / 1000;
        const rate = seconds > 0 ? ev.done / seconds : 0;
        const left = rate > 0 ? (ev.total - ev.done) / rate : 0;
        progressEl.setAttribute("aria-valuenow", Math.round(pct));
        progressEl.querySelector(".bar").style.width = pct + "%";
        progressEl.querySelector(".label").textContent =
          `${fmtBytes(ev.done)} of ${fmtBytes(ev.total)} · ${fmtBytes(rate)}/s · about ${fmtTime(left)} left`;
      } else if (["retry", "warning", "info"].includes(ev.kind)) log(ev.message);
      else if (ev.kind === "question" && onQuestion) onQuestion(jobId, ev);
      else if (ev.kind === "done") { finish(); resolve(ev.result); }
      else if (ev.kind === "error") { finish(); log(ev.message); reject(new Error(ev.message + (ev.hint ? " — " + ev.hint : ""))); }
    };
    source.onerror = () => { if (source.readyState === EventSource.CLOSED) reject(new Error("The connection to freebeken was lost: reload the page, the plug's journey is kept.")); };
  });
}

// A job behind a button: disabled while it runs; a failure is shown in `out` in words.
async function busy(button, out, waiting, work, failHint = "") {
  button.disabled = true;
  show(out, waiting);
  try { await work(); } catch (e) { show(out, e.message + failHint, "error"); }
  button.disabled = false;
}

// ---- the stepper ----
function go(step, focus = true) {
  page.step = step;
  if (ORDER.indexOf(step) > ORDER.indexOf(page.reached)) page.reached = step;
  document.querySelectorAll("section[data-step]").forEach((s) => { s.hidden = s.dataset.step !== step; });
  $("plugs").hidden = true;
  paintStepper();
  if (step === "restore") loadBackups().catch((e) => log(e.message));
  const section = document.querySelector(`section[data-step="${step}"]`);
  const slot = section && section.querySelector(".port-slot");
  if (slot) { slot.appendChild($("port-line")); slot.appendChild($("download-mode")); }  // one adapter choice, and the boot pin
  const simSlot = section && section.querySelector(".sim-slot");
  if (simSlot) { simSlot.appendChild($("sim-plug")); showSimPlug(); }  // a simulated plug's power and button
  if (typeof onShow[step] === "function") onShow[step]();
  if (focus && section) section.querySelector("h2").focus();
}
document.querySelectorAll("#stepper button").forEach((b) => { b.onclick = () => go(b.dataset.goto); });

function paintStepper() {  // done steps ticked, the open ones enabled, the shown one current
  const done = page.view ? ORDER.indexOf(page.view.next) : 0;
  for (const b of document.querySelectorAll("#stepper button")) {
    const i = ORDER.indexOf(b.dataset.goto);
    b.disabled = !(b.dataset.goto === "restore" || i <= Math.max(ORDER.indexOf(page.reached), done));
    b.classList.toggle("done", i >= 0 && i < done);
    if (b.dataset.goto === page.step) b.setAttribute("aria-current", "step"); else b.removeAttribute("aria-current");
  }
}
const onShow = {};  // per step: fill the step from the journey when it is shown (steps.js)

function adopt(view, goNext = true) {
  if (!view) return;
  page.view = view;
  page.reached = view.next;  // the journey decides what is open (after a restore, less than before)
  page.journey = view.identity;
  localStorage.setItem("journey", view.identity);
  $("plug-name").textContent = `${view.chip || "?"} plug, MAC ${view.mac || "unknown"}`;
  if (goNext) go(view.next); else paintStepper();
}

async function openJourney(id) {
  adopt(await api(`/api/journey?id=${encodeURIComponent(id)}`));
  log(`Continuing the ${page.view.chip} plug ${page.view.mac || page.view.identity} (last step ${page.view.updated})`);
}

async function start() {
  await loadPorts();
  const { journeys, order, labels } = await api("/api/journeys");
  ORDER = order; LABEL = labels;
  const remembered = localStorage.getItem("journey");
  if (remembered && journeys.some((j) => j.identity === remembered)) return openJourney(remembered);
  const open = journeys.filter((j) => j.next !== "done");
  if (!open.length) return go("device");
  showPlugs(open);
}

function showPlugs(open) {
  const list = $("plug-list");
  list.textContent = "";
  for (const j of open) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.textContent = `Continue the ${j.chip} plug ${j.mac || j.identity} (${j.updated}, next: ${LABEL[j.next]})`;
    b.onclick = () => openJourney(j.identity).catch((e) => log(e.message));
    li.appendChild(b); list.appendChild(li);
  }
  $("plugs").hidden = false;
  document.querySelectorAll("section[data-step]").forEach((s) => { s.hidden = true; });
  $("plugs").querySelector("h2").focus();
}

function newPlug() {
  page.journey = null; page.view = null; page.reached = "device";
  localStorage.removeItem("journey");
  $("plug-name").textContent = "a new plug";
  go("device");
}
$("btn-new").onclick = newPlug;
$("btn-switch").onclick = async () => {
  try { showPlugs((await api("/api/journeys")).journeys.filter((j) => j.identity !== page.journey)); }
  catch (e) { log(e.message); }
};

async function loadPorts() {
  const chosen = $("port").value;
  const { ports } = await api("/api/ports");
  $("port").innerHTML = "";
  for (const p of ports) { const o = new Option(p.label, p.port); o.dataset.family = p.family || (p.port.startsWith("sim://") ? "beken" : ""); $("port").add(o); }
  if (ports.some((p) => p.port === chosen)) $("port").value = chosen;  // a refresh keeps the choice
  $("port").dataset.loads = String(Number($("port").dataset.loads || 0) + 1);  // lets tests wait for it
}
$("btn-ports").onclick = () => loadPorts().catch((e) => log(e.message));

async function loadBackups() {
  const { backups } = await api("/api/backups");
  $("backup-list").innerHTML = "";
  if (!backups.length) $("backup-list").add(new Option("no backups yet", ""));
  for (const b of backups) $("backup-list").add(new Option(b.name, b.path));
  const own = page.view && page.view.steps.backup && page.view.steps.backup.path;
  if (own && backups.some((b) => b.path === own)) $("backup-list").value = own;
}
