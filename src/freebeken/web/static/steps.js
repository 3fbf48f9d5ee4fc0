// freebeken local page, the steps: each shows what its journey record says was done, and runs its
// operation on the server. Uses the core in app.js.
const steps = () => (page.view ? page.view.steps : {});
const when = (record) => (record && record.at ? ` (${record.at})` : "");
function offerNext(step) {
  const b = document.querySelector(`section[data-step="${step}"] button.next`);
  if (b) b.hidden = !page.view || page.view.next === step;
}
document.querySelectorAll("button.next").forEach((b) => { b.onclick = () => go(page.view ? page.view.next : "device"); });
function journeyBody(extra) { return { journey: page.journey, ...extra }; }
function deviceAddress() { return (page.view && page.view.device) || $("host").value; }

// ---- what is it ----
let modules = [];
// A copy of a public list given by the person (no internet here): uploaded once, used by each lookup.
for (const [input, key] of [["copy-devices", "devices_json"], ["copy-cloudcutter", "cloudcutter"]]) {
  $(input).onchange = async () => {
    const file = $(input).files[0];
    if (!file) return;
    try { page[key] = (await api(`/api/upload?name=${encodeURIComponent(file.name)}`, {}, await file.arrayBuffer())).path; log(`Using your copy: ${file.name}`); }
    catch (e) { show($("lookup-result"), e.message, "error"); }
  };
}
$("btn-lookup").onclick = () => busy($("btn-lookup"), $("lookup-result"), "Looking in the public lists…", async () => {
  const r = await api("/api/lookup", { text: $("product").value, firmware: $("app-firmware").value,
    devices_json: page.devices_json || "", cloudcutter: page.cloudcutter || "" });
  const box = $("lookup-result");
  box.className = "ok"; box.textContent = "";
  for (const u of r.unavailable) para(box, `${u.list} not checked: ${u.error} ${u.hint || ""} (“No internet here?” below takes a copy.)`, "warning");
  if (!r.unavailable.length && !r.openbeken.length && !r.cloudcutter.length) para(box, "In neither list: the backup will tell its pins.");
  for (const h of r.openbeken) {
    const p = para(box, `OpenBeken template: ${h.title} (${h.chip || "?"}): ${h.pins}`);
    if (h.wiki) { const a = document.createElement("a"); a.href = h.wiki; a.target = "_blank"; a.rel = "noopener"; a.textContent = " wiki"; p.appendChild(a); }
    const board = String((h.entry && h.entry.board) || "").toUpperCase().replace(/\s+/g, "");
    if (modules.some((m) => m.name === board) && !$("module").dataset.chosen) { $("module").value = board; showWiring(); }
  }
  for (const h of r.cloudcutter) para(box, `tuya-cloudcutter: ${h.title}: ${h.no_solder}`);
  if (r.firmware_answer) para(box, r.firmware_answer);
  for (const f of r.firmware_profiles.slice(0, 10)) para(box, `  ${f}`);
});
$("btn-to-connect").onclick = () => go("connect");

