// On narrow screens the conversation list is a drawer that slides in from the left.
const OPEN_CLASS = "drawer-open";
const DESKTOP = window.matchMedia("(min-width: 861px)");

export function initDrawer() {
  const toggle = document.querySelector("[data-drawer-toggle]");
  const sidebar = document.getElementById("sidebar");
  if (!toggle || !sidebar) return;
  const root = document.documentElement;

  const setOpen = (open) => {
    root.classList.toggle(OPEN_CLASS, open);
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    // Off-screen links must not take keyboard focus while the drawer is closed.
    sidebar.inert = !open && !DESKTOP.matches;
    if (open) sidebar.querySelector("input, button, a")?.focus();
  };

  toggle.addEventListener("click", () => setOpen(!root.classList.contains(OPEN_CLASS)));
  for (const closer of document.querySelectorAll("[data-drawer-close]")) {
    closer.addEventListener("click", () => setOpen(false));
  }
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && root.classList.contains(OPEN_CLASS) && !event.defaultPrevented) {
      event.preventDefault();
      setOpen(false);
      toggle.focus();
    }
  });
  DESKTOP.addEventListener("change", () => setOpen(false));
  setOpen(false);
}
