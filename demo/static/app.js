// Digits demo page: draw with Pointer Events, classify via POST /api/classify, show the answer.
"use strict";

const LIVE_INTERVAL_MS = 120; // while drawing, at most one prediction per this interval
const LINE_WIDTH = 1 / 14; // stroke width as a fraction of the pad side (≈ MNIST's stroke width)
const PAD_FIT = {scale: 1, dx: 0, dy: 0}; // a drawing is sent as the pad itself: no mapping

const $ = (id) => document.getElementById(id);
const pad = $("pad");
const ctx = pad.getContext("2d");
const result = $("result");

const state = {
  version: 0, // bumped on every change of the pad's content
  shownVersion: 0, // the version whose prediction is on screen
  inked: false,
  inFlight: 0, // requests sent and not yet answered
  sentVersion: 0, // the version of the last request sent
  pending: false,
  timer: null,
  lastPoint: null,
  pointerId: null,
  upload: null, // {blob, version, fit}: an uploaded file, sent as is while the pad is unchanged;
  // fit maps the file's pixels onto the pad ({scale, dx, dy}; null if the browser cannot draw it)
  strokeEnd: null, // {at, version}: the last stroke's end, for the latency figure
  latencies: [],
};
window.digitsDemo = state; // read by the end-to-end test and the benchmark

function settle() {
  const settled = state.inFlight === 0 && !state.pending && state.timer === null &&
    state.shownVersion === state.version;
  document.body.dataset.settled = String(settled);
  document.body.dataset.version = String(state.shownVersion);
}

// ---- drawing ------------------------------------------------------------------------------

function resetPad() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, pad.width, pad.height);
  ctx.strokeStyle = ctx.fillStyle = "#1e2235";
  ctx.lineWidth = pad.width * LINE_WIDTH;
  ctx.lineCap = ctx.lineJoin = "round";
}

function setInked(inked) {
  state.inked = inked;
  $("drop-zone").classList.toggle("inked", inked);
}

function padPoint(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * pad.width / box.width,
    (event.clientY - box.top) * pad.height / box.height];
}

function dot([x, y]) {
  ctx.beginPath();
  ctx.arc(x, y, ctx.lineWidth / 2, 0, 2 * Math.PI);
  ctx.fill();
}

function line(from, to) {
  ctx.beginPath();
  ctx.moveTo(...from);
  ctx.lineTo(...to);
  ctx.stroke();
}

function changed() {
  state.version += 1;
  state.upload = null;
  setInked(true);
}

pad.addEventListener("pointerdown", (event) => {
  if (state.pointerId !== null || event.button > 0) return;
  event.preventDefault();
  state.pointerId = event.pointerId;
  pad.setPointerCapture(event.pointerId);
  state.lastPoint = padPoint(event);
  dot(state.lastPoint);
  changed();
  scheduleLive();
});

pad.addEventListener("pointermove", (event) => {
  if (event.pointerId !== state.pointerId) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const e of events.length ? events : [event]) {
    const point = padPoint(e);
    line(state.lastPoint, point);
    state.lastPoint = point;
  }
  changed();
  scheduleLive();
});

function endStroke(event) {
  if (event.pointerId !== state.pointerId) return;
  state.pointerId = null;
  state.lastPoint = null;
  state.strokeEnd = {at: event.timeStamp, version: state.version};
  predictNow();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

function clearPad() {
  resetPad();
  setInked(false);
  state.version += 1;
  state.upload = null;
  state.strokeEnd = null;
  predictNow();
}
$("clear").addEventListener("click", clearPad);
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") clearPad();
});

// ---- upload -------------------------------------------------------------------------------

// Draws the file centred on the pad; returns how its pixels map onto the pad's, or null.
async function showUpload(file) {
  resetPad();
  try {
    // createImageBitmap applies the EXIF orientation, as the service does before it measures
    // the ink's box, so the box lands on the picture as shown.
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(pad.width / bitmap.width, pad.height / bitmap.height);
    const w = bitmap.width * scale, h = bitmap.height * scale;
    const fit = {scale, dx: (pad.width - w) / 2, dy: (pad.height - h) / 2};
    ctx.drawImage(bitmap, fit.dx, fit.dy, w, h);
    resetStyleOnly();
    return fit;
  } catch (err) {
    return null; // not an image the browser can draw: the service's answer explains it
  }
}

function resetStyleOnly() {
  ctx.strokeStyle = ctx.fillStyle = "#1e2235";
  ctx.lineWidth = pad.width * LINE_WIDTH;
  ctx.lineCap = ctx.lineJoin = "round";
}

