// audiostyle studio page: inputs, settings, live jobs (server-sent events), result cards.
// Everything from the server or the user is shown with textContent, never as HTML.
"use strict";

const state = { info: null, content: null, styles: [], earlier: [], extractor: null, preset: "default" };
const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

async function api(method, url, body, type = "application/json") {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.body = type === "application/json" ? JSON.stringify(body) : body;
    options.headers["Content-Type"] = type;
  }
  const response = await fetch(url, options);
  let data = null;
  try { data = await response.json(); } catch (e) { data = { error: response.statusText }; }
  return { ok: response.ok, status: response.status, data };
}

// The loss's terms grouped by kind (style/<layer> → style, …), each in dB of the stage's start.
const terms = (termsDb) => {
  const groups = {};
  for (const [name, db] of Object.entries(termsDb || {})) {
    const kind = name.split("/")[0];
    groups[kind] = (groups[kind] || 0) + (typeof db === "number" ? 10 ** (db / 10) : 0);
  }
  const parts = Object.entries(groups).filter(([, v]) => v > 0)
    .map(([kind, v]) => `${kind} ${num(10 * Math.log10(v))}`);
  return parts.length ? ` (${parts.join(", ")} dB)` : "";
};
const num = (v, digits = 1) => (v === null || v === undefined || v === "nan") ? "n/a"
  : v === "inf" ? "∞" : v === "-inf" ? "−∞" : Number(v).toFixed(digits).replace("-", "−");
const seconds = (s) => s < 90 ? `${Math.round(s)} s` : `${(s / 60).toFixed(1)} min`;

// --- inputs ----------------------------------------------------------------------------

function soundCard(sound, role) {
  const card = el("div", { class: "sound", "data-id": sound.id });
  card.append(el("div", { class: "name", text: sound.name }),
    el("div", { class: "muted stat", text:
      `${sound.seconds.toFixed(2)} s · ${sound.sr} Hz · ${sound.channels === 1 ? "mono" : sound.channels === 2 ? "stereo" : sound.channels + " channels"}` }),
    el("audio", { controls: "", preload: "metadata", src: sound.audio }),
    el("img", { class: "spec", src: sound.spectrogram, alt: `spectrogram of ${sound.name}`, width: "320", height: "150" }));
  for (const note of sound.notes || []) card.append(el("div", { class: "note", text: note }));
  if (role === "style") {
    const weight = el("input", { type: "number", min: "0", step: "0.1", value: String(sound.weight), class: "weight" });
    weight.addEventListener("input", () => { sound.weight = Number(weight.value); remember(); estimate(); });
    card.append(el("label", {}, "weight ", weight),
      el("button", { type: "button", text: "remove", onclick: () => {
        state.styles = state.styles.filter((s) => s !== sound); card.remove(); remember(); estimate(); } }));
  }
  return card;
}

function addSound(sound, role, weight = 1) {
  if (role === "content") {
    state.content = sound;
    $("content-sounds").replaceChildren(soundCard(sound, role));
  } else {
    sound = { ...sound, weight };
    state.styles.push(sound);
    $("style-sounds").append(soundCard(sound, role));
  }
  remember();
  estimate();
}

// The sounds chosen survive a reload: their ids are kept in this browser, the sounds on the
// server (which lists every upload for the "earlier sounds" list).
const CHOSEN = "audiostyle-studio-chosen";

function remember() {
  const chosen = { content: state.content && state.content.id,
    styles: state.styles.map((s) => ({ id: s.id, weight: s.weight })) };
  try { localStorage.setItem(CHOSEN, JSON.stringify(chosen)); } catch (e) { /* private mode */ }
}

async function restoreSounds() {
  const { ok, data } = await api("GET", "/api/inputs");
  if (!ok) return;
  const byId = new Map(data.map((sound) => [sound.id, sound]));
  let chosen = {};
  try { chosen = JSON.parse(localStorage.getItem(CHOSEN) || "{}") || {}; } catch (e) { chosen = {}; }
  if (byId.has(chosen.content)) addSound(byId.get(chosen.content), "content");
  for (const style of chosen.styles || []) {
    if (byId.has(style.id)) addSound(byId.get(style.id), "style", Number(style.weight) || 1);
  }
  state.earlier = data;
  showEarlier();
}

