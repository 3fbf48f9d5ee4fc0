// freebeken local page: presentation only; every decision is made by the Python API.
const params = new URLSearchParams(location.search);
if (params.get("token")) sessionStorage.setItem("token", params.get("token"));
const token = sessionStorage.getItem("token") || "";
const $ = (id) => document.getElementById(id);
if (!token) $("no-token").hidden = false;
let backupPath = null;
let chipMac = "";  // from the backup: how the plug is recognised on the network
let apMac = "";  // what the plug reported on its access point (the same station MAC)

async function api(path, body, raw) {
  const headers = { "X-Freebeken-Token": token };
  const init = { method: body === undefined ? "GET" : "POST", headers };
  if (raw) { init.body = raw; headers["Content-Type"] = "application/octet-stream"; }
  else if (body !== undefined) { init.body = JSON.stringify(body); headers["Content-Type"] = "application/json"; }
  const response = await fetch(path, init);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error + (data.hint ? " — " + data.hint : ""));
  return data;
}

function show(el, text, kind) { el.className = kind || ""; el.textContent = text; }
function log(text) { $("log").textContent = text + "\n" + $("log").textContent; }

function fmtBytes(n) { return n >= 1048576 ? (n / 1048576).toFixed(2) + " MiB" : (n / 1024).toFixed(0) + " KiB"; }

// Follow a job's events: progress bar with bytes, rate and ETA; questions become buttons.
function follow(jobId, progressEl, onQuestion) {
  return new Promise((resolve, reject) => {
    const source = new EventSource(`/api/jobs/${jobId}/events?token=${encodeURIComponent(token)}`);
    let phaseStart = Date.now();
    source.onmessage = (message) => {
      const ev = JSON.parse(message.data);
      if (ev.kind === "phase") { phaseStart = Date.now(); log(ev.message); }
      else if (ev.kind === "progress" && progressEl) {
        progressEl.style.display = "block";
        const pct = ev.total ? (100 * ev.done) / ev.total : 0;
        const seconds = (Date.now() - phaseStart) / 1000;
        const rate = seconds > 0 ? ev.done / seconds : 0;
        const eta = rate > 0 ? (ev.total - ev.done) / rate : 0;
        progressEl.querySelector(".bar").style.width = pct + "%";
        progressEl.querySelector(".label").textContent =
          `${fmtBytes(ev.done)} / ${fmtBytes(ev.total)} · ${fmtBytes(rate)}/s · ETA ${eta.toFixed(0)} s`;
      } else if (ev.kind === "retry" || ev.kind === "warning" || ev.kind === "info") log(ev.message);
      else if (ev.kind === "question" && onQuestion) onQuestion(jobId, ev);
      else if (ev.kind === "done") { source.close(); resolve(ev.result); }
      else if (ev.kind === "error") { source.close(); reject(new Error(ev.message + (ev.hint ? " — " + ev.hint : ""))); }
    };
  });
}

async function loadPorts() {
  const chosen = $("port").value;
  const { ports } = await api("/api/ports");
  $("port").innerHTML = ports.map((p) => `<option value="${p.port}">${p.label}</option>`).join("");
  if (ports.some((p) => p.port === chosen)) $("port").value = chosen;  // a refresh keeps the choice
  $("port").dataset.loads = String(Number($("port").dataset.loads || 0) + 1);  // lets tests wait for it
}
$("btn-ports").onclick = () => loadPorts().catch((e) => log(e.message));

// A job behind a button: the button is disabled while it runs; a failure is shown in `out`.
async function busy(button, out, waiting, work, failHint = "") {
  button.disabled = true;
  show(out, waiting);
  try { await work(); } catch (e) { show(out, e.message + failHint, "error"); }
  button.disabled = false;
}

$("btn-lookup").onclick = () => busy($("btn-lookup"), $("lookup-result"), "Looking in the public lists…", async () => {
  const r = await api("/api/lookup", { text: $("product").value, firmware: $("app-firmware").value });
  const box = $("lookup-result");
  box.className = "ok";
  box.textContent = "";
  const line = (text) => { const p = document.createElement("p"); p.textContent = text; box.appendChild(p); };
  if (!r.openbeken.length && !r.cloudcutter.length) line("In neither list: the backup will tell its pins.");
  for (const h of r.openbeken) line(`OpenBeken template: ${h.title} (${h.chip || "?"})`);
  for (const h of r.cloudcutter) line(`${h.title}: ${h.no_solder}`);
});