// ---- wire and back up ----
let modulesOf = "";
async function loadModules() {
  await familyOfJourney();  // a plug's own family first (families.js)
  const fam = $("family").value || "beken";
  if (modules.length && modulesOf === fam) return;
  modules = (await api(`/api/modules?family=${encodeURIComponent(fam)}`)).modules;
  modulesOf = fam;
  const select = $("module");
  select.innerHTML = "";
  select.add(new Option("I do not know yet / another module", ""));
  for (const m of modules) select.add(new Option(`${m.name} (${m.chip})`, m.name));
}
function showWiring() {
  const m = modules.find((x) => x.name === $("module").value);
  const img = $("wiring"), caption = $("wires");
  caption.textContent = "";
  if (!m) {
    img.hidden = true;
    const f = chosenFamily();
    para(caption, f.name === "beken" ? "Any BK72xx module: adapter TX to the chip's RX1 (P10), adapter RX to TX1 (P11), GND to GND, and a stable 3.3 V last. CEN is the reset pad."
      : `Any ${f.label} module: ${f.wiring}. ${f.download_mode}`);
    return;
  }
  img.src = `/api/wiring?module=${encodeURIComponent(m.name)}&token=${encodeURIComponent(token)}`;
  img.alt = `Wiring a ${m.name}: ` + m.wires.map((w) => `adapter ${w.adapter} to ${w.pad}`).join("; ");
  img.hidden = false;
  const list = document.createElement("ol");
  for (const w of m.wires) { const li = document.createElement("li"); li.textContent = `Adapter ${w.adapter} → ${w.pad}: ${w.why}.`; list.appendChild(li); }
  caption.appendChild(list);
  const src = document.createElement("a");
  src.href = m.datasheet; src.target = "_blank"; src.rel = "noopener"; src.textContent = `${m.name} ${m.source || "datasheet (Tuya)"}`;
  caption.appendChild(src);
}
$("module").onchange = () => { $("module").dataset.chosen = "1"; showWiring(); };

function showBackup() {
  const b = steps().backup, d = steps().detect || {};
  if (!b) return;
  const box = $("backup-result");
  box.className = "ok"; box.textContent = "";
  para(box, `${d.chip} · MAC ${d.mac || "?"} · ${b.made === false ? "its existing backup matches the chip" : "backed up"}${when(b)}`);
  para(box, `Backup: ${b.path}`);
  para(box, `SHA-256 ${b.sha256 || "?"} · ${fmtBytes(b.size || 0)} · never overwritten; the “Way back” step restores it.`);
  const a = document.createElement("a");
  a.setAttribute("data-testid", "download");
  a.href = `/api/download?token=${encodeURIComponent(token)}&path=${encodeURIComponent(b.path)}`;
  a.textContent = "Download the backup (keep a copy)";
  box.appendChild(a);
}
onShow.connect = () => { loadModules().then(showWiring).catch((e) => log(e.message)); showBackup(); offerNext("connect"); };

$("btn-backup").onclick = () => busy($("btn-backup"), $("backup-result"), "Linking with the chip… (if nothing happens, press the plug's reset or power it again)", async () => {
  const { job } = await api("/api/backup", { port: $("port").value, chip: chipOfRequest(), timeout: Number(params.get("link_timeout") || 15) });
  const result = await follow(job, $("backup-progress"));
  adopt(result.journey, false);
  showBackup();
  offerNext("connect");
  $("btn-to-pins").focus();
});

// ---- pins ----
function templateText() { return page.view ? page.view.template_text : ""; }
onShow.pins = () => {
  const a = steps().analyze || {};
  const box = $("analysis");
  box.textContent = "";
  if (a.known_as) para(box, `Known device: ${a.known_as}`, "ok");
  if (a.module) para(box, `Module named in the stock configuration: ${a.module}`);
  const picked = $("module").value;
  if (a.module && picked && a.module.toUpperCase() !== picked) {  // the bytes are the better witness
    para(box, `You picked ${picked}, but the plug's own configuration says ${a.module}: look at the shield again before soldering more.`, "warning");
  }
  for (const n of a.notes || []) para(box, n);
  if (!a.template) para(box, "No pins in the backup: after flashing, the page finds them by trying each pin with you.", "warning");
  $("template").value = templateText();
  if ($("template").value) checkTemplate().catch((e) => show($("problems"), e.message, "error"));
};
async function checkTemplate() {
  const result = await api("/api/template/check", { text: $("template").value, devices_json: page.devices_json || "" });
  const list = $("problems");
  list.textContent = "";
  if (result.ok) { const li = document.createElement("li"); li.className = "ok"; li.textContent = "The firmware will accept this template."; list.appendChild(li); }
  for (const p of result.problems) { const li = document.createElement("li"); li.className = p.severity; li.textContent = `${p.severity}: ${p.where}: ${p.message}`; list.appendChild(li); }
  $("entry").textContent = result.entry;
  $("share").textContent = result.share || "";
  $("submit-link").hidden = !result.issue_link;  // never for a device the list has with these pins
  if (result.issue_link) $("submit-link").href = result.issue_link;
  if (result.ok) await picture($("template").value, $("pins-picture"));
  else $("pins-picture").hidden = true;
  return result.ok;
}
async function picture(text, img) {
  const a = steps().analyze || {};
  await loadModules();  // after a reload the wiring step may not have been shown
  const known = a.module && modules.some((m) => m.name === a.module.toUpperCase()) ? a.module.toUpperCase() : "";
  const { svg, words } = await api("/api/template/picture", { text, module: known || $("module").value || "" });
  img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svg);
  img.alt = words;
  img.hidden = false;
}
$("btn-check").onclick = () => checkTemplate().catch((e) => show($("problems"), e.message, "error"));
$("btn-to-flash").onclick = async () => {
  try { adopt(await api("/api/journey/template", journeyBody({ text: $("template").value }))); }
  catch (e) { show($("problems"), e.message, "error"); }
};

