// Cards for the tools a reply called: a picture being made (it turns into the picture when
// the job finishes, by polling the job's status) or a small line for other tools.
// Everything is built with DOM calls and textContent: nothing here is parsed as HTML.
import { t } from "./i18n.js";

const POLL_MS = 2000;
const FINISHED = new Set(["succeeded", "failed"]);

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function imageCard(tool) {
  const result = tool.result || {};
  const card = element("div", "tool-card tool-card--image");
  if (!result.job_id) {
    card.classList.add("is-failed");
    card.append(element("p", "tool-card__status", result.error || t("image_failed")));
    return card;
  }
  const status = element("p", "tool-card__status", t("image_generating"));
  status.setAttribute("role", "status");
  const prompt = element("p", "tool-card__prompt", result.prompt || "");
  card.append(status, prompt);
  card.classList.add("is-pending");
  watchJob(result.job_id, card, status);
  return card;
}

function showPicture(card, status, job) {
  card.classList.remove("is-pending");
  if (job.status === "succeeded" && job.thumbnail_url) {
    const link = element("a", "tool-card__picture");
    link.href = job.detail_url;
    const img = document.createElement("img");
    img.src = job.thumbnail_url;
    img.alt = job.prompt || "";
    img.loading = "lazy";
    link.append(img);
    status.textContent = t("image_ready");
    card.insertBefore(link, status);
  } else {
    card.classList.add("is-failed");
    status.textContent = (job.error && job.error.message) || t("image_failed");
  }
}

function watchJob(jobId, card, status) {
  const poll = async () => {
    if (!card.isConnected && card.dataset.started) return; // the message was re-drawn or removed
    card.dataset.started = "1";
    try {
      const response = await fetch(`/images/${encodeURIComponent(jobId)}/status/`, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (response.ok) {
        const { job } = await response.json();
        if (job && FINISHED.has(job.status)) {
          showPicture(card, status, job);
          return;
        }
        if (job && job.status === "running") status.textContent = t("image_running");
      }
    } catch (_error) {
      // Offline for a moment: try again on the next tick.
    }
    window.setTimeout(poll, POLL_MS);
  };
  window.setTimeout(poll, 0);
}

function otherCard(tool) {
  const card = element("div", "tool-card");
  const result = tool.result || {};
  const summary = result.error
    ? `${tool.name}: ${result.error}`
    : tool.name === "current_time" && result.iso
      ? t("tool_time", { time: `${result.date} ${result.time} (${result.time_zone})` })
      : t("tool_used", { name: tool.name });
  card.append(element("p", "tool-card__status", summary));
  return card;
}

/** One card per tool call, in order. */
export function toolCards(tools) {
  return (Array.isArray(tools) ? tools : []).map((tool) =>
    tool && tool.name === "generate_image" ? imageCard(tool) : otherCard(tool || {}),
  );
}
