// Renders the conversation from socket frames (history, message, delta, done, deleted,
// status, title) and owns the message list's scrolling. Everything a model or a person wrote
// reaches the page as textContent or through markdown.js (sanitised).
//
// Events: "phase" {phase: null | "waiting" | "retrying" | "streaming"}, "conversation"
// {conversation}, "title" {title}, "message" {message, isNew}, "done" {frame}, "gap" {}.
import { renderMarkdown } from "./markdown.js";
import { photoFigures } from "./attachments.js";
import { toolCards } from "./tool-cards.js";
import { copyText, flashCopied } from "./clipboard.js";
import { iconButton } from "./icons.js";
import { t } from "./i18n.js";
import { toast } from "./toast.js";

const RENDER_INTERVAL_MS = 70;
const STICK_DISTANCE_PX = 40;

// Offsets in delta frames count Unicode code points (the server's string length), not the
// UTF-16 units JavaScript counts, so emoji and other astral characters are counted as one.
function codePointLength(text) {
  let count = 0;
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i += 1;
    }
    count += 1;
  }
  return count;
}

function dropCodePoints(text, count) {
  let index = 0;
  for (let skipped = 0; skipped < count && index < text.length; skipped += 1) {
    index += text.codePointAt(index) > 0xffff ? 2 : 1;
  }
  return text.slice(index);
}

function formatCost(cost) {
  const text = String(cost);
  if (!/^\d+(\.\d+)?$/.test(text)) return `¥${text}`;
  const [whole, fraction = ""] = text.split(".");
  const trimmed = fraction.replace(/0+$/, "").padEnd(2, "0");
  return `¥${whole}.${trimmed}`;
}

function formatTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return null;
  const locale = document.documentElement.lang || undefined;
  return {
    short: date.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" }),
    full: date.toLocaleString(locale),
    iso: date.toISOString(),
  };
}

function span(className, text) {
  const element = document.createElement("span");
  element.className = className;
  element.textContent = text;
  return element;
}

export class ChatView extends EventTarget {
  constructor({ scroller, log, empty, loading, jumpButton, actions }) {
    super();
    this.scroller = scroller;
    this.log = log;
    this.empty = empty;
    this.loading = loading;
    this.jumpButton = jumpButton;
    this.actions = actions;
    this.entries = new Map();
    this.loaded = false;
    // The conversation's own model: a reply by another one (photos go to the vision model)
    // says so.
    this.conversationModel = null;
    this.phase = null;
    this.locked = false;
    this.notice = null;
    this.stick = true;
    this.lastScrollTop = 0;

    scroller.addEventListener("scroll", () => this.onScroll(), { passive: true });
    jumpButton.addEventListener("click", () => this.scrollToBottom({ force: true, smooth: true }));
    const observer = new ResizeObserver(() => this.keepPinned());
    observer.observe(scroller);
    observer.observe(log);
    log.addEventListener("click", (event) => this.onClick(event));
  }

  // --- frames -------------------------------------------------------------------------

  apply(frame) {
    switch (frame.type) {
      case "history":
        return this.onHistory(frame);
      case "message":
        return this.onMessage(frame.message);
      case "delta":
        return this.onDelta(frame);
      case "status":
        return this.onStatus(frame);
      case "done":
        return this.onDone(frame);
      case "tool":
        return this.onTool(frame);
      case "deleted":
        return this.onDeleted(frame.message_ids || []);
      case "title":
        return this.dispatchEvent(new CustomEvent("title", { detail: { title: frame.title || "" } }));
      default:
        return undefined;
    }
  }

  onHistory(frame) {
    const keepScroll = !this.stick ? this.scroller.scrollTop : null;
    for (const entry of this.entries.values()) entry.el.remove();
    this.entries.clear();
    this.clearNotice();
    if (frame.conversation?.model) this.conversationModel = frame.conversation.model;
    for (const message of frame.messages || []) this.insert(message);
    this.loading.hidden = true;
    this.loaded = true;
    this.afterChange();
    if (frame.conversation) {
      this.dispatchEvent(new CustomEvent("conversation", { detail: { conversation: frame.conversation } }));
    }
    if (keepScroll === null) this.scrollToBottom({ force: true });
    else this.scroller.scrollTop = keepScroll;
  }