// ---- flash ----
onShow.flash = () => {
  const f = steps().flash;
  if (f) show($("flash-result"), `Flashed ${f.firmware}${when(f)}: ${f.written} sectors written, ${f.skipped ?? "?"} already right, all verified.`, "ok");
  const a = steps().analyze || {};
  if (!$("cfg-name").value && a.known_as) $("cfg-name").value = a.known_as.split(" (")[0];
  offerNext("flash");
};
$("firmware").onchange = () => { if ($("firmware").files.length) $("fw-own").checked = true; };
$("btn-flash").onclick = () => {
  const file = $("firmware").files[0];
  const own = $("fw-own").checked;
  if (own && !file) { show($("flash-result"), "Choose the OpenBeken file first (or pick the newest release).", "error"); return; }
  busy($("btn-flash"), $("flash-result"), own ? "Uploading and linking…" : "Linking, then fetching the right release…", async () => {
    const path = own ? (await api(`/api/upload?name=${encodeURIComponent(file.name)}`, {}, await file.arrayBuffer())).path : "latest";
    const configure = $("configure").checked ? { ssid: $("cfg-ssid").value, password: $("cfg-wifi-password").value,
      broker: $("cfg-broker").value, name: $("cfg-name").value, template: $("template").value || templateText() } : null;
    const { job } = await api("/api/flash", { port: $("port").value, chip: chipOfRequest(), firmware: path, configure });
    const result = await follow(job, $("flash-progress"));
    adopt(result.journey, false);
    const saved = result.backup ? ` A backup was taken first: ${result.backup}.` : "";
    let text = `OpenBeken flashed (${result.firmware}): ${result.written} sectors written, ${result.skipped} already right, all verified.${saved}`;
    if (result.restart) text += ` Proven by the chip (${result.proven_by}). Now: ${result.restart}; it opens its access point.`;
    if (result.configured) {
      text += ` Set up for ${result.configured.ssid} as ${result.configured.client_id}.`;
      $("fb-broker").value = $("cfg-broker").value;
      $("broker").value = $("cfg-broker").value;
    }
    show($("flash-result"), text, "ok");
    offerNext("flash");
  });  // the server's hint says what to do (offline: “My own file”; cut off: Resume)
};
$("btn-resume").onclick = () => busy($("btn-resume"), $("flash-result"), "Linking to look for an interrupted flash…", async () => {
  const { job } = await api("/api/resume", { port: $("port").value, chip: chipOfRequest() });
  const result = await follow(job, $("flash-progress"));
  if (result.pending) show($("flash-result"), `Resumed and finished: ${result.written} sectors written, all verified.`, "ok");
  else show($("flash-result"), "Nothing to resume: no interrupted flash or restore of this chip.", "ok");
});

