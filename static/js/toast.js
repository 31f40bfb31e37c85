// Short-lived text notifications in a corner of the screen (always plain text).
let region = null;

function ensureRegion() {
  if (region && region.isConnected) return region;
  region = document.createElement("div");
  region.className = "toast-region";
  region.setAttribute("role", "status");
  region.setAttribute("aria-live", "polite");
  document.body.append(region);
  return region;
}

export function toast(message, { kind = "info", timeout = 4000 } = {}) {
  const item = document.createElement("div");
  item.className = `toast toast--${kind}`;
  item.textContent = message;
  ensureRegion().append(item);
  window.setTimeout(() => {
    item.classList.add("is-leaving");
    window.setTimeout(() => item.remove(), 250);
  }, timeout);
}
