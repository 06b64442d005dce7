// digitzoo's page: draw a digit, read a photo, try kernels. Plain JavaScript, no build step; it
// talks only to the server that served it (the JSON API under /api/).
"use strict";

const $ = (id) => document.getElementById(id);
const INK = "#111";
const PAPER = "#fff";
// Ink width relative to the canvas: a digit drawn across most of the box gets strokes about as
// thick, relative to its height, as MNIST's pen strokes.
const LINE_WIDTH = 0.07;

// ---------------------------------------------------------------------------------------------
// Talking to the server

let models = { default: null, models: [] };

function chosenModel() {
  return $("model").value || null;
}

// POST to the API; resolves to the JSON body, rejects with the server's one-line error.
async function post(path, body) {
  const init = { method: "POST" };
  if (body instanceof FormData) {
    init.body = body;
  } else {
    init.body = JSON.stringify(body);
    init.headers = { "Content-Type": "application/json" };
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new Error("the digitzoo server does not answer: is `digitzoo serve` still running?");
  }
  let data = null;
  try {
    data = await response.json();
  } catch (err) {
    data = null;
  }
  if (!response.ok) {
    throw new Error((data && data.error) || `the server answered ${response.status}`);
  }
  return data;
}

async function getJSON(path) {
  const response = await fetch(path);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || `the server answered ${response.status}`);
  return data;
}

