// Pop-up menus are <details> elements; close them on a click elsewhere or on Escape.
export function initMenus() {
  const menus = () => document.querySelectorAll("details[data-menu][open]");
  document.addEventListener("click", (event) => {
    for (const menu of menus()) {
      if (!menu.contains(event.target)) menu.open = false;
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    for (const menu of menus()) {
      menu.open = false;
      menu.querySelector("summary")?.focus();
      event.preventDefault();
    }
  });
}

// Server messages (Django's messages framework) can be dismissed.
export function initFlashMessages() {
  for (const button of document.querySelectorAll("[data-dismiss]")) {
    button.addEventListener("click", () => button.closest(".flash__item")?.remove());
  }
}