function showEarlier() {
  const sounds = state.earlier;
  $("earlier-sounds").replaceChildren(...sounds.map((sound) => el("div", { class: "earlier" },
    el("span", { class: "name", text: sound.name }),
    el("span", { class: "muted stat", text: ` ${sound.seconds.toFixed(2)} s ` }),
    el("button", { type: "button", text: "as content", onclick: () => addSound(sound, "content") }),
    el("button", { type: "button", text: "as a style", onclick: () => addSound(sound, "style") }))));
  $("earlier").hidden = sounds.length === 0;
  $("earlier-count").textContent = String(sounds.length);
}

function uploaded(sound, role) {
  state.earlier = [sound, ...state.earlier.filter((s) => s.id !== sound.id)];
  showEarlier();
  addSound(sound, role);
}

async function upload(file, role) {
  const error = $(role === "content" ? "content-error" : "styles-error");
  const say = (text) => { error.textContent = text; error.dataset.from = "upload"; };
  say(`reading ${file.name}…`);
  const limit = state.info.limits.upload_mb * 1048576;
  if (file.size > limit) {
    say(`${file.name}: larger than this studio takes (${state.info.limits.upload_mb} MB)`);
    return;
  }
  const { ok, data } = await api("POST", `/api/inputs?name=${encodeURIComponent(file.name)}`,
    file, "application/octet-stream");
  say(ok ? "" : data.error);
  if (ok) uploaded(data, role);
}

async function demo(name, role) {
  const { ok, data } = await api("POST", `/api/inputs/demo/${name}`);
  if (ok) uploaded(data, role);
  else {
    const error = $(role === "content" ? "content-error" : "styles-error");
    error.textContent = data.error; error.dataset.from = "upload";
  }
}

function setUpDrops() {
  for (const role of ["content", "style"]) {
    const zone = $(`${role}-drop`);
    zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault(); zone.classList.remove("over");
      const files = [...e.dataTransfer.files];
      for (const file of role === "content" ? files.slice(0, 1) : files) upload(file, role);
    });
    $(`${role}-file`).addEventListener("change", (e) => {
      for (const file of e.target.files) upload(file, role);
      e.target.value = "";
    });
  }
  document.querySelectorAll("button[data-demo]").forEach((b) =>
    b.addEventListener("click", () => demo(b.dataset.demo, b.dataset.role)));
}

// --- settings ----------------------------------------------------------------------------

function setUpSettings() {
  const select = $("extractor");
  for (const ex of state.info.extractors) select.append(el("option", { value: ex.name, text: ex.name }));
  select.value = state.info.default_extractor;
  select.addEventListener("change", showExtractor);
  for (const name of Object.keys(state.info.presets)) {
    const radio = el("input", { type: "radio", name: "preset", value: name });
    if (name === state.preset) radio.checked = true;
    radio.addEventListener("change", () => { state.preset = name; estimate(); });
    $("preset").append(el("label", {}, radio, ` ${name} `));
  }
  $("strength").addEventListener("input", () => {
    $("strength-value").textContent = Number($("strength").value).toFixed(2);
  });
  for (const id of ["iterations", "refine", "domain", "seed"]) $(id).addEventListener("change", estimate);
  $("start").addEventListener("click", () => start());
  $("learn").addEventListener("click", learnStyle);
  $("minutes").value = state.info.learn.minutes;
  $("minutes").max = state.info.learn.max_minutes;
  $("export").addEventListener("click", exportPage);
  showExtractor();
}

