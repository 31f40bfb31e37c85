// The gallery page: submits prompts without a reload, shows each job as a card that follows
// its state (queued, running, then the picture) and keeps the grid of pictures current.
// Every text from the server or the user is set with textContent, never as HTML.
import { csrfToken } from "./http.js";
import { readJSON } from "./i18n.js";
import { toast } from "./toast.js";
import { JobUpdates } from "./gallery-live.js";

const config = readJSON("gallery-config", {});
const strings = readJSON("gallery-strings", {});
const ACTIVE = new Set(["queued", "running"]);
// A job only moves forward; a late poll answer must not undo a pushed update.
const ORDER = { queued: 0, running: 1, succeeded: 2, failed: 2 };

const form = document.getElementById("gallery-form");
const queue = document.getElementById("gallery-queue");
const grid = document.getElementById("gallery-grid");
const queueTitle = document.querySelector("[data-role=queue-title]");
const gridEmpty = document.querySelector("[data-role=grid-empty]");
const jobs = new Map();

function t(key, values = {}) {
  const text = Object.hasOwn(strings, key) ? strings[key] : key;
  return text.replace(/\{(\w+)\}/g, (match, name) => (Object.hasOwn(values, name) ? String(values[name]) : match));
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function stateText(job) {
  if (job.status === "queued") return job.position ? t("queued_position", { position: job.position }) : t("queued");
  if (job.status === "running") return job.attempts > 1 ? t("retrying", { attempt: job.attempts }) : t("running");
  if (job.status === "failed") return t("failed");
  return t("succeeded");
}

function meta(job) {
  return [job.model, job.size, job.quality].filter(Boolean).join(" · ");
}

function cardContent(job) {
  const visual = element("div", "job-card__visual");
  visual.setAttribute("aria-hidden", "true");
  visual.append(element("span", job.status === "failed" ? "job-card__mark" : "job-card__spinner", job.status === "failed" ? "!" : undefined));
  const body = element("div", "job-card__body");
  body.append(element("p", "job-card__prompt", job.prompt));
  const state = element("p", "job-card__state", stateText(job));
  state.dataset.role = "state";
  body.append(state);
  if (job.status === "failed" && job.error) {
    const error = element("p", "job-card__error", job.error.message);
    error.setAttribute("role", "alert");
    body.append(error);
  }
  body.append(element("p", "job-card__meta", meta(job)));
  if (job.status === "failed") {
    const actions = element("div", "job-card__actions");
    const again = element("button", "btn btn--ghost btn--sm", t("try_again"));
    again.type = "button";
    again.dataset.action = "reuse";
    const dismiss = element("button", "btn btn--ghost btn--sm", t("dismiss"));
    dismiss.type = "button";
    dismiss.dataset.action = "dismiss";
    actions.append(again, dismiss);
    body.append(actions);
  }
  return [visual, body];
}

function pictureContent(job) {
  const link = element("a", "picture__link");
  link.href = job.detail_url;
  link.title = t("open");
  const img = element("img", "picture__img");
  img.src = job.thumbnail_url;
  img.alt = job.prompt.slice(0, 200);
  if (job.width && job.height) {
    img.width = job.width;
    img.height = job.height;
  }
  link.append(img);
  return [link, element("p", "picture__caption", job.prompt.length > 120 ? `${job.prompt.slice(0, 119)}…` : job.prompt)];
}

function setNode(node, job, kind) {
  node.className = kind === "picture" ? "picture" : `job-card job-card--${job.status}`;
  node.dataset.jobId = String(job.id);
  node.dataset.status = job.status;
  node.replaceChildren(...(kind === "picture" ? pictureContent(job) : cardContent(job)));
  return node;
}

function nodeFor(id) {
  return document.querySelector(`[data-job-id="${CSS.escape(String(id))}"]`);
}

function apply(job) {
  if (!job || typeof job.id !== "number") return;
  const known = jobs.get(job.id);
  if (known && ORDER[known.status] > ORDER[job.status]) return;
  if (known && known.status === job.status && job.status !== "queued" && (job.attempts || 0) < (known.attempts || 0)) return;
  jobs.set(job.id, job);
  let node = nodeFor(job.id);
  if (job.status === "succeeded") {
    if (node && node.classList.contains("picture")) return;
    // The card itself becomes the picture and takes its place at the top of the grid (the
    // grid's first page is where the newest pictures are).
    node = setNode(node || document.createElement("li"), job, "picture");
    if (config.page === 1) {
      node.classList.add("is-new");
      // Newest first, by id: jobs may finish in another order than they were asked for.
      const older = [...grid.children].find((child) => Number(child.dataset.jobId) < job.id);
      grid.insertBefore(node, older || null);
    } else {
      node.remove();
    }
  } else if (node) {
    setNode(node, job, "card");
  } else {
    queue.append(setNode(document.createElement("li"), job, "card"));
  }
  refreshHeadings();
}

function applyPositions(positions) {
  for (const job of jobs.values()) {
    if (job.status !== "queued") continue;
    const position = positions[String(job.id)] ?? null;
    if (position === job.position) continue;
    const updated = { ...job, position };
    jobs.set(job.id, updated);
    const node = nodeFor(job.id);
    const state = node && node.querySelector("[data-role=state]");
    if (state) state.textContent = stateText(updated);
  }
}

function forget(id) {
  jobs.delete(id);
  const node = nodeFor(id);
  if (node && !node.classList.contains("picture")) node.remove();
  refreshHeadings();
}

function refreshHeadings() {
  if (queueTitle) queueTitle.hidden = queue.children.length === 0;
  if (gridEmpty) gridEmpty.hidden = grid.children.length > 0;
}

// --- the form ---------------------------------------------------------------------------

const prompt = form.querySelector("textarea[name=prompt]");
const model = form.querySelector("select[name=model]");
const quality = form.querySelector("select[name=quality]");
const qualityField = form.querySelector("[data-role=quality-field]");
const submit = form.querySelector("[data-role=submit]");
const formError = form.querySelector("[data-role=form-error]");

function syncQuality() {
  const allowed = (config.quality_models || []).includes(model.value);
  quality.disabled = !allowed;
  qualityField.classList.toggle("is-disabled", !allowed);
}

function showFormError(message) {
  formError.textContent = message || "";
  formError.hidden = !message;
}

async function submitForm(event) {
  event.preventDefault();
  showFormError("");
  if (!prompt.value.trim()) {
    showFormError(prompt.labels[0] ? prompt.labels[0].textContent : t("submit_failed"));
    prompt.focus();
    return;
  }
  submit.disabled = true;
  submit.textContent = t("submitting");
  try {
    const response = await fetch(config.create_url, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    });
    const body = (response.headers.get("Content-Type") || "").includes("json") ? await response.json() : null;
    if (response.status === 201 && body && body.job) {
      apply(body.job);
      prompt.value = "";
      return;
    }
    showFormError((body && body.message) || t("submit_failed"));
  } catch {
    showFormError(t("submit_failed"));
  } finally {
    submit.disabled = false;
    submit.textContent = t("submit");
  }
}