async function upload(file) {
  if (!file) return;
  state.version += 1;
  const upload = {blob: file, version: state.version, fit: null};
  state.upload = upload;
  state.strokeEnd = null;
  setInked(true);
  settle();
  upload.fit = await showUpload(file);
  predictNow();
}
$("file").addEventListener("change", (event) => {
  upload(event.target.files[0]);
  event.target.value = "";
});

const dropZone = $("drop-zone");
for (const type of ["dragenter", "dragover"]) {
  dropZone.addEventListener(type, (event) => {
    event.preventDefault();
    dropZone.classList.add("dragging");
  });
}
dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dragging"));
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropZone.classList.remove("dragging");
  upload(event.dataTransfer.files[0]);
});

// ---- predictions --------------------------------------------------------------------------

function scheduleLive() {
  settle();
  if (state.timer !== null) return;
  state.timer = setTimeout(() => {
    state.timer = null;
    predict();
  }, LIVE_INTERVAL_MS);
}

// A stroke's end, Clear or an upload does not wait for a live request still in flight, unless
// that request already carries the pad as it is now (the live timer fired just before the stroke
// ended): a second, identical request would only compete with it for the CPU.
function predictNow() {
  clearTimeout(state.timer);
  state.timer = null;
  if (state.inFlight > 0 && state.sentVersion === state.version) {
    settle();
    return;
  }
  predict(true);
}

