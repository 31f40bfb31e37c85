// Photos, in the composer and in the conversation.
//
// PhotoTray holds the photos of the message being written. A file chosen with the attach
// button, dropped on the conversation or pasted is uploaded at once — with XMLHttpRequest,
// because fetch() reports no upload progress — and shown in a strip above the text box: a
// thumbnail, a progress bar while it uploads, an × to remove it, or the server's reason for
// refusing it. Files go up one at a time, in the order they were added: the server numbers
// them in that order (the history and the model see them so), and it decodes one big photo
// at a time instead of five at once. The server decides what a photo is; the browser's idea of a file's type is
// never trusted, so every file is sent and a refusal is shown as the server words it.
// Events: "change" (photos were added, uploaded, refused or removed).
//
// photoGallery() builds the thumbnails of a sent message; each opens the full image.
// Names and messages reach the page as text or attributes, never as markup.
import { csrfToken, postForm } from "./http.js";
import { icon } from "./icons.js";
import { t } from "./i18n.js";
import { toast } from "./toast.js";

// Shown size of a sent photo's longer side: tiny pictures are enlarged to stay clickable.
const GALLERY_SIDE_PX = 160; // CSS keeps the same maximum
const GALLERY_MIN_SIDE_PX = 64;

let nextKey = 1;

function hasFiles(event) {
  return Array.from(event.dataTransfer?.types || []).includes("Files");
}

/** Only the site's own paths are used as image sources or links. */
function sitePath(url) {
  return typeof url === "string" && url.startsWith("/") && !url.startsWith("//") ? url : null;
}

function landedOnLogin(xhr) {
  try {
    const login = document.body.dataset.loginUrl || "/accounts/login/";
    return new URL(xhr.responseURL).pathname === new URL(login, window.location.href).pathname;
  } catch {
    return false;
  }
}

/** The server's refusal ({"error": {"code", "message"}}, in the reader's language), or ours. */
function refusalMessage(xhr) {
  if (xhr.status === 403 || landedOnLogin(xhr)) return t("session_expired");
  try {
    const message = JSON.parse(xhr.responseText)?.error?.message;
    if (typeof message === "string" && message) return message;
  } catch {
    // Not JSON: a proxy's error page, say. Fall through to our own words.
  }
  if (xhr.status === 404) return t("conversation_missing");
  return t("photo_upload_failed");
}

export class PhotoTray extends EventTarget {
  constructor({ strip, message, note, input, button, dropZone, uploadUrl, deleteUrl, maxImages, visionModel, model }) {
    super();
    this.strip = strip;
    this.message = message;
    this.note = note;
    this.input = input;
    this.uploadUrl = uploadUrl;
    // A URL with the id 0 in it, e.g. "/attachments/0/delete/".
    this.deleteUrl = deleteUrl;
    this.maxImages = maxImages || 5;
    this.visionModel = visionModel || "";
    this.model = model || "";
    this.items = [];

    button.addEventListener("click", () => input.click());
    input.addEventListener("change", () => {
      this.add(Array.from(input.files || []));
      input.value = ""; // choosing the same file again is a new choice
    });
    this.watchDrops(dropZone);
    document.addEventListener("paste", (event) => {
      const files = Array.from(event.clipboardData?.files || []);
      if (!files.length) return; // ordinary text: the text box takes it
      event.preventDefault();
      this.add(files);
    });
    this.refresh();
  }

  // --- what the composer asks -----------------------------------------------------------

  /** Ids of the uploaded photos, in the order they were added. */
  readyIds() {
    return this.items.filter((item) => item.state === "ready").map((item) => item.payload.id);
  }

  uploading() {
    return this.items.some((item) => item.state === "uploading");
  }

  /** Forget the photos after they were sent (they belong to the message now). */
  clear() {
    for (const item of this.items) {
      if (item.state === "uploading") item.xhr?.abort();
      this.release(item);
      item.el.remove();
    }
    this.items = [];
    this.say("");
    this.changed();
  }

  setModel(model) {
    this.model = model || "";
    this.refresh();
  }

  // --- adding -------------------------------------------------------------------------