  onMessage(message) {
    if (!message || typeof message.id !== "number") return;
    const entry = this.entries.get(message.id);
    const isNew = !entry;
    if (entry) {
      entry.data = { ...entry.data, ...message, text: message.text ?? entry.data.text };
      entry.cpLength = codePointLength(entry.data.text);
      entry.previousText = undefined;
      this.render(entry);
    } else {
      this.insert(message);
    }
    this.afterChange();
    this.dispatchEvent(new CustomEvent("message", { detail: { message, isNew } }));
    this.keepPinned();
  }

  onDelta(frame) {
    const entry = this.entries.get(frame.message_id);
    const offset = Number(frame.offset);
    if (!entry || !Number.isInteger(offset) || offset > entry.cpLength) {
      // Text went missing (or the reply is unknown): only a fresh history can repair it.
      this.dispatchEvent(new CustomEvent("gap"));
      return;
    }
    const piece = String(frame.text || "");
    const overlap = entry.cpLength - offset;
    const fresh = overlap > 0 ? dropCodePoints(piece, overlap) : piece;
    if (!fresh) return;
    entry.data.text = (entry.data.text || "") + fresh;
    entry.cpLength += codePointLength(fresh);
    entry.retrying = false;
    this.scheduleRender(entry);
    this.updatePhase();
  }

  onTool(frame) {
    const entry = this.entries.get(frame.message_id);
    if (!entry || !frame.tool) return;
    const tools = Array.isArray(entry.data.tools) ? entry.data.tools : [];
    if (tools.some((tool) => tool.id === frame.tool.id)) return;
    entry.data.tools = [...tools, frame.tool];
    this.render(entry);
    this.keepPinned();
  }

  onStatus(frame) {
    const entry = this.entries.get(frame.message_id);
    if (!entry) return;
    entry.retrying = frame.state === "retrying";
    entry.statusMessage = frame.message || "";
    this.render(entry);
    this.updatePhase();
  }

  onDone(frame) {
    const entry = this.entries.get(frame.message_id);
    if (!entry) return;
    entry.data.status = frame.status || "complete";
    // The final text is authoritative (docs/protocol.md): it repairs a piece lost on the way.
    if (typeof frame.text === "string") {
      entry.data.text = frame.text;
      entry.cpLength = codePointLength(frame.text);
    }
    if ("usage" in frame) entry.data.usage = frame.usage;
    if ("cost" in frame) entry.data.cost = frame.cost;
    if ("error" in frame) entry.data.error = frame.error;
    entry.retrying = false;
    this.render(entry);
    this.afterChange();
    this.dispatchEvent(new CustomEvent("done", { detail: { frame } }));
    this.keepPinned();
  }

  onDeleted(ids) {
    for (const id of ids) {
      const entry = this.entries.get(id);
      if (!entry) continue;
      entry.el.remove();
      this.entries.delete(id);
    }
    this.afterChange();
  }

  // --- notices and errors -------------------------------------------------------------

  /** A notice at the end of the conversation (plain text). kind: "error" | "warning". */
  showNotice(text, kind = "error") {
    this.clearNotice();
    const notice = document.createElement("div");
    notice.className = `notice notice--${kind}`;
    notice.setAttribute("role", "alert");
    const body = span("notice__text", text || t("error_generic"));
    const close = iconButton("close", t("dismiss"), { className: "notice__close" });
    close.addEventListener("click", () => this.clearNotice());
    notice.append(body, close);
    this.log.append(notice);
    this.notice = notice;
    this.scrollToBottom({ force: true });
  }

  clearNotice() {
    if (this.notice) this.notice.remove();
    this.notice = null;
  }

  /** A failed reply's error: shown on the reply it belongs to, or as a notice. */
  attachError(error) {
    const entries = [...this.entries.values()];
    const target = entries.reverse().find((entry) => entry.data.role === "assistant");
    if (target && (target.data.status === "streaming" || target.data.status === "error")) {
      target.data.error = { code: error.code, message: error.message };
      this.render(target);
      this.keepPinned();
      return;
    }
    this.showNotice(error.message);
  }

  // --- state --------------------------------------------------------------------------

  setLocked(locked) {
    this.locked = locked;
    this.refreshActions();
  }

  /** The user message text as last sent by the server. */
  lastUserText() {
    const entries = [...this.entries.values()].reverse();
    const entry = entries.find((item) => item.data.role === "user");
    return entry ? entry.data.text : null;
  }