function showExtractor() {
  const ex = state.info.extractors.find((e) => e.name === $("extractor").value);
  state.extractor = ex;
  $("extractor-about").textContent = ex.description;
  const weights = $("weights");
  weights.replaceChildren();
  if (ex.weights) {
    const ready = ex.weights.state === "verified";
    weights.append(el("span", { class: ready ? "muted" : "note",
      text: ready ? "weights installed" : `weights ${ex.weights.state}` }));
    if (!ready && ex.weights.installable) {
      const button = el("button", { type: "button", text: "install weights" });
      button.addEventListener("click", async () => {
        button.disabled = true; button.textContent = "installing…";
        const { ok, data } = await api("POST", `/api/weights/${ex.weights.name}/install`);
        if (ok) { ex.weights.state = data.state; showExtractor(); }
        else { button.textContent = "install weights"; button.disabled = false; $("extractor-error").textContent = data.error; }
      });
      weights.append(" ", button);
    } else if (!ready) weights.append(el("span", { class: "muted", text: ` (${ex.weights.how})` }));
  }
  const plan = ex.defaults.transfer;
  $("strength").value = plan.strength;  // each extractor's own default (its place on the frontier)
  $("strength-value").textContent = Number(plan.strength).toFixed(2);
  const domain = $("domain");
  domain.replaceChildren(el("option", { value: "", text: `default (${plan.domain})` }),
    ...ex.domains.map((d) => el("option", { value: d, text: d })));
  const options = $("options");
  options.replaceChildren(el("span", { class: "muted", text: "extractor options:" }));
  for (const [key, value] of Object.entries(ex.options)) {
    const input = el("input", { "data-option": key, placeholder: String(value) });
    input.addEventListener("change", estimate);
    // named with their extractor: its "seed" (of its random weights) or "preset" are not the
    // synthesis seed or the quality preset above
    options.append(el("label", { class: "opt", title: `an option of the ${ex.name} extractor (-X ${key}=…)` },
      `${ex.name} ${key} `, input));
  }
  estimate();
}

function request() {
  const options = {};
  document.querySelectorAll("[data-option]").forEach((i) => { if (i.value.trim()) options[i.dataset.option] = i.value.trim(); });
  return {
    content: state.content ? state.content.id : null,
    styles: state.styles.map((s) => ({ id: s.id, weight: s.weight })),
    extractor: $("extractor").value, options,
    strength: Number($("strength").value), preset: state.preset,
    seed: $("seed").value, iterations: $("iterations").value || null,
    refine_iterations: $("refine").value || null, domain: $("domain").value || null,
  };
}

// Every field's message comes from the last check (a change asks again: see estimate), so
// none outlives the field it was about; an upload's own message stays until the next upload.
function showErrors(errors) {
  document.querySelectorAll("#settings .error, #inputs .error").forEach((e) => {
    if (e.dataset.from !== "upload") e.textContent = "";
  });
  for (const [field, message] of Object.entries(errors || {})) {
    const target = $(`${field}-error`) || $("request-error");
    target.textContent = message;
    delete target.dataset.from;
  }
}

let estimateTimer = null;
function estimate() {
  clearTimeout(estimateTimer);
  estimateTimer = setTimeout(async () => {
    if (!state.content || !state.styles.length) {
      showErrors({});
      $("estimate").textContent = "no time estimate until a content and a style are chosen";
      return;
    }
    const { ok, data } = await api("POST", "/api/estimate", request());
    if (!ok) {
      const errors = data.errors || { request: data.error };
      showErrors(errors);
      $("estimate").textContent = `no time estimate: ${Object.values(errors)[0]}`;
      return;
    }
    showErrors({});
    const its = `${data.iterations} + ${data.refine_iterations} iterations`;
    if (data.measuring) {
      $("estimate").textContent = `${its}; measuring this machine's speed…`;
      estimateTimer = setTimeout(estimate, 2000);
    } else if (data.seconds === null) {
      $("estimate").textContent = `${its}; no time estimate: ${data.note}`;
    } else {
      $("estimate").textContent = `${its}; the job takes about ${seconds(data.seconds)} on this machine (measured)`;
    }
  }, 250);
}

async function start(startModel = null) {
  const { ok, data } = await api("POST", "/api/jobs", { ...request(), start_model: startModel });
  showErrors(ok ? {} : (data.errors || { request: data.error }));
  if (ok) watch(data);
}