// The pad as PNG bytes, encoded synchronously (< 1 ms for 280×280). Not canvas.toBlob: Chromium
// encodes for it in idle periods, which are scarce while pointer events and frames keep coming,
// so at a stroke's end it took 6–32 ms instead.
function padPng() {
  const url = pad.toDataURL("image/png");
  const text = atob(url.slice(url.indexOf(",") + 1));
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

async function predict(urgent = false) {
  if (state.inFlight > 0 && !urgent) {
    state.pending = true;
    settle();
    return;
  }
  const version = state.version;
  if (!state.inked) {
    render(version, {status: "idle"});
    return;
  }
  state.inFlight += 1;
  state.sentVersion = version;
  state.pending = false;
  settle();
  let answer;
  const upload = state.upload && state.upload.version === version ? state.upload : null;
  const fit = upload ? upload.fit : PAD_FIT; // for this request, whatever happens meanwhile
  try {
    const body = upload ? upload.blob : padPng();
    const response = await fetch("/api/classify", {method: "POST", body,
      headers: {"Content-Type": "application/octet-stream"}});
    const json = await response.json().catch(() => ({}));
    answer = response.ok ? json : {status: "error", kind: json.kind,
      error: json.error || `The demo server answered ${response.status} ${response.statusText}.`};
  } catch (err) {
    answer = {status: "error", kind: "web_unavailable",
      error: "Cannot reach the demo's web server. Is `make demo` still running?"};
  }
  state.inFlight -= 1;
  render(version, answer, fit);
  if (state.inFlight === 0 && (state.pending || state.version > state.shownVersion)) {
    state.pending = false;
    predict();
  }
  settle();
}

// ---- rendering ----------------------------------------------------------------------------

const bars = [];
for (let digit = 0; digit < 10; digit++) {
  const bar = document.createElement("div");
  bar.className = "bar";
  bar.dataset.digit = String(digit);
  bar.innerHTML = '<span class="value"></span><span class="track"><span class="fill"></span></span>' +
    `<span class="label">${digit}</span>`;
  $("bars").append(bar);
  bars.push(bar);
}

function percent(p) {
  return p >= 0.995 ? "100 %" : p < 0.005 ? "0 %" : `${(100 * p).toFixed(p < 0.1 ? 1 : 0)} %`;
}

function drawBars(probabilities) {
  const top = probabilities.length ? probabilities.indexOf(Math.max(...probabilities)) : -1;
  bars.forEach((bar, digit) => {
    const p = probabilities[digit] || 0;
    bar.querySelector(".fill").style.height = `${(100 * p).toFixed(1)}%`;
    bar.querySelector(".value").textContent = p >= 0.005 ? `${Math.round(100 * p)}%` : "";
    bar.classList.toggle("top", digit === top);
    bar.title = probabilities.length ? `${digit}: ${percent(p)}` : "";
  });
}

function article(digit) {
  return digit === 8 ? "an" : "a";
}

function setVerdict(view, digit, headline, detail, confidence) {
  result.dataset.state = view;
  $("digit").textContent = digit;
  $("headline").textContent = headline;
  $("detail").textContent = detail;
  $("meter").style.width = `${(100 * confidence).toFixed(1)}%`;
}

function setPreview(src) {
  $("preview").hidden = !src;
  $("preview-empty").hidden = Boolean(src);
  if (src) $("preview").src = src;
}

// Outlines the ink the service classified: `box` is in the sent image's pixels, `fit` maps them
// onto the pad. An overlay, not drawn on the canvas, which is what the next request sends.
function setBox(box, fit, kind) {
  const outline = $("ink-box");
  outline.hidden = !box || !fit;
  if (outline.hidden) return;
  const at = (v, px) => `calc(${(100 * v / pad.width).toFixed(2)}% + ${px}px)`;
  const margin = 4; // CSS px between the ink and the outline, so that it does not hide the ink
  outline.style.left = at(fit.dx + box.left * fit.scale, -margin);
  outline.style.top = at(fit.dy + box.top * fit.scale, -margin);
  outline.style.width = at((box.right - box.left) * fit.scale, 2 * margin);
  outline.style.height = at((box.bottom - box.top) * fit.scale, 2 * margin);
  outline.dataset.kind = kind;
}

function setService(up, text) {
  const pill = $("service");
  pill.dataset.state = up ? "up" : "down";
  pill.textContent = text;
}

function render(version, answer, fit = PAD_FIT) {
  if (version < state.shownVersion) return; // an older request answered late
  state.shownVersion = version;
  setBox(answer.box, fit, answer.status);
  const error = $("error");
  error.hidden = answer.status !== "error";
  if (answer.status === "error") {
    error.textContent = answer.error;
    const headline = {bad_image: "Cannot read that image", service_unavailable: "Service unavailable",
      web_unavailable: "Demo server unreachable"}[answer.kind] || "Something went wrong";
    setVerdict("error", "!", headline, "See the message below.", 0);
    drawBars([]);
    setPreview(null);
    if (answer.kind === "service_unavailable" || answer.kind === "web_unavailable") {
      setService(false, "Service offline");
    }
  } else if (answer.status === "digit") {
    const sure = answer.sure;
    setVerdict(sure ? "digit" : "unsure", String(answer.digit),
      sure ? `It's ${article(answer.digit)} ${answer.digit}` : "Not sure",
      sure ? `${percent(answer.confidence)} confident` :
        `Maybe ${article(answer.digit)} ${answer.digit} (${percent(answer.confidence)}). Try drawing it larger or clearer.`,
      answer.confidence);
    drawBars(answer.probabilities);
    setPreview(answer.preview);
    refreshServiceIfDown();
  } else if (answer.status === "not_a_digit") {
    setVerdict("not-digit", "✕", "Not a digit",
      `That looks like something else (${percent(answer.not_digit_probability)} sure). Draw one digit, 0–9.`,
      0);
    drawBars(answer.probabilities);
    setPreview(answer.preview);
    refreshServiceIfDown();
  } else if (answer.status === "blank") {
    setVerdict("blank", "?", "Not sure", "No digit found yet: keep drawing.", 0);
    drawBars([]);
    setPreview(null);
    refreshServiceIfDown();
  } else {
    setVerdict("idle", "–", "Draw a digit", "The prediction appears while you draw.", 0);
    drawBars([]);
    setPreview(null);
  }
  noteLatency(version);
  settle();
}

function noteLatency(version) {
  const end = state.strokeEnd;
  if (!end || version < end.version) return;
  state.strokeEnd = null;
  requestAnimationFrame(() => {
    const ms = performance.now() - end.at;
    state.latencies.push(ms);
    $("latency").textContent = `stroke end → prediction: ${Math.round(ms)} ms`;
  });
}

// ---- service status -----------------------------------------------------------------------

async function checkService() {
  try {
    const response = await fetch("/api/health");
    const json = await response.json();
    if (response.ok) {
      const accuracy = (100 * json.model.test_accuracy).toFixed(2);
      setService(true, `${json.model.name} ${json.model.version} · ${accuracy} % on MNIST test`);
      $("footer-target").innerHTML = "";
      $("footer-target").append("The page calls the Digits gRPC service at ",
        Object.assign(document.createElement("code"), {textContent: json.target}),
        " through ", Object.assign(document.createElement("code"), {textContent: "serving.client"}), ".");
    } else {
      setService(false, "Service offline");
      render(state.version, {status: "error", kind: json.kind, error: json.error});
    }
  } catch (err) {
    setService(false, "Demo server unreachable");
  }
}

function refreshServiceIfDown() {
  if ($("service").dataset.state !== "up") checkService();
}

resetPad();
drawBars([]);
setPreview(null);
checkService();
settle();