// ---- on your Wi-Fi ----
onShow.network = () => {
  const c = steps().configure;
  $("first-boot").hidden = !c; $("access-point").hidden = !!c;
  if (c && !$("fb-broker").value) $("fb-broker").value = c.broker || "";
  if (page.view && page.view.wifi_sent) show($("wifi-result"), `Sent to the plug (MAC ${page.view.wifi_sent.mac}): it joins ${page.view.wifi_sent.ssid}.`, "ok");
  const done = steps().first_boot || steps().wifi;
  if (page.view && page.view.device) { $("host").value = page.view.device; show($("host-result"), `The plug is at ${page.view.device}${when(done)}.`, "ok"); }
  offerNext("network");
};
$("btn-first-boot").onclick = () => busy($("btn-first-boot"), $("first-boot-result"), "Waiting: now power the plug…", async () => {
  const c = steps().configure || {};
  const { job } = await api("/api/first_boot", journeyBody({ broker: $("fb-broker").value, client_id: c.client_id, http_port: Number(params.get("http_port") || 80) }));
  const r = await follow(job, null, null, $("countdown"));
  adopt(r.journey, false);
  showSimPlug();
  $("host").value = r.host;
  $("broker").value = $("fb-broker").value;
  const box = $("first-boot-result");
  box.className = r.ha.verdict === "verified" ? "ok" : r.ha.verdict === "warning" ? "warning" : "error";
  box.textContent = `The plug joined and is at ${r.host}. ` + (r.ha.problems.length ? "Home Assistant: " + r.ha.problems.join("; ")
    : `Home Assistant: ${r.ha.entities.map((e) => e.entity_id).join(", ")} (verified: ${r.ha.round_trip}).`);
  offerNext("network");
});
$("btn-wifi").onclick = () => busy($("btn-wifi"), $("wifi-result"), "Sending…", async () => {
  const result = await api("/api/wifi", journeyBody({ ap: $("ap").value, ssid: $("ssid").value, password: $("wifi-password").value }));
  adopt(result.journey, false);
  show($("wifi-result"), `Sent. The plug (MAC ${result.mac}) restarts and joins ${$("ssid").value}. ` +
    "Reconnect this computer to your home Wi-Fi, then press “Find it on my network”.", "ok");
});
$("btn-find").onclick = () => busy($("btn-find"), $("found"), "Asking every address on the network…", async () => {
  const macs = [page.view && page.view.wifi_sent ? page.view.wifi_sent.mac : "", page.view ? page.view.mac || "" : ""];
  const { job } = await api("/api/find", journeyBody({ network: $("network").value, macs, port: Number(params.get("http_port") || 80) }));
  const result = await follow(job, null);
  const box = $("found");
  if (result.match) { $("host").value = result.match; adopt(result.journey, false); }
  box.className = result.devices.length ? "ok" : "warning";
  box.textContent = result.match ? `Found your plug at ${result.match}. ` :
    result.devices.length ? "OpenBeken devices found (pick yours, then “Use this address”): " :
    "No OpenBeken device answered. Is the plug on this Wi-Fi? A plug still in access-point mode is at 192.168.4.1 on its own network.";
  for (const d of result.match ? [] : result.devices) {
    const b = document.createElement("button");
    b.textContent = d.locked ? `${d.address} (needs its web password)` : `${d.address} ${d.name} ${d.chipset} MAC ${d.mac}`;
    b.onclick = () => { $("host").value = d.address; };
    box.appendChild(b);
  }
  offerNext("network");
});
$("btn-use-host").onclick = () => busy($("btn-use-host"), $("host-result"), "Asking the plug…", async () => {
  if (!page.journey) throw new Error("Back up the plug first: the page keeps each plug's steps by its chip");
  adopt(await api("/api/journey/device", journeyBody({ host: $("host").value })), false);
  show($("host-result"), `The plug answers at ${$("host").value}.`, "ok");
  offerNext("network");
});