  watchDrops(zone) {
    let depth = 0; // dragenter/dragleave fire for every child the pointer crosses
    const highlight = (on) => zone.classList.toggle("is-drop-target", on);
    zone.addEventListener("dragenter", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth += 1;
      highlight(true);
    });
    zone.addEventListener("dragover", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      highlight(true);
    });
    zone.addEventListener("dragleave", (event) => {
      if (!hasFiles(event)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) highlight(false);
    });
    zone.addEventListener("drop", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth = 0;
      highlight(false);
      this.add(Array.from(event.dataTransfer.files || []));
    });
    // A file dropped just beside the conversation must not make the browser leave the page
    // to show it.
    for (const type of ["dragover", "drop"]) {
      window.addEventListener(type, (event) => {
        if (hasFiles(event) && !zone.contains(event.target)) event.preventDefault();
      });
    }
  }

  add(files) {
    if (!files.length) return;
    const room = Math.max(0, this.maxImages - this.counted());
    const taken = files.slice(0, room);
    this.say(taken.length < files.length ? t("photo_limit", { n: this.maxImages }) : "");
    for (const file of taken) this.upload(file);
    this.changed();
  }

  /** Photos that count towards the limit: refused files do not. */
  counted() {
    return this.items.filter((item) => item.state !== "failed").length;
  }

  upload(file) {
    const item = {
      key: nextKey++,
      file,
      name: file.name || t("photo"),
      state: "uploading", // waiting its turn, or on its way
      localUrl: URL.createObjectURL(file),
      payload: null,
      xhr: null, // set when its upload starts
    };
    this.build(item);
    this.items.push(item);
    this.strip.append(item.el);
    this.pump();
  }

  /** Starts the next waiting upload unless one is on its way. */
  pump() {
    const waiting = this.items.filter((item) => item.state === "uploading");
    if (!waiting.length || waiting.some((item) => item.xhr)) return;
    const [item] = waiting;
    const xhr = new XMLHttpRequest();
    item.xhr = xhr;
    xhr.open("POST", this.uploadUrl);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) item.bar.value = event.loaded / event.total;
    });
    xhr.addEventListener("load", () => this.onAnswer(item));
    xhr.addEventListener("error", () => this.fail(item, t("photo_upload_failed")));
    xhr.addEventListener("timeout", () => this.fail(item, t("photo_upload_failed")));
    const body = new FormData();
    body.append("file", item.file, item.name);
    item.file = null;
    xhr.send(body);
  }

  onAnswer(item) {
    if (!this.items.includes(item)) return;
    const { xhr } = item;
    let payload = null;
    if (xhr.status === 201 && !landedOnLogin(xhr)) {
      try {
        payload = JSON.parse(xhr.responseText);
      } catch {
        payload = null;
      }
    }
    if (!payload || typeof payload.id !== "number") {
      this.fail(item, refusalMessage(xhr));
      return;
    }
    item.state = "ready";
    item.payload = payload;
    item.el.dataset.id = String(payload.id);
    const thumbnail = sitePath(payload.thumbnail_url);
    if (thumbnail) {
      item.img.hidden = false;
      item.img.src = thumbnail;
    }
    this.release(item);
    this.update(item);
    this.changed();
    this.pump();
  }

  fail(item, message) {
    if (!this.items.includes(item) || item.state !== "uploading") return;
    item.state = "failed";
    item.error.textContent = message;
    item.img.hidden = true; // the server says it is not a photo: do not try to show it
    this.release(item);
    this.update(item);
    this.changed();
    this.pump();
  }

  // --- removing -----------------------------------------------------------------------

  remove(item) {
    const index = this.items.indexOf(item);
    if (index < 0) return;
    if (item.state === "uploading") item.xhr?.abort();
    if (item.state === "ready") {
      postForm(this.deleteUrl.replace("/0/", `/${item.payload.id}/`)).catch(() => {
        toast(t("photo_remove_failed"), { kind: "error" });
      });
    }
    this.items.splice(index, 1);
    this.release(item);
    const next = this.items[index] || this.items[index - 1];
    item.el.remove();
    if (next) next.removeButton.focus();
    else this.input.closest("form")?.querySelector("textarea")?.focus();
    if (this.counted() < this.maxImages) this.say("");
    this.changed();
    this.pump();
  }

  release(item) {
    if (item.localUrl) URL.revokeObjectURL(item.localUrl);
    item.localUrl = null;
  }

  // --- drawing ------------------------------------------------------------------------

  build(item) {
    const el = document.createElement("li");
    el.className = "photo-chip";
    el.dataset.name = item.name;
    const frame = document.createElement("div");
    frame.className = "photo-chip__frame";
    const img = document.createElement("img");
    img.className = "photo-chip__img";
    img.alt = item.name;
    img.src = item.localUrl;
    // A file the browser cannot draw (HEIC, or not an image at all) shows an icon meanwhile.
    img.addEventListener("error", () => {
      img.hidden = true;
    });
    const bar = document.createElement("progress");
    bar.className = "photo-chip__progress";
    bar.max = 1;
    bar.value = 0;
    bar.setAttribute("aria-label", t("uploading_photo", { name: item.name }));
    frame.append(img, icon("alert", "icon photo-chip__icon"), bar);
    const text = document.createElement("div");
    text.className = "photo-chip__text";
    const name = document.createElement("span");
    name.className = "photo-chip__name";
    name.textContent = item.name;
    const error = document.createElement("span");
    error.className = "photo-chip__error";
    error.setAttribute("role", "alert");
    text.append(name, error);
    const removeButton = document.createElement("button");
    removeButton.type = "button";
    removeButton.className = "photo-chip__remove";
    const label = t("remove_photo", { name: item.name });
    removeButton.setAttribute("aria-label", label);
    removeButton.title = label;
    removeButton.append(icon("close"));
    removeButton.addEventListener("click", () => this.remove(item));
    el.append(frame, text, removeButton);
    Object.assign(item, { el, img, bar, error, removeButton });
    this.update(item);
  }

  update(item) {
    item.el.dataset.state = item.state;
    item.bar.hidden = item.state !== "uploading";
  }

  say(text) {
    this.message.textContent = text;
    this.message.hidden = !text;
  }

  changed() {
    this.refresh();
    this.dispatchEvent(new CustomEvent("change"));
  }

  refresh() {
    this.strip.hidden = this.items.length === 0;
    // Every chat model reads text only: photos are answered by the vision model instead.
    this.note.hidden = !(this.counted() > 0 && this.visionModel && this.model !== this.visionModel);
    this.note.textContent = t("photos_answered_by", { model: this.visionModel });
  }
}