$("btn-backup").onclick = () => busy($("btn-backup"), $("backup-result"), "Linking with the chip…", async () => {
  const { job } = await api("/api/backup", { port: $("port").value, timeout: Number(params.get("link_timeout") || 15) });
  const result = await follow(job, $("backup-progress"));
  backupPath = result.backup.path;
  const info = result.info;
  chipMac = info.mac || "";
  $("backup-result").className = "ok";
  $("backup-result").innerHTML = `${info.chip} · MAC ${info.mac || "?"} · backup saved (${result.backup.blank_sectors} blank sectors skipped). ` +
    `<a data-testid="download" href="/api/download?token=${encodeURIComponent(token)}&path=${encodeURIComponent(backupPath)}">Download the backup</a>`;
  loadBackups().catch((e) => log(e.message));
  const analysis = await api("/api/analyze", { path: backupPath });
  $("template").value = analysis.template;
  if (analysis.template) await checkTemplate();
  else show($("problems"), "No pins in the backup: use “Find the pins” once OpenBeken runs.", "warning");
});

async function checkTemplate() {
  const result = await api("/api/template/check", { text: $("template").value });
  const items = result.problems.map((p) => `<li class="${p.severity}">${p.severity}: ${p.where}: ${p.message}</li>`);
  if (result.ok) items.unshift('<li class="ok">The firmware will accept this template.</li>');
  $("problems").innerHTML = items.join("");
  $("entry").textContent = result.entry;
  $("submit-link").hidden = !result.ok;
  if (result.ok) $("submit-link").href = result.issue_link;
  return result.ok;
}
$("btn-check").onclick = () => checkTemplate().catch((e) => show($("problems"), e.message, "error"));

$("firmware").onchange = () => { if ($("firmware").files.length) $("fw-own").checked = true; };
$("btn-flash").onclick = () => {
  const file = $("firmware").files[0];
  const own = $("fw-own").checked;
  if (own && !file) { show($("flash-result"), "Choose the OpenBeken file first (or pick the newest release).", "error"); return; }
  busy($("btn-flash"), $("flash-result"), own ? "Uploading and linking…" : "Linking, then fetching the right release…", async () => {
    const path = own ? (await api(`/api/upload?name=${encodeURIComponent(file.name)}`, {}, await file.arrayBuffer())).path : "latest";
    const configure = $("configure").checked ? { ssid: $("cfg-ssid").value, password: $("cfg-wifi-password").value,
      broker: $("cfg-broker").value, name: $("cfg-name").value, template: $("template").value } : null;
    const { job } = await api("/api/flash", { port: $("port").value, firmware: path, configure });
    const result = await follow(job, $("flash-progress"));
    const saved = result.backup ? ` A backup was taken first: ${result.backup}.` : "";
    let text = `OpenBeken flashed (${result.firmware}): ${result.written} sectors written, ${result.skipped} already right, all verified.${saved}`;
    if (result.configured) {
      clientId = result.configured.client_id;
      text += ` Set up for ${result.configured.ssid} as ${clientId}.`;
      $("first-boot").hidden = false;
    }
    show($("flash-result"), text, "ok");
  }, " Fix the cause, then press Resume (or Flash again).");
};

let clientId = "";
$("btn-first-boot").onclick = () => busy($("btn-first-boot"), $("first-boot-result"), "Waiting: now power the plug…", async () => {
  const { job } = await api("/api/first_boot", { broker: $("cfg-broker").value, client_id: clientId, http_port: Number(params.get("http_port") || 80) });
  const r = await follow(job, null);
  $("host").value = r.host;
  const box = $("first-boot-result");
  box.className = r.ha.problems.length ? "error" : "ok";
  box.textContent = `The plug joined and is at ${r.host}. ` + (r.ha.problems.length ? "Problems: " + r.ha.problems.join("; ")
    : `Home Assistant: ${r.ha.entities.map((e) => e.entity_id).join(", ")} (verified: ${r.ha.round_trip}).`);
});

$("btn-resume").onclick = () => busy($("btn-resume"), $("flash-result"), "Linking to look for an interrupted flash…", async () => {
  const { job } = await api("/api/resume", { port: $("port").value });
  const result = await follow(job, $("flash-progress"));
  if (result.pending) show($("flash-result"), `Resumed and finished: ${result.written} sectors written, all verified.`, "ok");
  else show($("flash-result"), "Nothing to resume: no interrupted flash or restore of this chip.", "ok");
});