  /** Puts back the text of a message whose edit the server refused. */
  revertEdit(id) {
    const entry = this.entries.get(id);
    if (!entry || entry.previousText === undefined) return;
    entry.data.text = entry.previousText;
    entry.previousText = undefined;
    this.render(entry);
  }

  streamingEntry() {
    const entries = [...this.entries.values()];
    for (let i = entries.length - 1; i >= 0; i -= 1) {
      if (entries[i].data.role === "assistant" && entries[i].data.status === "streaming") return entries[i];
    }
    return null;
  }

  updatePhase() {
    const entry = this.streamingEntry();
    let phase = null;
    if (entry) phase = entry.data.text ? "streaming" : entry.retrying ? "retrying" : "waiting";
    if (phase === this.phase) return;
    this.phase = phase;
    this.refreshActions();
    this.dispatchEvent(new CustomEvent("phase", { detail: { phase } }));
  }

  afterChange() {
    this.empty.hidden = !(this.loaded && this.entries.size === 0);
    this.updatePhase();
    this.refreshActions();
  }

  refreshActions() {
    const busy = this.locked || this.phase !== null;
    const entries = [...this.entries.values()];
    const last = entries[entries.length - 1];
    for (const entry of entries) {
      if (entry.buttons.edit) entry.buttons.edit.disabled = busy;
      if (entry.buttons.regenerate) {
        entry.buttons.regenerate.hidden = entry !== last;
        entry.buttons.regenerate.disabled = busy;
      }
      if (entry.editor) {
        entry.editor.querySelector("[data-action=save-edit]").disabled = busy;
      }
    }
  }

  // --- building and rendering ---------------------------------------------------------

  insert(message) {
    const entry = this.build(message);
    const ids = [...this.entries.keys()];
    if (!ids.length || message.id > ids[ids.length - 1]) {
      // The usual case: the newest message goes last (before a notice, which stays last).
      this.entries.set(message.id, entry);
      this.log.insertBefore(entry.el, this.notice);
    } else {
      // Out of order: keep both the page and the map (used for "last message") in id order.
      const next = ids.find((id) => id > message.id);
      this.log.insertBefore(entry.el, this.entries.get(next).el);
      this.entries.set(message.id, entry);
      this.entries = new Map([...this.entries.entries()].sort((a, b) => a[0] - b[0]));
    }
    this.render(entry);
    return entry;
  }

  build(message) {
    const role = message.role === "user" ? "user" : "assistant";
    const el = document.createElement("article");
    el.className = `msg msg--${role}`;
    el.dataset.id = String(message.id);
    el.setAttribute("aria-label", role === "user" ? t("you") : t("assistant"));

    const body = document.createElement("div");
    body.className = "msg__body";
    const content = document.createElement("div");
    content.className = role === "user" ? "msg__bubble" : "msg__content markdown";
    const photos = document.createElement("div");
    photos.className = "msg__photos";
    photos.hidden = true;
    const tools = document.createElement("div");
    tools.className = "msg__tools";
    tools.hidden = true;
    const placeholder = document.createElement("div");
    placeholder.className = "msg__placeholder";
    placeholder.append(span("dots", ""), span("msg__placeholder-text", ""));
    const error = document.createElement("div");
    error.className = "msg__error";
    error.setAttribute("role", "alert");
    const footer = document.createElement("div");
    footer.className = "msg__footer";
    const meta = document.createElement("div");
    meta.className = "msg__meta";
    const actions = document.createElement("div");
    actions.className = "msg__actions";
    const buttons = { copy: iconButton("copy", t("copy"), { action: "copy" }) };
    actions.append(buttons.copy);
    if (role === "user") {
      buttons.edit = iconButton("edit", t("edit"), { action: "edit" });
      actions.append(buttons.edit);
    } else {
      buttons.regenerate = iconButton("regenerate", t("regenerate"), { action: "regenerate" });
      actions.append(buttons.regenerate);
    }
    footer.append(meta, actions);

    if (role === "assistant") {
      const avatar = document.createElement("div");
      avatar.className = "msg__avatar";
      avatar.setAttribute("aria-hidden", "true");
      avatar.textContent = "G";
      el.append(avatar);
    }
    body.append(photos, tools, content, placeholder, error, footer);
    el.append(body);
    return {
      data: { ...message, text: message.text || "" },
      cpLength: codePointLength(message.text || ""),
      el, content, photos, photoKey: "", tools, toolKey: "", placeholder, error, meta, buttons,
      retrying: false, dirty: false, renderQueued: false, lastRender: 0, editor: null,
    };
  }

