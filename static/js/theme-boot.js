// Runs as a classic, blocking script in <head> so a stored theme choice applies before the
// first paint (a module would run too late and the page would flash in the wrong theme).
(function () {
  var root = document.documentElement;
  root.classList.add("js");
  var theme = null;
  try {
    theme = window.localStorage.getItem("glmweb-theme");
  } catch (e) {
    theme = null;
  }
  if (theme !== "light" && theme !== "dark") return;
  root.setAttribute("data-theme", theme);
  var light = document.getElementById("hljs-light");
  var dark = document.getElementById("hljs-dark");
  if (light && dark) {
    light.media = theme === "light" ? "all" : "not all";
    dark.media = theme === "dark" ? "all" : "not all";
  }
})();