$("btn-wifi").onclick = () => busy($("btn-wifi"), $("wifi-result"), "Sending…", async () => {
  const result = await api("/api/wifi", { ap: $("ap").value, ssid: $("ssid").value, password: $("wifi-password").value });
  apMac = result.mac;
  show($("wifi-result"), `Sent. The plug (MAC ${result.mac}) restarts and joins ${$("ssid").value}. ` +
    "Reconnect this computer to your home Wi-Fi, then press “Find it on my network” below.", "ok");
});

$("btn-find").onclick = () => busy($("btn-find"), $("found"), "Asking every address on the network…", async () => {
  const { job } = await api("/api/find", { network: $("network").value, macs: [apMac, chipMac], port: Number(params.get("http_port") || 80) });
  const result = await follow(job, null);
  if (result.match) $("host").value = result.match;
  const box = $("found");
  box.className = result.devices.length ? "ok" : "warning";
  box.textContent = result.match ? `Found your plug at ${result.match}. ` :
    result.devices.length ? "OpenBeken devices found (click one to use it): " :
    "No OpenBeken device answered. Is the plug on this Wi-Fi? A plug still in access-point mode is at 192.168.4.1 on its own network.";
  for (const d of result.match ? [] : result.devices) {
    const b = document.createElement("button");
    b.textContent = d.locked ? `${d.address} (needs its web password)` : `${d.address} ${d.name} ${d.chipset} MAC ${d.mac}`;
    b.onclick = () => { $("host").value = d.address; };
    box.appendChild(b);
  }
});

$("btn-apply").onclick = async () => {
  try {
    await api("/api/apply", { host: $("host").value, template: $("template").value });
    show($("device-result"), "Template applied and verified on the device.", "ok");
  } catch (e) { show($("device-result"), e.message, "error"); }
};

function askQuestion(jobId, ev) {
  const box = $("question");
  box.innerHTML = `<p>${ev.message}</p>`;
  for (const [value, label] of ev.options) {
    const b = document.createElement("button");
    b.textContent = label; b.dataset.answer = value;
    b.onclick = async () => { box.innerHTML = ""; await api("/api/answer", { job: jobId, answer: value }); };
    box.appendChild(b);
  }
}

$("btn-pins").onclick = async () => {
  show($("device-result"), "Pin finder running: watch the plug and answer below.");
  try {
    const { job } = await api("/api/pins", { host: $("host").value, pulse: Number(params.get("pulse") || 0.4) });
    const result = await follow(job, null, askQuestion);
    let template = {};
    try { template = JSON.parse($("template").value); } catch (e) { /* start from the pins alone */ }
    template.pins = result.template.pins;  // keep vendor, name, chip, board from the backup
    $("template").value = JSON.stringify(template, null, 2);
    await checkTemplate();
    show($("device-result"), "Pins found: " + JSON.stringify(result.template.pins), "ok");
  } catch (e) { show($("device-result"), e.message, "error"); }
};

$("btn-ha").onclick = async () => {
  show($("ha-result"), "Configuring MQTT and waiting for the device on the broker…");
  try {
    const { job } = await api("/api/ha", { host: $("host").value, broker: $("broker").value, name: $("ha-name").value });
    const r = await follow(job, null);
    const box = $("ha-result");
    box.className = r.problems.length ? "error" : "ok";
    // text only: entity ids and problems come from what devices published on the broker
    box.textContent = r.problems.length ? "Problems: " + r.problems.join("; ") : "Verified: online, discovery valid, " + r.round_trip;
    const list = document.createElement("ul");
    for (const e of r.entities) { const li = document.createElement("li"); li.textContent = `${e.entity_id} (${e.component})`; list.appendChild(li); }
    box.appendChild(list);
  } catch (e) { show($("ha-result"), e.message, "error"); }
};

async function loadBackups() {
  const { backups } = await api("/api/backups");
  $("backup-list").innerHTML = backups.length
    ? backups.map((b) => `<option value="${b.path}">${b.name}</option>`).join("")
    : '<option value="">no backups yet</option>';
}

$("btn-restore").onclick = () => busy($("btn-restore"), $("restore-result"), "Checking the backup and linking…", async () => {
  const file = $("backup-file").files[0];
  const path = file ? (await api(`/api/upload?name=${encodeURIComponent(file.name)}`, {}, await file.arrayBuffer())).path
    : $("backup-list").value;
  const { job } = await api("/api/restore", { port: $("port").value, path, otherDevice: $("other-device").checked });
  const result = await follow(job, $("restore-progress"));
  show($("restore-result"), `Restored: ${result.written} sectors written, ${result.skipped} already right, all verified.`, "ok");
});

if (token) {
  loadPorts().catch((e) => log(e.message));
  loadBackups().catch((e) => log(e.message));
}
