// freebeken local page, the chip family: Beken (found by itself) or a family whose ROM answers only
// with its boot pin held (RTL8720CF: Tuya WBR2/WBR3; LN882H). The choice names the family in every
// request with the chip on the adapter; the page says what the person does differently: the boot
// pin before linking, no "set it up while flashing", a power cycle without the boot pin afterwards.
let families = [];
async function loadFamilies() {
  if (families.length) return;
  families = (await api("/api/families")).families;
  $("family").innerHTML = "";
  for (const f of families) $("family").add(new Option(f.label, f.name));
}
function chosenFamily() {
  return families.find((f) => f.name === $("family").value) || { name: "beken", label: "Beken", download_mode: "", restart: "", wiring: "" };
}
function chipOfRequest() { const f = $("family").value; return f && f !== "beken" ? f : null; }

function showFamily() {
  const f = chosenFamily(), beken = f.name === "beken";
  const box = $("download-mode");
  box.hidden = beken;
  box.textContent = beken ? "" : `Before each button that links (back up, flash, resume, verify, restore): ${f.download_mode}`;
  $("configure-box").hidden = !beken;
  if (!beken) $("configure").checked = false;  // not for these chips: the access point after the flash
  $("family-flash-note").hidden = beken;
  $("family-flash-note").textContent = beken ? "" : "No “set it up while flashing” for this chip: OpenBeken keeps its settings " +
    `there in a store freebeken does not write. After the flash: ${f.restart}; OpenBeken then opens its access point, which takes your Wi-Fi.`;
  $("btn-verify").hidden = beken;
  $("ap-name").textContent = beken ? "OpenBK…" : `${f.release.split("_")[0]}_…`;
}
async function refreshFamily() {
  await loadModules();
  showWiring();
  showFamily();
}
// a plug's journey names its family (a reload, or a plug continued from the list); a new plug's is
// the person's choice, or the simulated port's
async function familyOfJourney() {
  await loadFamilies();
  const want = page.view && page.view.family;
  if (want && families.some((f) => f.name === want)) $("family").value = want;
  showFamily();
}
$("family").onchange = () => refreshFamily().catch((e) => log(e.message));
$("port").addEventListener("change", () => {
  const f = $("port").selectedOptions[0] && $("port").selectedOptions[0].dataset.family;
  if (f && f !== $("family").value) { $("family").value = f; refreshFamily().catch((e) => log(e.message)); }
});
for (const name of ["flash", "network", "restore"]) {  // the steps whose words depend on the family
  const shown = onShow[name];
  onShow[name] = () => { if (shown) shown(); familyOfJourney().catch((e) => log(e.message)); };
}

$("btn-verify").onclick = () => busy($("btn-verify"), $("flash-result"), "Linking: the chip hashes what it holds…", async () => {
  const { job } = await api("/api/verify", { port: $("port").value, chip: chipOfRequest() });
  const r = await follow(job, $("flash-progress"));
  show($("flash-result"), `The chip holds ${r.file}: proven by the chip (${r.proven_by}, ${r.seconds} s).`, "ok");
});
