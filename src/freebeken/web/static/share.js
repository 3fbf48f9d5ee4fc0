// "Share this backup" on the Pins and Done steps (`freebeken backup share`): a copy of the plug's
// backup with the owner's secrets replaced, its report, and prefilled texts for the places that
// collect backups. Nothing is sent anywhere: the person attaches the file. Kept apart from
// steps.js; it needs only app.js (token, page, para, show, log).
function backupPath() { return page.view && page.view.steps && page.view.steps.backup ? page.view.steps.backup.path : ""; }

async function postShare(body) {
  let response;
  try {
    response = await fetch("/api/share", { method: "POST", body: JSON.stringify(body),
      headers: { "X-Freebeken-Token": token, "Content-Type": "application/json" } });
  } catch (e) { return { status: 0, data: { error: "freebeken does not answer — is `freebeken web` still running in its terminal?", hint: "" } }; }
  const data = await response.json().catch(() => ({ error: `freebeken answered ${response.status} without words`, hint: "" }));
  return { status: response.status, data };
}

function downloadLink(path, text, testid) {
  const a = document.createElement("a");
  a.href = `/api/download?token=${encodeURIComponent(token)}&path=${encodeURIComponent(path)}`;
  a.textContent = text; a.setAttribute("data-testid", testid);
  const p = document.createElement("p"); p.appendChild(a); return p;
}

function showShared(out, d) {
  out.textContent = ""; out.className = "";
  const places = d.replaced.reduce((n, r) => n + r.times, 0);
  const kinds = [...new Set(d.replaced.map((r) => r.kind))];
  para(out, places ? `Replaced ${places} times: ${kinds.join(", ")}. Then ${d.values_searched} values were searched for everywhere (text, UTF-16, hex; raw and decrypted): none is left.`
    : "No secret was found in this backup (a factory-fresh plug); the copy equals it.", "ok");
  for (const n of d.notes) para(out, n);
  if (d.unchecked.length) para(out, "Shared although not all could be checked: " + d.unchecked.join("; "), "warning");
  out.appendChild(downloadLink(d.shared, "Download the copy to share", "share-download"));
  out.appendChild(downloadLink(d.report, "Download its report (what was replaced, the device facts)", "share-report"));
  para(out, "Where to share it (attach the file yourself; the texts are ready to paste):");
  for (const t of d.where_to_share) {
    const p = document.createElement("p");
    const a = document.createElement("a");
    a.href = t.link; a.target = "_blank"; a.rel = "noopener noreferrer"; a.textContent = t.where;
    p.appendChild(a); out.appendChild(p);
    const pre = document.createElement("pre"); pre.textContent = `${t.title}\n\n${t.body}`;
    pre.style.whiteSpace = "pre-wrap";  // long pin lists wrap instead of scrolling sideways
    out.appendChild(pre);
  }
  log(`Shareable copy written: ${d.shared}`);
}

async function shareBackup(button, out, hideMac, force) {
  const path = backupPath();
  if (!path) { show(out, "No backup of this plug yet: make one in “Wire and back up” first.", "error"); return; }
  button.disabled = true;
  show(out, "Replacing the secrets and reading the copy back…");
  const { status, data } = await postShare({ path, hideMac, force });
  button.disabled = false;
  if (status === 200) { showShared(out, data); return; }
  show(out, data.error + (data.hint ? " — " + data.hint : ""), "error");
  if (data.needs_force) {
    const again = document.createElement("button");
    again.className = "secondary"; again.textContent = "I have checked: share anyway"; again.setAttribute("data-testid", "share-force");
    again.onclick = () => shareBackup(again, out, hideMac, true);
    out.appendChild(again);
  }
}

function addShareBox(step, before) {
  const section = document.querySelector(`section[data-step="${step}"]`);
  if (!section || !before) return;
  const box = document.createElement("details");
  box.setAttribute("data-testid", `share-${step}`);
  const summary = document.createElement("summary"); summary.textContent = "Share this backup, without your secrets";
  box.appendChild(summary);
  para(box, "Others learn a device from its backup (tuya-cloudcutter profiles, the OpenBeken device list, forum teardowns). " +
    "This writes a copy next to the backup in which your Wi-Fi, the Tuya cloud ids and keys and OpenBeken's passwords are replaced, " +
    "while chip, firmware and pins stay readable. Nothing is sent.");
  const label = document.createElement("label");
  const hide = document.createElement("input"); hide.type = "checkbox"; hide.setAttribute("data-testid", `share-hide-mac-${step}`);
  label.appendChild(hide); label.appendChild(document.createTextNode(" Also hide the MAC address"));
  box.appendChild(label);
  const button = document.createElement("button"); button.textContent = "Share this backup"; button.setAttribute("data-testid", `share-button-${step}`);
  box.appendChild(button);
  const out = document.createElement("div"); out.setAttribute("aria-live", "polite"); out.setAttribute("data-testid", `share-result-${step}`);
  box.appendChild(out);
  button.onclick = () => shareBackup(button, out, hide.checked, false);
  section.insertBefore(box, before);
}

addShareBox("pins", $("btn-to-flash") && $("btn-to-flash").parentElement);
addShareBox("done", $("btn-another"));