// ---- pins on the plug ----
onShow.live = () => {
  const t = templateText();
  $("live-intro").textContent = t ? "The pins are known: apply them to the plug (or find them by trying, if the plug does not behave)."
    : "The backup had no pins. Stand by the plug: the page switches one pin at a time and asks you what happened.";
  if (t && !$("template").value) $("template").value = t;
  const done = steps().template;
  if (done) show($("device-result"), `Template applied (from the ${done.source})${when(done)}: ${JSON.stringify(done.pins)}`, "ok");
  offerNext("live");
};
let templateSource = "backup";
$("btn-apply").onclick = () => busy($("btn-apply"), $("device-result"), "Applying…", async () => {
  const r = await api("/api/apply", journeyBody({ host: deviceAddress(), template: $("template").value || templateText(), source: templateSource }));
  adopt(r.journey, false);
  show($("device-result"), "Template applied and verified on the device.", "ok");
  offerNext("live");
});
function askQuestion(jobId, ev) {
  const box = $("question");
  box.textContent = "";
  para(box, ev.message, "question");
  const sim = page.view && page.view.simulated && page.view.simulated.powered;
  if (ev.press && sim) {  // a simulated plug: its button is pressed from here (a real one by a finger)
    const b = document.createElement("button");
    b.className = "secondary"; b.textContent = `Press the simulated plug's button ${ev.press}`; b.dataset.press = ev.press;
    b.onclick = async () => { try { await api("/api/sim/press", journeyBody({ button: ev.press })); log(`Pressed button ${ev.press} on the simulated plug`); } catch (e) { log(e.message); } };
    box.appendChild(b);
  }
  for (const [value, label] of ev.options) {
    const b = document.createElement("button");
    b.className = "answer"; b.textContent = label; b.dataset.answer = value;
    b.onclick = async () => { box.textContent = ""; log(`${ev.message} → ${label}`); await api("/api/answer", { job: jobId, answer: value }); };
    box.appendChild(b);
  }
  box.querySelector("button[data-answer]").focus();
}
$("btn-pins").onclick = () => busy($("btn-pins"), $("device-result"), "Pin finder running: watch the plug and answer the questions.", async () => {
  const { job } = await api("/api/pins", { host: deviceAddress(), pulse: Number(params.get("pulse") || 0.4) });
  const result = await follow(job, null, askQuestion);
  let template = {};
  try { template = JSON.parse($("template").value || templateText() || "{}"); } catch (e) { /* start from the pins alone */ }
  template.pins = result.template.pins;  // keep vendor, name, chip, board from the backup
  $("template").value = JSON.stringify(template, null, 2);
  templateSource = "pin finder";
  await picture($("template").value, $("found-picture"));
  show($("device-result"), "Pins found: " + JSON.stringify(result.template.pins) + ". Press “Apply the template” to keep them.", "ok");
});

// ---- Home Assistant ----
onShow.home_assistant = () => {
  const c = steps().configure || {};
  if (!$("broker").value) $("broker").value = $("fb-broker").value || $("cfg-broker").value || c.broker || "";
  if (!$("ha-name").value) $("ha-name").value = c.long_name || $("cfg-name").value || "";
  const h = steps().home_assistant;
  if (h) show($("ha-result"), `Verified${when(h)}: ${h.entities.join(", ")} (${h.round_trip})`, "ok");
  offerNext("home_assistant");
};
$("btn-ha").onclick = () => busy($("btn-ha"), $("ha-result"), "Configuring MQTT and waiting for the device on the broker…", async () => {
  const { job } = await api("/api/ha", journeyBody({ host: deviceAddress(), broker: $("broker").value, name: $("ha-name").value }));
  const r = await follow(job, null);
  adopt(r.journey, false);
  const box = $("ha-result");
  box.className = r.verdict === "verified" ? "ok" : r.verdict === "warning" ? "warning" : "error";
  // text only: entity ids and problems come from what devices published on the broker
  box.textContent = r.verdict === "verified" ? "Verified: online, discovery valid, " + r.round_trip
    : (r.verdict === "warning" ? "Works, but: " : "Problems: ") + r.problems.join("; ");
  const list = document.createElement("ul");
  for (const e of r.entities) { const li = document.createElement("li"); li.textContent = `${e.entity_id} (${e.component})`; list.appendChild(li); }
  box.appendChild(list);
  offerNext("home_assistant");
});
$("btn-skip-ha").onclick = async () => { try { adopt(await api("/api/journey/skip", journeyBody({}))); } catch (e) { show($("ha-result"), e.message, "error"); } };

