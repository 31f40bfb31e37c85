// Translated interface strings for scripts. The page renders them (already in the reader's
// language) as JSON in <script type="application/json" id="i18n-strings">; a page may add its
// own in id="i18n-page-strings", merged over the site-wide ones.
let strings = null;

function parse(id) {
  const element = document.getElementById(id);
  try {
    return element ? JSON.parse(element.textContent) : {};
  } catch {
    return {};
  }
}

function load() {
  strings = { ...parse("i18n-strings"), ...parse("i18n-page-strings") };
}

/** The string for `key`, with `{name}` placeholders filled from `values`. */
export function t(key, values) {
  if (strings === null) load();
  const text = Object.hasOwn(strings, key) ? strings[key] : key;
  if (!values) return text;
  return text.replace(/\{(\w+)\}/g, (match, name) => (Object.hasOwn(values, name) ? String(values[name]) : match));
}

/** Reads a JSON value rendered with Django's json_script filter. */
export function readJSON(id, fallback = null) {
  const element = document.getElementById(id);
  if (!element) return fallback;
  try {
    return JSON.parse(element.textContent);
  } catch {
    return fallback;
  }
}
