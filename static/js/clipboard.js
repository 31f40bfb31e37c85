// Copying text, with a fallback for pages served over plain HTTP (no Clipboard API there).
import { icon } from "./icons.js";

export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Permission refused or document not focused: try the old way below.
    }
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "offscreen";
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  area.remove();
  return copied;
}

/** Shows `doneLabel` and a tick on a button for a moment after a successful copy. */
export function flashCopied(button, doneLabel) {
  if (button.classList.contains("is-done")) return;
  button.classList.add("is-done");
  const original = button.querySelector("svg");
  const tick = icon("check", original ? original.getAttribute("class") : "icon");
  if (original) original.replaceWith(tick);
  const previous = button.getAttribute("aria-label");
  const label = button.querySelector("[data-role=label]");
  const previousText = label ? label.textContent : null;
  if (label) label.textContent = doneLabel;
  button.setAttribute("aria-label", doneLabel);
  window.setTimeout(() => {
    button.classList.remove("is-done");
    if (original) tick.replaceWith(original);
    if (previous !== null) button.setAttribute("aria-label", previous);
    if (label) label.textContent = previousText;
  }, 1600);
}