// ---- done ----
onShow.done = () => {
  const box = $("summary");
  box.textContent = "";
  if (!page.view) { para(box, "Nothing converted yet."); return; }
  const table = document.createElement("table");
  for (const [k, v] of page.view.summary) { const tr = table.insertRow(); const th = document.createElement("th"); th.scope = "row"; th.textContent = k; tr.appendChild(th); tr.insertCell().textContent = v; }
  box.appendChild(table);
};
$("btn-another").onclick = newPlug;
$("btn-to-way-back").onclick = () => go("restore");

// ---- a simulated plug off the adapter: what it boots from, its power and its button ----
function showSimPlug() {
  const s = page.view && page.view.simulated;
  $("sim-plug").hidden = !s;
  if (!s) return;
  $("sim-words").textContent = s.powered
    ? `Simulated plug: powered on, serving at ${s.address}; it boots from ${s.image}.`
    : `Simulated plug: off. Unplugged from the adapter it boots from ${s.image} (“Wait for the plug” powers it on by itself).`;
  $("btn-sim-power").textContent = s.powered ? "Power it off" : "Power it on";
  $("btn-sim-press").hidden = !s.powered || !s.buttons;
  if (s.powered && !steps().configure) $("ap").value = s.address;  // its access point is served here
}
$("btn-sim-power").onclick = () => busy($("btn-sim-power"), $("sim-words"), "…", async () => {
  const r = await api("/api/sim/power", journeyBody({ on: !page.view.simulated.powered }));
  for (const line of r.said) log(line);
  adopt(r.journey, false);
  showSimPlug();
  if (page.view.device) $("host").value = page.view.device;
});
$("btn-sim-press").onclick = async () => {
  try { await api("/api/sim/press", journeyBody({ button: 1 })); log("Pressed the simulated plug's button"); }
  catch (e) { log(e.message); }
};

// ---- way back ----
$("btn-restore").onclick = () => {  // asked first: restoring erases what the chip holds now
  const file = $("backup-file").files[0];
  const name = file ? file.name : $("backup-list").selectedOptions[0] ? $("backup-list").selectedOptions[0].text : "";
  if (!name || (!file && !$("backup-list").value)) { show($("restore-result"), "Choose a backup (or a backup file) first.", "error"); return; }
  $("restore-question").textContent = `Erase the chip on the adapter (${$("port").selectedOptions[0] ? $("port").selectedOptions[0].text : "?"}) where it differs ` +
    `from ${name}, and write the backup there? OpenBeken and its settings on this chip are gone afterwards` +
    ($("other-device").checked ? "; the plug becomes a clone of the backup's plug." : ".");
  $("restore-confirm").hidden = false;
  $("btn-restore-no").focus();
};
$("btn-restore-no").onclick = () => { $("restore-confirm").hidden = true; show($("restore-result"), "Nothing was changed.", ""); $("btn-restore").focus(); };
$("btn-restore-yes").onclick = () => { $("restore-confirm").hidden = true; restore(); };
const restore = () => busy($("btn-restore"), $("restore-result"), "Checking the backup and linking…", async () => {
  const file = $("backup-file").files[0];
  const path = file ? (await api(`/api/upload?name=${encodeURIComponent(file.name)}`, {}, await file.arrayBuffer())).path
    : $("backup-list").value;
  const { job } = await api("/api/restore", { port: $("port").value, chip: chipOfRequest(), path, otherDevice: $("other-device").checked });
  const result = await follow(job, $("restore-progress"));
  adopt(result.journey, false);
  show($("restore-result"), `Restored: ${result.written} sectors written, ${result.skipped} already right, all verified. The plug runs what the backup holds.`, "ok");
});

if (token) start().catch((e) => log(e.message));
