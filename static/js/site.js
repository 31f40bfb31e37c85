// Entry point for every page: theme toggle, menus, the drawer and the conversation list.
import { initThemeToggle } from "./theme.js";
import { initDrawer } from "./drawer.js";
import { initMenus, initFlashMessages } from "./menus.js";
import { Sidebar } from "./sidebar.js";

initThemeToggle(document.getElementById("theme-toggle"));
initMenus();
initFlashMessages();
initDrawer();

const sidebar = document.getElementById("sidebar");
if (sidebar) new Sidebar(sidebar);