function setStatus(text, isError = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

// ---------------------------------------------------------------------------------------------
// The drawing: strokes kept as point lists, so Undo removes one and redraws the rest.

const canvas = $("canvas");
const ctx = canvas.getContext("2d");
const strokes = [];
let current = null; // the stroke being drawn, or null

function redraw() {
  ctx.fillStyle = PAPER;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = INK;
  ctx.fillStyle = INK;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.lineWidth = LINE_WIDTH * canvas.width;
  for (const stroke of strokes) drawStroke(stroke);
  if (current) drawStroke(current);
}

function drawStroke(points) {
  if (points.length === 1) {
    ctx.beginPath();
    ctx.arc(points[0].x, points[0].y, ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fill();
    return;
  }
  // A quadratic curve through the midpoints: smooth like a pen, not a polygon.
  ctx.beginPath();
  ctx.moveTo(points[0].x, points[0].y);
  for (let i = 1; i < points.length - 1; i++) {
    const mx = (points[i].x + points[i + 1].x) / 2;
    const my = (points[i].y + points[i + 1].y) / 2;
    ctx.quadraticCurveTo(points[i].x, points[i].y, mx, my);
  }
  const last = points[points.length - 1];
  ctx.lineTo(last.x, last.y);
  ctx.stroke();
}

// Pointer position in canvas pixels, whatever size CSS gives the canvas on screen.
function canvasPoint(event) {
  const box = canvas.getBoundingClientRect();
  return {
    x: ((event.clientX - box.left) * canvas.width) / box.width,
    y: ((event.clientY - box.top) * canvas.height) / box.height,
  };
}

canvas.addEventListener("pointerdown", (event) => {
  if (event.button !== 0 || current) return;
  event.preventDefault();
  canvas.setPointerCapture(event.pointerId);
  current = [canvasPoint(event)];
  redraw();
});

canvas.addEventListener("pointermove", (event) => {
  if (!current || !canvas.hasPointerCapture(event.pointerId)) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
  for (const e of events.length ? events : [event]) current.push(canvasPoint(e));
  redraw();
});

function endStroke(event) {
  if (!current) return;
  if (canvas.hasPointerCapture(event.pointerId)) canvas.releasePointerCapture(event.pointerId);
  strokes.push(current);
  current = null;
  redraw();
  readDrawing();
}
canvas.addEventListener("pointerup", endStroke);
canvas.addEventListener("pointercancel", endStroke);

function undo() {
  if (current || !strokes.length) return;
  strokes.pop();
  redraw();
  readDrawing();
}

function clearDrawing() {
  strokes.length = 0;
  current = null;
  redraw();
  readDrawing();
}

$("undo").addEventListener("click", undo);
$("clear").addEventListener("click", clearDrawing);
document.addEventListener("keydown", (event) => {
  const typing = event.target.closest && event.target.closest("input, select, textarea");
  if ((event.ctrlKey || event.metaKey) && !event.shiftKey && event.key.toLowerCase() === "z" && !typing) {
    event.preventDefault();
    undo();
  }
});

// ---------------------------------------------------------------------------------------------
// Reading: the drawing or a photo → the answer. Only the newest request's answer is shown.

const result = $("result");
let latest = 0; // id of the newest prediction request
let lastSource = null; // "drawing" or "photo": what a change of model reads again

function setResultState(state) {
  result.dataset.state = state;
  if (state === "done" || state === "error") {
    result.dataset.answers = String(Number(result.dataset.answers) + 1);
  }
}

function showNothing(hint) {
  latest += 1; // an answer still on its way is now stale
  $("digits").textContent = "";
  $("confidence").textContent = "";
  $("panels").replaceChildren();
  $("explain").hidden = true;
  $("hint").textContent = hint;
  $("hint").hidden = false;
  setResultState("idle");
}

function readDrawing() {
  lastSource = "drawing";
  if (!strokes.length) {
    showNothing("Draw a digit in the box, or choose a photo.");
    return;
  }
  predict({ image: canvas.toDataURL("image/png"), model: chosenModel() }, "your drawing");
}

function readPhoto() {
  const file = $("photo").files[0];
  if (!file) return;
  lastSource = "photo";
  const preview = $("photo-preview");
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(file);
  preview.alt = `The photo ${file.name}`;
  preview.hidden = false;
  const form = new FormData();
  form.append("file", file);
  if (chosenModel()) form.append("model", chosenModel());
  predict(form, file.name);
}

async function predict(body, what) {
  const id = ++latest;
  setResultState("busy");
  setStatus(`Reading ${what}…`);
  try {
    const answer = await post("/api/predict", body);
    if (id !== latest) return; // a newer stroke or photo was sent meanwhile
    showAnswer(answer);
    setStatus(`${answer.model} read ${answer.digits} in ${what}.`);
    setResultState("done");
  } catch (err) {
    if (id !== latest) return;
    $("digits").textContent = "";
    $("confidence").textContent = "";
    $("panels").replaceChildren();
    $("explain").hidden = true;
    $("hint").textContent = "No answer: see the message above.";
    $("hint").hidden = false;
    setStatus(err.message, true);
    setResultState("error");
  }
}

function percent(p) {
  return p >= 0.995 ? "100%" : p < 0.005 ? `${(100 * p).toFixed(1)}%` : `${Math.round(100 * p)}%`;
}

function showAnswer(answer) {
  $("digits").textContent = answer.digits;
  const sure = answer.guesses.length > 1 ? "for all of them" : "sure";
  $("confidence").textContent = `${percent(answer.confidence)} ${sure}`;
  $("hint").hidden = true;
  $("panels").replaceChildren(...answer.guesses.map(panel));
  $("explain").hidden = false;
}

// One digit: the 28×28 picture the model saw, and its ten probabilities.
function panel(guess, index) {
  const box = document.createElement("figure");
  box.className = "panel";

  const pixels = document.createElement("div");
  pixels.className = "pixels";
  const img = document.createElement("img");
  img.id = `input28-${index}`;
  img.className = "input28";
  img.src = guess.input;
  img.width = 28;
  img.height = 28;
  img.alt = `The 28×28 image the model saw for digit ${index + 1}, read as ${guess.digit}`;
  pixels.append(img);

  const bars = document.createElement("div");
  bars.id = `bars-${index}`;
  bars.className = "bars";
  bars.setAttribute("role", "img");
  const ranked = guess.top.map((t) => `${t.digit}: ${percent(t.p)}`).join(", ");
  bars.setAttribute("aria-label", `Probabilities, most likely first: ${ranked}`);
  guess.probabilities.forEach((p, digit) => {
    const column = document.createElement("div");
    column.className = digit === guess.digit ? "bar win" : "bar";
    column.title = `${digit}: ${percent(p)}`;
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.height = `${Math.max(0, Math.min(1, p)) * 100}%`;
    const label = document.createElement("span");
    label.className = "label";
    label.textContent = String(digit);
    column.append(fill, label);
    bars.append(column);
  });

  const caption = document.createElement("figcaption");
  caption.innerHTML = `<strong></strong> <span></span>`;
  caption.firstChild.textContent = String(guess.digit);
  caption.lastChild.textContent = percent(guess.confidence);
  box.append(pixels, bars, caption);
  return box;
}

$("photo").addEventListener("change", readPhoto);

// ---------------------------------------------------------------------------------------------
// The models that have weights here.

async function loadModels() {
  try {
    models = await getJSON("/api/models");
  } catch (err) {
    setStatus(`Could not list the models: ${err.message}`, true);
    return;
  }
  const select = $("model");
  // Models that read digits here without training: shipped weights, or trained by the user.
  const usable = models.models.filter((m) => ("available" in m ? m.available : m.pretrained || m.loaded));
  for (const m of usable) {
    const option = document.createElement("option");
    option.value = m.name;
    const accuracy =
      m.test_accuracy == null ? " — trained here" : ` — ${(100 * m.test_accuracy).toFixed(2)}% on MNIST test`;
    option.textContent = `${m.name}${accuracy}`;
    option.title = m.description || "";
    option.selected = m.name === models.default;
    select.append(option);
  }
  select.disabled = usable.length < 2;
  describeModel();
}

function describeModel() {
  const m = models.models.find((x) => x.name === $("model").value);
  $("model-note").textContent = m && m.description ? m.description : "";
}

$("model").addEventListener("change", () => {
  describeModel();
  if (lastSource === "drawing") readDrawing();
  else if (lastSource === "photo") readPhoto();
});

// ---------------------------------------------------------------------------------------------
// The kernel playground.

const CUSTOM = "";
let kernels = [];
let filterLatest = 0;
let filterTimer = null;
const filterResult = $("filter-result");

function fillMatrix(matrix) {
  const grid = $("matrix");
  const n = matrix.length;
  grid.style.setProperty("--side", String(n));
  grid.replaceChildren();
  matrix.forEach((row, r) =>
    row.forEach((value, c) => {
      const input = document.createElement("input");
      input.type = "number";
      input.step = "any";
      input.inputMode = "decimal";
      input.value = String(+value.toFixed(4));
      input.setAttribute("aria-label", `weight, row ${r + 1}, column ${c + 1}`);
      grid.append(input);
    })
  );
}

function typedMatrix() {
  const inputs = [...$("matrix").querySelectorAll("input")];
  const n = Math.round(Math.sqrt(inputs.length));
  const values = inputs.map((input) => (input.value.trim() === "" ? NaN : Number(input.value)));
  if (values.some((v) => !Number.isFinite(v))) return null;
  return Array.from({ length: n }, (_, r) => values.slice(r * n, r * n + n));
}

function pickKernel() {
  const name = $("kernel").value;
  const kernel = kernels.find((k) => k.name === name);
  if (!kernel) return;
  fillMatrix(kernel.matrix);
  $("kernel-description").textContent = kernel.description;
  runFilter(name);
}

function editMatrix() {
  clearTimeout(filterTimer);
  const matrix = typedMatrix();
  if (!matrix) {
    setStatus("Every weight of the kernel needs a number.", true);
    return;
  }
  const same = kernels.find((k) => JSON.stringify(k.matrix) === JSON.stringify(matrix));
  $("kernel").value = same ? same.name : CUSTOM;
  $("kernel-description").textContent = same ? same.description : "your own kernel";
  filterTimer = setTimeout(() => runFilter(matrix), 250); // wait for the typing to pause
}

async function runFilter(kernel) {
  clearTimeout(filterTimer); // a newer choice replaces weights still waiting to be sent
  const id = ++filterLatest;
  const file = $("kernel-photo").files[0];
  let body;
  if (file) {
    body = new FormData();
    body.append("file", file);
    body.append("kernel", typeof kernel === "string" ? kernel : kernel.map((row) => row.join(",")).join(";"));
  } else {
    body = { kernel };
  }
  filterResult.dataset.state = "busy";
  try {
    const answer = await post("/api/filter", body);
    if (id !== filterLatest) return;
    $("original").src = answer.original;
    $("filtered").src = answer.filtered;
    const name = answer.kernel.name || "your kernel";
    $("filtered").alt = `The picture filtered with ${name}`;
    filterResult.dataset.state = "done";
    if ($("status").classList.contains("error")) setStatus("");
  } catch (err) {
    if (id !== filterLatest) return;
    setStatus(err.message, true);
    filterResult.dataset.state = "error";
  }
  filterResult.dataset.answers = String(Number(filterResult.dataset.answers) + 1);
}

async function loadKernels() {
  try {
    kernels = (await getJSON("/api/kernels")).kernels;
  } catch (err) {
    setStatus(`Could not list the kernels: ${err.message}`, true);
    return;
  }
  const select = $("kernel");
  const custom = document.createElement("option");
  custom.value = CUSTOM;
  custom.textContent = "(your own)";
  select.append(custom);
  for (const k of kernels) {
    const option = document.createElement("option");
    option.value = k.name;
    option.textContent = k.name;
    option.title = k.description;
    select.append(option);
  }
  select.value = kernels.some((k) => k.name === "vertical") ? "vertical" : kernels[0].name;
  pickKernel();
}

$("kernel").addEventListener("change", () => {
  if ($("kernel").value !== CUSTOM) pickKernel();
});
$("matrix").addEventListener("input", editMatrix);
$("kernel-photo").addEventListener("change", () => {
  const matrix = typedMatrix();
  if (matrix) runFilter($("kernel").value || matrix);
});
$("cup").addEventListener("click", () => {
  $("kernel-photo").value = "";
  const matrix = typedMatrix();
  if (matrix) runFilter($("kernel").value || matrix);
});

// ---------------------------------------------------------------------------------------------

redraw();
loadModels();
loadKernels();
