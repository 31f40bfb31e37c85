// Model text → safe DOM. Markdown is rendered with raw HTML disabled, the result always goes
// through DOMPurify with a short allow-list, and only then is it put in the page. Code blocks
// get highlighting and a copy button.
import markdownit from "../vendor/markdown-it/markdown-it.min.js";
import hljs from "../vendor/highlight/highlight.min.js";
import "../vendor/dompurify/purify.min.js"; // UMD build: defines globalThis.DOMPurify

import { copyText, flashCopied } from "./clipboard.js";
import { icon } from "./icons.js";
import { t } from "./i18n.js";

const AUTO_DETECT_LIMIT = 8000; // characters; guessing a language is slow on long blocks
let autoDetect = true;

function highlight(code, language) {
  try {
    if (language && hljs.getLanguage(language)) {
      return hljs.highlight(code, { language, ignoreIllegals: true }).value;
    }
    if (!language && autoDetect && code.length <= AUTO_DETECT_LIMIT) {
      return hljs.highlightAuto(code).value;
    }
  } catch {
    // Fall through: markdown-it escapes the plain text itself.
  }
  return "";
}

const md = markdownit({ html: false, linkify: true, breaks: true, typographer: false, highlight });

// Images are shown as links: loading them would let a reply make the browser fetch any URL.
md.renderer.rules.image = (tokens, index) => {
  const token = tokens[index];
  const src = token.attrGet("src") || "";
  const alt = token.content || src;
  return `<a href="${md.utils.escapeHtml(src)}">${md.utils.escapeHtml(alt)}</a>`;
};

// Tables scroll sideways inside their own box instead of widening the chat.
md.renderer.rules.table_open = () => '<div class="table-wrap"><table>\n';
md.renderer.rules.table_close = () => "</table></div>\n";

// Column alignment arrives as a style attribute, which the sanitiser drops; use classes.
md.core.ruler.push("align_classes", (state) => {
  for (const token of state.tokens) {
    if (token.type !== "th_open" && token.type !== "td_open") continue;
    const style = token.attrGet("style");
    if (!style) continue;
    const match = /text-align:\s*(left|center|right)/.exec(style);
    token.attrs = token.attrs.filter(([name]) => name !== "style");
    if (match) token.attrSet("class", `align-${match[1]}`);
  }
});

const purifier = globalThis.DOMPurify(window);

const ALLOWED_TAGS = [
  "a", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6",
  "hr", "i", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table", "tbody", "td",
  "th", "thead", "tr", "ul",
];
const SAFE_CLASS = /^(?:language-[\w+#.-]{1,40}|hljs(?:-[\w-]{1,40})?|[a-z]{1,20}_|align-(?:left|center|right)|table-wrap)$/;

purifier.setConfig({
  ALLOWED_TAGS,
  ALLOWED_ATTR: ["href", "title", "class", "start"],
  FORBID_TAGS: ["style", "script", "iframe", "frame", "object", "embed", "form", "input", "button",
    "textarea", "select", "svg", "math", "img", "video", "audio", "link", "meta", "base"],
  FORBID_ATTR: ["style", "id", "name", "srcset", "src"],
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
  ALLOWED_URI_REGEXP: /^(?:https?:\/\/|mailto:|#)/i,
  RETURN_DOM_FRAGMENT: true,
});

purifier.addHook("afterSanitizeAttributes", (node) => {
  if (node.hasAttribute("class")) {
    const kept = node.getAttribute("class").split(/\s+/).filter((name) => SAFE_CLASS.test(name));
    if (kept.length) node.setAttribute("class", kept.join(" "));
    else node.removeAttribute("class");
  }
  if (node.tagName === "A") {
    if (node.hasAttribute("href")) {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer");
    }
  }
});

function languageOf(code) {
  for (const name of code.classList) {
    if (name.startsWith("language-")) return name.slice("language-".length);
  }
  return "";
}

function decorateCodeBlocks(root) {
  for (const pre of root.querySelectorAll("pre")) {
    const code = pre.querySelector("code");
    if (!code) continue;
    code.classList.add("hljs");
    const block = document.createElement("div");
    block.className = "code-block";
    const bar = document.createElement("div");
    bar.className = "code-block__bar";
    const language = document.createElement("span");
    language.className = "code-block__lang";
    language.textContent = languageOf(code) || t("code");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "code-block__copy";
    button.setAttribute("aria-label", t("copy_code"));
    const label = document.createElement("span");
    label.dataset.role = "label";
    label.textContent = t("copy");
    button.append(icon("copy"), label);
    button.addEventListener("click", async () => {
      if (await copyText(code.textContent)) flashCopied(button, t("copied"));
    });
    bar.append(language, button);
    pre.replaceWith(block);
    block.append(bar, pre);
  }
}

/** The sanitised fragment for `text` (markdown). Nothing in it can run script. */
export function markdownFragment(text, { streaming = false } = {}) {
  // While a reply streams, skip language guessing: it would run again on every update.
  autoDetect = !streaming;
  const fragment = purifier.sanitize(md.render(text));
  decorateCodeBlocks(fragment);
  return fragment;
}

/** Replaces the children of `target` with `text` rendered as markdown. */
export function renderMarkdown(target, text, options) {
  target.replaceChildren(markdownFragment(text, options));
}