// A style model learns the chosen styles with the chosen extractor at its default strength;
// the content (when one is chosen) is what its previews play.
async function learnStyle() {
  const r = request();
  const body = { styles: r.styles, content: r.content, extractor: r.extractor, options: r.options,
    seed: r.seed, minutes: Number($("minutes").value) };
  const { ok, data } = await api("POST", "/api/models", body);
  showErrors(ok ? {} : (data.errors || { request: data.error }));
  if (ok) watch(data);
}

// --- running jobs --------------------------------------------------------------------------

function watch(job) {
  $("queue-empty").hidden = true;
  const view = {
    stage: el("span", { class: "stat", text: "queued" }),
    numbers: el("span", { class: "stat" }),
    canvas: el("canvas", { class: "curve", width: "320", height: "90" }),
    snapshots: el("div", { class: "snapshots" }),
    losses: [],
  };
  const cancel = el("button", { type: "button", class: "cancel", text: "cancel" });
  const card = el("div", { class: "job", "data-job": job.id },
    el("div", {}, el("b", { text: "job " + job.id + " " }), view.stage, " ", view.numbers, " ", cancel),
    el("div", { class: "row" }, view.canvas, view.snapshots));
  $("jobs").prepend(card);
  cancel.addEventListener("click", () => api("POST", `/api/jobs/${job.id}/cancel`));
  const source = new EventSource(`/api/jobs/${job.id}/events`);
  const on = (name, fn) => source.addEventListener(name, (e) => fn(JSON.parse(e.data)));
  on("queued", (e) => { view.stage.textContent = `queued, position ${e.position}`; });
  // (a style model first synthesises its texture of the style: no steps until it is made)
  on("running", () => {
    view.stage.textContent = job.kind === "learn" ? "making the style's texture, then learning…" : "starting…";
  });
  const progress = (e) => {
    if (e.step !== undefined) {  // learning a style model: steps within a time budget
      view.losses.push([e.fraction, e.loss_db]);
      view.stage.textContent = "learning the style";
      view.numbers.textContent = `step ${e.step} · loss ${num(e.loss_db)} dB · held-out ${num(e.validation_db)} dB · ${e.left === null ? "…" : seconds(e.left)} left`;
      drawCurve(view.canvas, view.losses, 1);
      return;
    }
    view.losses.push([e.iteration, e.loss_db]);
    const eta = e.iteration ? e.elapsed / e.iteration * (e.total - e.iteration) : null;
    view.stage.textContent = `${e.stage}${e.chunks > 1 ? ` (chunk ${e.chunk + 1}/${e.chunks})` : ""}`;
    view.numbers.textContent = `iteration ${e.iteration}/${e.total} · loss ${num(e.loss_db)} dB${terms(e.terms_db)} · ETA ${eta === null ? "…" : seconds(eta)}`;
    drawCurve(view.canvas, view.losses, e.total);
  };
  on("progress", progress);
  on("snapshot", (e) => { progress(e); view.snapshots.append(snapshotPlayer(job.id, e)); });
  on("cancelling", () => { view.stage.textContent = "stopping: keeping the best so far…"; cancel.disabled = true; });
  on("evaluating", () => { view.stage.textContent = "measuring the result…"; cancel.disabled = true; });
  on("done", (e) => {
    source.close(); card.remove(); idle();
    if (e.record.kind === "model") showModel(e.record, true); else showResult(e.record, true);
  });
  const end = (e) => {
    source.close(); cancel.remove();
    view.stage.textContent = e.message;
    view.stage.className = "error";
    idle();
  };
  on("failed", end);
  on("cancelled", end);
}

function idle() { $("queue-empty").hidden = $("jobs").children.length > 0; }

function snapshotPlayer(ident, snap, finished = false) {
  const url = `/api/jobs/${ident}/snapshots/${snap.index}`;
  const where = snap.step !== undefined ? `step ${snap.step}` : `iteration ${snap.iteration} · ${snap.stage}`;
  const caption = el("figcaption", {}, `${where} · ${num(snap.loss_db)} dB `,
    el("a", { href: url, download: `snapshot-${snap.iteration}.wav`, text: "WAV" }));
  if (finished && snap.step === undefined) {
    caption.append(" ", el("button", { type: "button", class: "keep", text: "keep as a result", onclick: async () => {
      const { ok, data } = await api("POST", `/api/results/${ident}/snapshots/${snap.index}/keep`);
      if (ok) watch(data); else $("request-error").textContent = data.error;
    } }));
  }
  return el("figure", { class: "snapshot" },
    el("audio", { controls: "", preload: "metadata", src: url }), caption);
}

