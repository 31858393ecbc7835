// Apply the saved theme before the first paint (no flash of the wrong colours). A file of its
// own, loaded by a blocking <script> in the head: the Content-Security-Policy allows no inline
// script.
(function () {
  var saved = null;
  try { saved = localStorage.getItem("av-theme"); } catch (e) { /* private mode */ }
  var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.dataset.theme = saved || (dark ? "dark" : "light");
})();