// --- sent photos --------------------------------------------------------------------------

/** Shown size of a thumbnail, so the page does not jump when the image arrives. */
function shownSize(photo) {
  const width = Number(photo.width) || GALLERY_SIDE_PX;
  const height = Number(photo.height) || GALLERY_SIDE_PX;
  const longer = Math.max(width, height);
  const scale = Math.min(GALLERY_SIDE_PX, Math.max(GALLERY_MIN_SIDE_PX, longer)) / longer;
  // A very long and thin picture gets a box it can be seen in (CSS crops it to fit).
  const shown = (side) => Math.max(GALLERY_MIN_SIDE_PX / 2, Math.round(side * scale));
  return { width: shown(width), height: shown(height) };
}

/** The thumbnails of a sent message, as a list of <figure> elements. */
export function photoFigures(attachments) {
  const figures = [];
  for (const photo of attachments || []) {
    const full = sitePath(photo.url);
    const thumbnail = sitePath(photo.thumbnail_url);
    if (!full || !thumbnail) continue;
    const name = photo.name || t("photo");
    const figure = document.createElement("figure");
    figure.className = "msg__photo";
    figure.dataset.id = String(photo.id);
    const link = document.createElement("a");
    link.className = "msg__photo-link";
    link.href = full;
    link.target = "_blank";
    link.rel = "noopener";
    link.title = t("open_photo", { name });
    const img = document.createElement("img");
    img.className = "msg__photo-img";
    img.src = thumbnail;
    img.alt = name;
    img.decoding = "async";
    const size = shownSize(photo);
    img.width = size.width;
    img.height = size.height;
    link.append(img);
    link.addEventListener("click", (event) => {
      // A modified click keeps its usual meaning (new tab, download…).
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      openLightbox({ url: full, name, width: photo.width, height: photo.height });
    });
    figure.append(link);
    if (photo.resized_for_model) {
      const caption = document.createElement("figcaption");
      caption.className = "msg__photo-note";
      caption.textContent = t("resized_for_model");
      figure.append(caption);
    }
    figures.push(figure);
  }
  return figures;
}

// --- the lightbox -------------------------------------------------------------------------

let lightbox = null;

function buildLightbox() {
  const dialog = document.createElement("dialog");
  dialog.className = "lightbox";
  const img = document.createElement("img");
  img.className = "lightbox__img";
  const caption = document.createElement("p");
  caption.className = "lightbox__caption";
  const close = document.createElement("button");
  close.type = "button";
  close.className = "lightbox__close";
  close.setAttribute("aria-label", t("close"));
  close.title = t("close");
  close.append(icon("close"));
  close.addEventListener("click", () => dialog.close());
  // A click beside the picture (on the backdrop) closes it too.
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close();
  });
  // Escape closes the picture and nothing else (it would otherwise also stop a reply).
  dialog.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.preventDefault();
    dialog.close();
  });
  dialog.addEventListener("close", () => img.removeAttribute("src"));
  dialog.append(img, caption, close);
  document.body.append(dialog);
  return { dialog, img, caption, close };
}

export function openLightbox({ url, name, width, height }) {
  if (!lightbox || !lightbox.dialog.isConnected) lightbox = buildLightbox();
  const { dialog, img, caption, close } = lightbox;
  img.src = url;
  img.alt = name;
  const size = width && height ? t("photo_size", { width, height }) : "";
  caption.textContent = size ? `${name} · ${size}` : name;
  if (!dialog.open) dialog.showModal();
  close.focus();
}
