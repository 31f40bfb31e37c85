// The conversation list: more pages as it scrolls, search as you type, rename in place,
// delete after a confirmation. Listens for "glm:conversation-title" and
// "glm:conversation-activity" events from the chat page.
import { getJSON, postForm } from "./http.js";
import { icon } from "./icons.js";
import { t } from "./i18n.js";
import { toast } from "./toast.js";

const SEARCH_DELAY_MS = 300;
const ID_PLACEHOLDER = "2147483647";
const TITLE_MAX = 200;

export class Sidebar {
  constructor(root) {
    this.root = root;
    this.list = root.querySelector("[data-role=list]");
    this.scrollBox = root.querySelector("[data-role=scroll]");
    this.sentinel = root.querySelector("[data-role=sentinel]");
    this.statusLine = root.querySelector("[data-role=list-status]");
    this.searchForm = root.querySelector("[data-role=search]");
    this.searchInput = this.searchForm?.querySelector("input[type=search]");
    this.apiUrl = root.dataset.apiUrl;
    this.renameTemplate = root.dataset.renameUrl;
    this.deleteTemplate = root.dataset.deleteUrl;
    this.homeUrl = root.dataset.homeUrl;
    this.currentId = root.dataset.currentId || "";
    this.nextPage = Number.parseInt(root.dataset.nextPage, 10) || null;
    this.query = this.searchInput ? this.searchInput.value.trim() : "";
    this.loading = false;
    this.generation = 0;
    this.controller = null;
    this.searchTimer = null;

    this.list.addEventListener("click", (event) => this.onClick(event));
    this.searchInput?.addEventListener("input", () => {
      window.clearTimeout(this.searchTimer);
      this.searchTimer = window.setTimeout(() => this.search(this.searchInput.value.trim()), SEARCH_DELAY_MS);
    });
    this.searchForm?.addEventListener("submit", (event) => {
      event.preventDefault();
      window.clearTimeout(this.searchTimer);
      this.search(this.searchInput.value.trim());
    });
    this.searchInput?.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.searchInput.value) {
        event.preventDefault();
        this.searchInput.value = "";
        this.search("");
      }
    });

    this.observer = new IntersectionObserver((items) => {
      if (items.some((item) => item.isIntersecting)) this.loadMore();
    }, { root: this.scrollBox, rootMargin: "0px 0px 200px 0px" });
    this.observer.observe(this.sentinel);

    document.addEventListener("glm:conversation-title", (event) => this.setTitle(event.detail.id, event.detail.title));
    document.addEventListener("glm:conversation-activity", (event) => this.bump(event.detail.id));
  }

  urlFor(template, id) {
    return template.replace(ID_PLACEHOLDER, String(id));
  }

  item(id) {
    return this.list.querySelector(`.conv[data-id="${CSS.escape(String(id))}"]`);
  }

  // --- loading ------------------------------------------------------------------------

  async fetchPage(page, query) {
    const params = new URLSearchParams({ page: String(page) });
    if (query) params.set("q", query);
    this.controller?.abort();
    this.controller = new AbortController();
    return getJSON(`${this.apiUrl}?${params}`, { signal: this.controller.signal });
  }

  sentinelVisible() {
    const box = this.scrollBox.getBoundingClientRect();
    const mark = this.sentinel.getBoundingClientRect();
    return mark.top < box.bottom + 200;
  }

  async loadMore() {
    if (this.loading || !this.nextPage) return;
    const generation = this.generation;
    this.loading = true;
    this.setStatus(t("loading"));
    try {
      const data = await this.fetchPage(this.nextPage, this.query);
      if (generation !== this.generation) return;
      this.append(data.results || []);
      this.nextPage = data.next_page || null;
      this.setStatus("");
    } catch (error) {
      if (error.name === "AbortError" || generation !== this.generation) return;
      this.setStatus(t("load_failed"), true);
      return;
    } finally {
      if (generation === this.generation) this.loading = false;
    }
    // A short page may leave the sentinel in view, and the observer only reports changes.
    if (this.nextPage && this.sentinelVisible()) this.loadMore();
  }

  async search(query) {
    if (query === this.query && !this.loading) return;
    this.query = query;
    this.generation += 1;
    const generation = this.generation;
    this.loading = true;
    this.setStatus(t("loading"));
    try {
      const data = await this.fetchPage(1, query);
      if (generation !== this.generation) return;
      this.list.replaceChildren();
      this.append(data.results || []);
      this.nextPage = data.next_page || null;
      this.setStatus(this.list.children.length ? "" : query ? t("no_results") : t("no_conversations"));
      this.scrollBox.scrollTop = 0;
    } catch (error) {
      if (error.name === "AbortError" || generation !== this.generation) return;
      this.setStatus(t("load_failed"), true);
    } finally {
      if (generation === this.generation) this.loading = false;
    }
    if (this.nextPage && this.sentinelVisible()) this.loadMore();
  }

  setStatus(text, isError = false) {
    this.statusLine.textContent = text;
    this.statusLine.hidden = !text;
    this.statusLine.classList.toggle("is-error", isError);
  }

  append(results) {
    for (const conversation of results) {
      if (this.item(conversation.id)) continue;
      this.list.append(this.buildItem(conversation));
    }
    this.list.querySelector(".sidebar__empty")?.remove();
  }

  buildItem({ id, title, url }) {
    const item = document.createElement("li");
    item.className = "conv";
    item.dataset.id = String(id);
    const link = document.createElement("a");
    link.className = "conv__link";
    link.href = url;
    if (String(id) === this.currentId) {
      item.classList.add("is-active");
      link.setAttribute("aria-current", "page");
    }
    const label = document.createElement("span");
    label.className = "conv__title";
    label.textContent = title || t("new_chat");
    link.append(label);
    const actions = document.createElement("div");
    actions.className = "conv__actions";
    const rename = document.createElement("button");
    rename.type = "button";
    rename.className = "conv__action";
    rename.dataset.action = "rename";
    rename.setAttribute("aria-label", t("rename"));
    rename.title = t("rename");
    rename.append(icon("edit"));
    const remove = document.createElement("a");
    remove.className = "conv__action conv__action--danger";
    remove.dataset.action = "delete";
    remove.href = this.urlFor(this.deleteTemplate, id);
    remove.setAttribute("aria-label", t("delete"));
    remove.title = t("delete");
    remove.append(icon("trash"));
    actions.append(rename, remove);
    item.append(link, actions);
    return item;
  }

  // --- updates from the chat page -----------------------------------------------------

  setTitle(id, title) {
    const label = this.item(id)?.querySelector(".conv__title");
    if (label) label.textContent = title || t("new_chat");
  }

  bump(id) {
    const item = this.item(id);
    if (item && !this.query && item !== this.list.firstElementChild) this.list.prepend(item);
  }

  // --- rename and delete --------------------------------------------------------------

  onClick(event) {
    const control = event.target.closest("[data-action]");
    if (!control || !this.list.contains(control)) return;
    const item = control.closest(".conv");
    if (control.dataset.action === "rename") {
      event.preventDefault();
      this.startRename(item);
    } else if (control.dataset.action === "delete") {
      event.preventDefault();
      this.remove(item);
    }
  }

  startRename(item) {
    if (item.querySelector(".conv__rename")) return;
    const link = item.querySelector(".conv__link");
    const label = item.querySelector(".conv__title");
    const original = label.textContent;
    const input = document.createElement("input");
    input.type = "text";
    input.className = "conv__rename";
    input.maxLength = TITLE_MAX;
    input.value = original === t("new_chat") ? "" : original;
    input.setAttribute("aria-label", t("rename"));
    link.hidden = true;
    item.classList.add("is-renaming");
    item.prepend(input);
    input.focus();
    input.select();

    let finished = false;
    const finish = async (save) => {
      if (finished) return;
      finished = true;
      const title = input.value.trim();
      input.remove();
      link.hidden = false;
      item.classList.remove("is-renaming");
      if (!save || !title || title === original) return;
      label.textContent = title;
      try {
        await postForm(this.urlFor(this.renameTemplate, item.dataset.id), { title });
        document.dispatchEvent(new CustomEvent("glm:conversation-renamed", { detail: { id: item.dataset.id, title } }));
      } catch {
        label.textContent = original;
        toast(t("rename_failed"), { kind: "error" });
      }
    };
    input.addEventListener("keydown", (event) => {
      if (event.isComposing || event.keyCode === 229) return;
      if (event.key === "Enter") {
        event.preventDefault();
        finish(true);
      } else if (event.key === "Escape") {
        event.preventDefault();
        finish(false);
        link.focus();
      }
    });
    input.addEventListener("blur", () => finish(true));
  }

  async remove(item) {
    const title = item.querySelector(".conv__title").textContent;
    if (!window.confirm(t("confirm_delete", { title }))) return;
    item.classList.add("is-busy");
    try {
      await postForm(this.urlFor(this.deleteTemplate, item.dataset.id));
    } catch {
      item.classList.remove("is-busy");
      toast(t("delete_failed"), { kind: "error" });
      return;
    }
    if (item.dataset.id === this.currentId) {
      window.location.assign(this.homeUrl);
      return;
    }
    item.remove();
    if (!this.list.children.length) this.setStatus(this.query ? t("no_results") : t("no_conversations"));
  }
}