function drawCurve(canvas, points, total) {
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, canvas.width, canvas.height);
  const finite = points.filter(([, y]) => Number.isFinite(y));
  if (finite.length < 2) return;
  const ys = finite.map(([, y]) => y);
  const top = Math.max(...ys, 0), bottom = Math.min(...ys);
  const span = Math.max(top - bottom, 1);
  const left = 50;  // the labels' column: the curve never runs under them
  g.fillStyle = "#555"; g.font = "10px sans-serif";
  g.fillText(`${num(top)} dB`, 2, 12); g.fillText(`${num(bottom)} dB`, 2, canvas.height - 4);
  g.strokeStyle = "#ddd"; g.lineWidth = 1; g.beginPath();
  g.moveTo(left - 2, 2); g.lineTo(left - 2, canvas.height - 2); g.stroke();
  g.strokeStyle = "#2b6"; g.lineWidth = 1.5; g.beginPath();
  finite.forEach(([x, y], i) => {
    const px = left + (canvas.width - left - 4) * x / Math.max(total, 1);
    const py = 4 + (canvas.height - 8) * (top - y) / span;
    if (i) g.lineTo(px, py); else g.moveTo(px, py);
  });
  g.stroke();
}

// --- results ---------------------------------------------------------------------------------

function showResult(record, first) {
  $("results-empty").hidden = true;
  const files = `/api/results/${record.id}/files`;
  const m = record.metrics || {};
  const match = (m.style_match || {})[record.job.extractor] || {};
  const independent = (m.style_match || {}).independent || {};
  const rows = [
    ["style SNR", `${num(match.snr_db)} dB (gain ${num(match.gain_db)} dB over the content)`],
    ["independent", `${num(independent.snr_db)} dB (gain ${num(independent.gain_db)} dB; statistics no loss optimises)`],
    ["content kept", m.content ? `chroma ${num(m.content.chroma, 2)} · onsets ${num(m.content.onsets, 2)} · envelopes ${num(m.content.envelopes, 2)}` : "n/a"],
    ["copy check", `${num(m.copy, 2)} (near 1 = a replay of the style)`],
    ["level", m.sanity ? `${num(m.sanity.loudness_lufs)} LUFS · peak ${num(m.sanity.peak_dbfs)} dBFS` : "n/a"],
    ["settings", record.model ? `style model ${record.model.name} · strength ${record.job.strength} · seed ${record.job.seed}`
      : `${record.job.extractor} ${Object.entries(record.job.options).map(([k, v]) => `${k}=${v}`).join(" ")} · ${record.job.preset} · strength ${record.job.strength ?? "the extractor's default"} · ${record.job.iterations} + ${record.job.refine_iterations} iterations · seed ${record.job.seed}${record.job.start_model ? " · from a style model's output" : ""}`],
    ["time", `${seconds(record.seconds)}${record.cancelled ? " · cancelled: the best result so far" : ""}`],
  ];
  if (record.kept_from) rows.push(["kept from", `snapshot at iteration ${record.kept_from.iteration} (${record.kept_from.stage}, ${num(record.kept_from.loss_db)} dB) of result ${record.kept_from.id}`]);
  const styles = record.styles.map((s) => `${s.name}${record.styles.length > 1 ? ` ×${s.weight}` : ""}`).join(" + ");
  const card = el("div", { class: "card", "data-result": record.id },
    el("div", { class: "name", text: `${record.content.name} ← ${styles}` }),
    el("audio", { controls: "", preload: "metadata", src: `${files}/result.wav`, class: "result" }),
    el("div", { class: "figs" },
      ...[["result", "result"], ["content", "content"], ["style", "style"]].map(([file, label]) =>
        el("figure", {}, el("img", { class: "spec", src: `${files}/spectrogram-${file}.png`, alt: `spectrogram of the ${label}`, width: "320", height: "150" }),
          el("figcaption", { text: label })))),
    el("table", { class: "m" }, ...rows.map(([k, v]) => el("tr", {}, el("th", { text: k }), el("td", { text: v })))),
    el("div", { class: "links" },
      el("a", { href: `${files}/result.wav?download`, download: "", text: "download WAV" }),
      el("a", { href: `${files}/result.flac?download`, download: "", text: "download FLAC" }),
      el("button", { type: "button", text: "delete", onclick: async () => {
        const { ok } = await api("DELETE", `/api/results/${record.id}`);
        if (ok) { card.remove(); $("results-empty").hidden = $("results").children.length > 0; }
      } })));
  if ((record.snapshots || []).length) {
    const list = el("div", { class: "snapshots" }, ...record.snapshots.map((s) => snapshotPlayer(record.id, s, true)));
    card.append(el("details", {}, el("summary", { text: `snapshots along the way (${record.snapshots.length})` }), list));
  }
  if (first) $("results").prepend(card); else $("results").append(card);
}

