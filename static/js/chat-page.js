// Entry point of the conversation page: wires the socket, the message view, the composer and
// its photos.
import { PhotoTray } from "./attachments.js";
import { ChatSocket } from "./chat-socket.js";
import { ChatView } from "./chat-view.js";
import { Composer } from "./composer.js";
import { readJSON, t } from "./i18n.js";

// Refusals of a frame (nothing changed); any other code is a failed reply.
const REFUSALS = new Set([
  "bad_json", "unknown_type", "missing_field", "too_long", "empty", "busy",
  "nothing_to_regenerate", "not_found", "nothing_to_stop", "too_many_images",
]);
const PENDING_TIMEOUT_MS = 20000;

const config = readJSON("chat-config", {});
const titleElement = document.getElementById("chat-title");
const modelElement = document.getElementById("chat-model");
const siteName = document.body.dataset.siteName || "GLM Web";

const socket = new ChatSocket(config.ws_path);
// What this tab asked for and has not yet seen answered: {kind, text?, id?, timer}.
let pending = null;

const view = new ChatView({
  scroller: document.getElementById("chat-scroll"),
  log: document.getElementById("chat-log"),
  empty: document.getElementById("chat-empty"),
  loading: document.getElementById("chat-loading"),
  jumpButton: document.getElementById("chat-jump"),
  actions: {
    regenerate: () => perform({ type: "regenerate" }, { kind: "regenerate" }),
    edit: (id, text) => perform({ type: "edit", message_id: id, text }, { kind: "edit", id }),
  },
});

const composerForm = document.getElementById("composer");
const photoStrip = composerForm.querySelector("[data-role=photos]");
const photos = new PhotoTray({
  strip: photoStrip,
  message: composerForm.querySelector("[data-role=photo-message]"),
  note: composerForm.querySelector("[data-role=photo-note]"),
  input: composerForm.querySelector("[data-role=photo-input]"),
  button: composerForm.querySelector("[data-role=attach]"),
  dropZone: document.getElementById("main"),
  uploadUrl: photoStrip.dataset.uploadUrl,
  deleteUrl: photoStrip.dataset.deleteUrl,
  maxImages: config.max_images,
  visionModel: config.vision_model,
  model: config.model,
});

const composer = new Composer(composerForm, {
  maxChars: config.max_message_chars,
  photos,
  onSend: (text, attachments) => {
    const frame = { type: "send", text, attachments };
    if (perform(frame, { kind: "send", text })) view.scrollToBottom({ force: true });
  },
  onStop: () => perform({ type: "stop" }, { kind: "stop" }),
});
photos.addEventListener("change", () => composer.refresh());

function sent() {
  composer.clear();
  photos.clear();
}

function perform(frame, meta) {
  if (pending || !socket.send(frame)) return false;
  view.clearNotice();
  pending = { ...meta, timer: window.setTimeout(() => settle(), PENDING_TIMEOUT_MS) };
  sync();
  return true;
}

function settle() {
  if (!pending) return;
  window.clearTimeout(pending.timer);
  pending = null;
  sync();
}

function sync() {
  view.setLocked(pending !== null);
  let mode;
  if (!socket.isOpen) mode = "offline";
  else if (pending?.kind === "stop") mode = "stopping";
  else if (view.phase) mode = view.phase;
  else if (pending) mode = "sending";
  else mode = "idle";
  composer.setMode(mode);
}

function setTitle(title) {
  const shown = title || t("new_chat");
  titleElement.textContent = shown;
  document.title = `${shown} · ${siteName}`;
}

// --- frames -----------------------------------------------------------------------------

socket.addEventListener("frame", (event) => {
  const frame = event.detail;
  if (frame.type === "error") onError(frame);
  else view.apply(frame);

  if (frame.type === "history" && pending) {
    // Reconnected with a request in flight: the history says whether it landed.
    if (pending.kind === "send" && view.lastUserText()?.trim() === pending.text) sent();
    settle();
  }
  if (frame.type === "done" && pending?.kind === "stop") settle();
  sync();
});

view.addEventListener("message", (event) => {
  const { message, isNew } = event.detail;
  if (message.role === "user" && isNew) {
    document.dispatchEvent(new CustomEvent("glm:conversation-activity", { detail: { id: config.conversation_id } }));
  }
  if (!pending) return;
  if (pending.kind === "send" && message.role === "user" && isNew) {
    sent();
    view.scrollToBottom({ force: true });
    settle();
  } else if (pending.kind === "edit" && message.role === "user" && message.id === pending.id) {
    settle();
  } else if (message.role === "assistant" && message.status === "streaming" && pending.kind !== "stop") {
    settle();
  }
});

view.addEventListener("phase", () => sync());
view.addEventListener("gap", () => socket.resync());
view.addEventListener("title", (event) => {
  setTitle(event.detail.title);
  document.dispatchEvent(new CustomEvent("glm:conversation-title", {
    detail: { id: config.conversation_id, title: event.detail.title },
  }));
});
view.addEventListener("conversation", (event) => {
  const { conversation } = event.detail;
  setTitle(conversation.title);
  if (modelElement && conversation.model) modelElement.textContent = conversation.model;
  if (conversation.model) photos.setModel(conversation.model);
});
document.addEventListener("glm:conversation-renamed", (event) => {
  if (String(event.detail.id) === String(config.conversation_id)) setTitle(event.detail.title);
});

function onError(frame) {
  const code = String(frame.code || "");
  const was = pending;
  if (was && code !== "nothing_to_stop") {
    if (was.kind === "edit") view.revertEdit(was.id);
    settle(); // a refused send keeps its text in the box
  } else if (was?.kind === "stop") {
    settle();
  }
  if (code === "nothing_to_stop") return; // the reply ended just before the stop arrived
  if (REFUSALS.has(code)) view.showNotice(frame.message || t("error_generic"));
  else view.attachError({ code, message: frame.message || t("error_generic") });
}

// --- connection -------------------------------------------------------------------------

socket.addEventListener("state", (event) => {
  const { state, code, retryIn } = event.detail;
  if (state === "connecting") composer.setConnectionText(t("connecting"));
  else if (state === "waiting") {
    composer.setConnectionText(t("reconnecting", { seconds: Math.max(1, Math.round(retryIn / 1000)) }));
  } else if (state === "closed") {
    const text = code === 4401 ? t("session_expired") : t("conversation_missing");
    composer.setConnectionText(text);
    view.showNotice(text);
    document.getElementById("chat-loading").hidden = true;
    settle();
  } else composer.setConnectionText(null);
  // A request in flight when the connection dropped stays pending: the history frame after
  // reconnecting tells whether it landed.
  sync();
});

socket.connect();
if (window.matchMedia("(hover: hover) and (pointer: fine)").matches) composer.focus();