async function dismiss(id) {
  const job = jobs.get(id);
  if (!job) return;
  try {
    const response = await fetch(job.delete_url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    });
    if (!response.ok && response.status !== 404) throw new Error(String(response.status));
    forget(id);
  } catch {
    toast(t("dismiss_failed"), { kind: "error" });
  }
}

function reuse(id) {
  const job = jobs.get(id);
  if (!job) return;
  prompt.value = job.prompt;
  if ([...model.options].some((option) => option.value === job.model)) model.value = job.model;
  const size = form.querySelector("select[name=size]");
  if ([...size.options].some((option) => option.value === job.size)) size.value = job.size;
  syncQuality();
  quality.value = job.quality || "";
  prompt.focus();
}

queue.addEventListener("click", (event) => {
  const button = event.target.closest("[data-action]");
  const node = button && button.closest("[data-job-id]");
  if (!node) return;
  event.preventDefault();
  const id = Number(node.dataset.jobId);
  if (button.dataset.action === "dismiss") dismiss(id);
  if (button.dataset.action === "reuse") reuse(id);
});

model.addEventListener("change", syncQuality);
form.addEventListener("submit", submitForm);
prompt.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
});
syncQuality();

// --- live updates -----------------------------------------------------------------------

for (const job of readJSON("gallery-pending", [])) apply(job);

const updates = new JobUpdates({
  wsPath: config.ws_path,
  pushReliable: config.push_reliable,
  activeJobs: () => [...jobs.values()].filter((job) => ACTIVE.has(job.status)),
});
updates.addEventListener("job", (event) => apply(event.detail));
updates.addEventListener("positions", (event) => applyPositions(event.detail));
updates.addEventListener("gone", (event) => forget(event.detail));
updates.start();