// --- style models ------------------------------------------------------------------------------

function showModel(record, first) {
  $("models-empty").hidden = true;
  const about = el("table", { class: "m" }, ...record.about.map(([k, v]) => el("tr", {}, el("th", { text: k }), el("td", { text: v }))));
  const error = el("span", { class: "error" });
  const apply = el("button", { type: "button", class: "primary", text: "apply to the content", onclick: async () => {
    if (!state.content) { error.textContent = "choose a content sound first"; return; }
    const { ok, data } = await api("POST", `/api/models/${record.id}/apply`, { content: state.content.id, seed: $("seed").value });
    error.textContent = ok ? "" : Object.values(data.errors || { request: data.error })[0];
    if (ok) watch(data);
  } });
  const card = el("div", { class: "card", "data-model": record.id },
    el("div", { class: "name", text: `${record.name}${record.cancelled ? " · stopped early: the model so far" : ""}` }),
    about,
    el("div", { class: "links" }, apply, " ",
      el("button", { type: "button", text: "transfer from it", title: "a transfer with the settings above that starts from this model's output instead of the content: a few iterations polish it",
        onclick: () => start(record.id) }), " ", error,
      el("a", { href: `/api/models/${record.id}/file`, download: "", text: "download .style" }),
      el("button", { type: "button", text: "delete", onclick: async () => {
        const { ok } = await api("DELETE", `/api/models/${record.id}`);
        if (ok) { card.remove(); $("models-empty").hidden = $("models").children.length > 0; }
      } })));
  if ((record.snapshots || []).length) {
    const list = el("div", { class: "snapshots" }, ...record.snapshots.map((s) => snapshotPlayer(record.id, s, true)));
    card.append(el("details", {}, el("summary", { text: `previews on ${record.content.name} (${record.snapshots.length})` }), list));
  }
  if (first) $("models").prepend(card); else $("models").append(card);
}

async function exportPage() {
  const { ok, data } = await api("POST", "/api/export", {});
  const link = $("export-link");
  if (ok) { link.href = data.url; link.hidden = false; link.textContent = "open the listening page"; }
  else { link.hidden = false; link.removeAttribute("href"); link.textContent = data.error; }
}

// --- start -------------------------------------------------------------------------------------

async function main() {
  const info = await api("GET", "/api/info");
  if (!info.ok) { $("status").textContent = info.data.error; return; }
  state.info = info.data;
  $("status").textContent = `limits: ${state.info.limits.upload_mb} MB, ${state.info.limits.seconds} s per sound`;
  setUpDrops();
  setUpSettings();
  await restoreSounds();
  const jobs = await api("GET", "/api/jobs");
  for (const job of jobs.data || []) if (!["done", "failed", "cancelled"].includes(job.state)) watch(job);
  const results = await api("GET", "/api/results");
  for (const record of results.data || []) showResult(record, false);
  const models = await api("GET", "/api/models");
  for (const record of models.data || []) showModel(record, false);
  idle();
}

main();