  scheduleRender(entry) {
    entry.dirty = true;
    if (entry.renderQueued) return;
    entry.renderQueued = true;
    const wait = Math.max(0, RENDER_INTERVAL_MS - (performance.now() - entry.lastRender));
    window.setTimeout(() => {
      window.requestAnimationFrame(() => {
        entry.renderQueued = false;
        if (entry.dirty && this.entries.get(entry.data.id) === entry) this.render(entry);
      });
    }, wait);
  }

  render(entry) {
    entry.dirty = false;
    entry.lastRender = performance.now();
    const { data } = entry;
    const streaming = data.status === "streaming";
    entry.el.classList.toggle("is-streaming", streaming);
    entry.el.dataset.status = data.status || "complete";
    entry.el.setAttribute("aria-busy", streaming ? "true" : "false");

    if (!entry.editor) {
      if (data.role === "user") entry.content.textContent = data.text;
      else if (data.text) renderMarkdown(entry.content, data.text, { streaming });
      else entry.content.replaceChildren();
    }
    const photoCount = this.renderPhotos(entry);
    this.renderTools(entry);
    // A message may be only photos: then it has no bubble.
    entry.content.hidden = Boolean(entry.editor) || (!data.text && (data.role !== "user" || photoCount > 0));

    const waiting = streaming && !data.text;
    entry.placeholder.hidden = !waiting;
    entry.placeholder.classList.toggle("is-retrying", waiting && entry.retrying);
    entry.placeholder.lastChild.textContent = entry.retrying ? t("retrying") : t("waiting_first_token");
    if (entry.retrying && entry.statusMessage) entry.placeholder.title = entry.statusMessage;

    const error = data.error || (data.status === "error" ? { message: t("error_generic") } : null);
    entry.error.hidden = !error;
    entry.error.classList.toggle("is-warning", data.status === "interrupted");
    entry.error.textContent = error ? error.message || t("error_generic") : "";

    entry.buttons.copy.hidden = !data.text;
    this.renderMeta(entry);
    if (streaming) this.keepPinned();
  }

  /** Draws the cards of the tools a reply called, when they changed. */
  renderTools(entry) {
    const tools = Array.isArray(entry.data.tools) ? entry.data.tools : [];
    const key = tools.map((tool) => tool.id).join(",");
    if (key === entry.toolKey) return;
    entry.toolKey = key;
    entry.tools.replaceChildren(...toolCards(tools));
    entry.tools.hidden = tools.length === 0;
  }

  /** Draws a message's photos when they changed; returns how many it has. */
  renderPhotos(entry) {
    const photos = Array.isArray(entry.data.attachments) ? entry.data.attachments : [];
    const key = photos.map((photo) => photo.id).join(",");
    if (key !== entry.photoKey) {
      entry.photoKey = key;
      entry.photos.replaceChildren(...photoFigures(photos));
      entry.photos.hidden = photos.length === 0;
    }
    return photos.length;
  }

  renderMeta(entry) {
    const { data, meta } = entry;
    const parts = [];
    if (data.status === "stopped") parts.push(span("badge", t("stopped")));
    if (data.status === "interrupted") parts.push(span("badge badge--warning", t("interrupted")));
    if (data.role === "assistant" && data.model) {
      if (this.conversationModel && data.model !== this.conversationModel) {
        parts.push(span("msg__model msg__model--other", t("answered_by", { model: data.model })));
      } else {
        parts.push(span("msg__model", data.model));
      }
    }
    const time = data.created_at ? formatTime(data.created_at) : null;
    if (time) {
      const element = document.createElement("time");
      element.dateTime = time.iso;
      element.title = time.full;
      element.textContent = time.short;
      parts.push(element);
    }
    if (data.usage && data.role === "assistant") {
      const key = data.usage.estimated ? "tokens_estimated" : "tokens";
      const tokens = span("msg__tokens", t(key, {
        prompt: data.usage.prompt_tokens ?? 0,
        completion: data.usage.completion_tokens ?? 0,
      }));
      if (data.usage.estimated) tokens.title = t("estimated_hint");
      parts.push(tokens);
    }
    if (data.cost !== null && data.cost !== undefined && data.role === "assistant") {
      const cost = span("msg__cost", formatCost(data.cost));
      cost.title = t("cost_hint");
      parts.push(cost);
    }
    meta.replaceChildren(...parts);
  }

