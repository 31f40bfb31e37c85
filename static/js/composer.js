// The message box at the bottom of a conversation. Enter sends, Shift+Enter starts a new
// line, Escape stops a reply; the box grows with its text. While a reply is written the Send
// button becomes Stop.
//
// Modes: "offline" (no connection), "idle", "sending" (sent, not yet acknowledged),
// "waiting" (no token yet), "retrying", "streaming", "stopping".
//
// With photos (a PhotoTray from attachments.js) a message may have no text, and nothing is
// sent while a photo is still uploading.
import { t } from "./i18n.js";

const REPLY_MODES = new Set(["waiting", "retrying", "streaming"]);
const MAX_HEIGHT_RATIO = 0.4; // of the viewport

export class Composer {
  constructor(form, { maxChars, onSend, onStop, photos = null }) {
    this.form = form;
    this.input = form.querySelector("textarea");
    this.button = form.querySelector("[data-role=send]");
    this.buttonLabel = form.querySelector("[data-role=send-label]");
    this.status = form.querySelector("[data-role=status]");
    this.statusText = form.querySelector("[data-role=status-text]");
    this.counter = form.querySelector("[data-role=counter]");
    this.maxChars = maxChars || 32000;
    this.onSend = onSend;
    this.onStop = onStop;
    this.photos = photos;
    this.mode = "offline";
    this.connectionText = t("connecting");

    this.input.addEventListener("input", () => {
      this.grow();
      this.refresh();
    });
    this.input.addEventListener("keydown", (event) => this.onKeyDown(event));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (REPLY_MODES.has(this.mode)) this.onStop();
      else this.submit();
    });
    // Escape stops a reply wherever the focus is, unless something else (an editor, a menu)
    // handled the key first.
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !event.defaultPrevented && REPLY_MODES.has(this.mode)) {
        if (event.target !== this.input && event.target.closest("textarea, input, details[open]")) return;
        event.preventDefault();
        this.onStop();
      }
    });
    this.refresh();
  }

  onKeyDown(event) {
    // An IME (Chinese, Japanese…) uses Enter to confirm a candidate: never send then.
    if (event.isComposing || event.keyCode === 229) return;
    if (event.key === "Enter" && !event.shiftKey && !event.altKey) {
      event.preventDefault();
      if (!REPLY_MODES.has(this.mode)) this.submit();
    }
  }

  submit() {
    const text = this.input.value.trim();
    const photoIds = this.photos ? this.photos.readyIds() : [];
    if (this.mode !== "idle" || this.uploading() || this.length() > this.maxChars) return;
    if (!text && !photoIds.length) return;
    this.onSend(text, photoIds);
  }

  uploading() {
    return Boolean(this.photos?.uploading());
  }

  length() {
    return [...this.input.value.trim()].length;
  }

  setMode(mode) {
    this.mode = mode;
    this.refresh();
  }

  /** Text about the connection (null when connected); shown while offline. */
  setConnectionText(text) {
    this.connectionText = text;
    this.refresh();
  }

  clear() {
    this.input.value = "";
    this.grow();
    this.refresh();
  }

  focus() {
    this.input.focus();
  }

  grow() {
    this.input.style.height = "auto";
    const limit = Math.round(window.innerHeight * MAX_HEIGHT_RATIO);
    this.input.style.height = `${Math.min(this.input.scrollHeight + 2, limit)}px`;
  }

  refresh() {
    const mode = this.mode;
    const replying = REPLY_MODES.has(mode);
    this.form.dataset.mode = mode;
    this.input.readOnly = mode === "sending";

    const length = this.length();
    const tooLong = length > this.maxChars;
    const label = replying || mode === "stopping" ? t("stop") : t("send");
    this.buttonLabel.textContent = label;
    this.button.setAttribute("aria-label", label);
    this.button.title = replying ? `${label} (Esc)` : label;
    const nothing = length === 0 && !(this.photos && this.photos.readyIds().length);
    this.button.disabled = replying ? false : mode !== "idle" || nothing || tooLong || this.uploading();

    let status = "";
    if (mode === "offline") status = this.connectionText || t("connecting");
    else if (mode === "sending") status = t("sending");
    else if (mode === "waiting") status = t("waiting_first_token");
    else if (mode === "retrying") status = t("retrying");
    else if (mode === "streaming") status = t("streaming");
    else if (mode === "stopping") status = t("stopping");
    this.statusText.textContent = status;
    this.status.hidden = !status;
    this.status.dataset.kind = mode;

    const showCounter = length > this.maxChars * 0.8;
    this.counter.hidden = !showCounter;
    this.counter.textContent = showCounter ? t("char_count", { count: length.toLocaleString(), max: this.maxChars.toLocaleString() }) : "";
    this.counter.classList.toggle("is-over", tooLong);
  }
}
