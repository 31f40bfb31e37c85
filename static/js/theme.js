// Light/dark theme: follows the system until the person picks one with the toggle; the
// choice is kept in localStorage and shown through <html data-theme="…">.
import { t } from "./i18n.js";

const STORAGE_KEY = "glmweb-theme";
const systemDark = window.matchMedia("(prefers-color-scheme: dark)");

function storedTheme() {
  try {
    const value = window.localStorage.getItem(STORAGE_KEY);
    return value === "light" || value === "dark" ? value : null;
  } catch {
    return null;
  }
}

export function effectiveTheme() {
  return storedTheme() || (systemDark.matches ? "dark" : "light");
}

function applyTheme(theme) {
  const root = document.documentElement;
  if (theme) root.setAttribute("data-theme", theme);
  else root.removeAttribute("data-theme");
  // The highlight.js themes are two stylesheets; only the one for the current theme applies.
  const light = document.getElementById("hljs-light");
  const dark = document.getElementById("hljs-dark");
  if (light && dark) {
    light.media = theme ? (theme === "light" ? "all" : "not all") : "not all and (prefers-color-scheme: dark)";
    dark.media = theme ? (theme === "dark" ? "all" : "not all") : "(prefers-color-scheme: dark)";
  }
}

function labelToggle(button) {
  const next = effectiveTheme() === "dark" ? "light" : "dark";
  const label = next === "dark" ? t("theme_to_dark") : t("theme_to_light");
  button.setAttribute("aria-label", label);
  button.title = label;
}

export function initThemeToggle(button) {
  if (!button) return;
  labelToggle(button);
  button.addEventListener("click", () => {
    const next = effectiveTheme() === "dark" ? "light" : "dark";
    try {
      window.localStorage.setItem(STORAGE_KEY, next);
    } catch {
      // Private modes may refuse storage; the choice then lasts for this page only.
    }
    applyTheme(next);
    labelToggle(button);
  });
  systemDark.addEventListener("change", () => labelToggle(button));
}