  // --- message actions ----------------------------------------------------------------

  async onClick(event) {
    const button = event.target.closest("button[data-action]");
    if (!button || !this.log.contains(button)) return;
    const el = button.closest(".msg");
    const entry = el ? this.entries.get(Number(el.dataset.id)) : null;
    if (!entry) return;
    switch (button.dataset.action) {
      case "copy":
        if (await copyText(entry.data.text)) flashCopied(button, t("copied"));
        else toast(t("copy_failed"), { kind: "error" });
        break;
      case "regenerate":
        this.actions.regenerate();
        break;
      case "edit":
        this.openEditor(entry);
        break;
      case "cancel-edit":
        this.closeEditor(entry);
        break;
      case "save-edit":
        this.saveEditor(entry);
        break;
      default:
        break;
    }
  }

  openEditor(entry) {
    if (entry.editor) return;
    const editor = document.createElement("div");
    editor.className = "msg__editor";
    const area = document.createElement("textarea");
    area.className = "msg__editor-input";
    area.value = entry.data.text;
    area.rows = 3;
    area.setAttribute("aria-label", t("edit_message"));
    const row = document.createElement("div");
    row.className = "msg__editor-actions";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "btn btn--ghost btn--sm";
    cancel.dataset.action = "cancel-edit";
    cancel.textContent = t("cancel");
    const save = document.createElement("button");
    save.type = "button";
    save.className = "btn btn--primary btn--sm";
    save.dataset.action = "save-edit";
    save.textContent = t("save_and_send");
    row.append(cancel, save);
    editor.append(area, row);
    area.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        this.closeEditor(entry);
      } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.saveEditor(entry);
      }
    });
    const grow = () => {
      area.style.height = "auto";
      area.style.height = `${Math.min(area.scrollHeight + 2, window.innerHeight * 0.5)}px`;
    };
    area.addEventListener("input", grow);
    entry.editor = editor;
    entry.el.classList.add("is-editing");
    entry.content.hidden = true;
    entry.content.after(editor);
    this.refreshActions();
    grow();
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);
  }

  closeEditor(entry) {
    if (!entry.editor) return;
    entry.editor.remove();
    entry.editor = null;
    entry.el.classList.remove("is-editing");
    this.render(entry);
    entry.buttons.edit?.focus();
  }

  saveEditor(entry) {
    const text = entry.editor.querySelector("textarea").value.trim();
    if (!text) return;
    if (text === entry.data.text.trim()) {
      this.closeEditor(entry);
      return;
    }
    if (!this.actions.edit(entry.data.id, text)) return;
    // Shown at once; put back by revertEdit() if the server refuses the edit.
    entry.previousText = entry.data.text;
    entry.data.text = text;
    this.closeEditor(entry);
  }

  // --- scrolling ----------------------------------------------------------------------

  distanceFromBottom() {
    const { scrollHeight, scrollTop, clientHeight } = this.scroller;
    return scrollHeight - scrollTop - clientHeight;
  }

  onScroll() {
    const top = this.scroller.scrollTop;
    if (top < this.lastScrollTop - 2) this.stick = false; // moved up: the reader wants to stay
    if (this.distanceFromBottom() <= STICK_DISTANCE_PX) this.stick = true;
    this.lastScrollTop = top;
    this.updateJumpButton();
  }

  keepPinned() {
    if (this.stick) this.scrollToBottom();
    else this.updateJumpButton();
  }

  scrollToBottom({ force = false, smooth = false } = {}) {
    if (force) this.stick = true;
    if (!this.stick) return;
    const top = this.scroller.scrollHeight;
    if (smooth) this.scroller.scrollTo({ top, behavior: "smooth" });
    else this.scroller.scrollTop = top;
    this.lastScrollTop = this.scroller.scrollTop;
    this.updateJumpButton();
  }

  updateJumpButton() {
    this.jumpButton.hidden = this.stick || this.distanceFromBottom() <= STICK_DISTANCE_PX;
  }
}
