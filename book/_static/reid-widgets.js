// Live ipywidgets in the online book, without any page depending on them.
//
// The book build stores the widget state of every executed notebook, and myst-nb writes
// it into the page as <script type="application/vnd.jupyter.widget-state+json">. On such a
// page this script fetches RequireJS and the ipywidgets HTML manager from their CDN, but
// only after the page has loaded, so RequireJS cannot capture the theme's own scripts.
// The manager then draws each widget's initial view. Offline (or with the CDN blocked)
// the downloads fail quietly: the static view of each explorer, drawn when the book was
// built, is what the reader sees, and nothing else on the page changes.
// <html data-reid-widgets> says how it went: none, loading, live or static (for tests).
(function () {
  "use strict";
  var CDN = "https://cdn.jsdelivr.net/npm/";
  var SCRIPTS = [
    {src: "https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.4/require.min.js",
     attrs: {integrity: "sha256-Ae2Vz/4ePdIu6ZyI/5ZGsYnb+m0JlOmKPjt6XZ9JJkA=", crossorigin: "anonymous"}},
    {src: CDN + "@jupyter-widgets/html-manager@1.0.6/dist/embed-amd.js",
     attrs: {"data-jupyter-widgets-cdn": CDN, crossorigin: "anonymous"}},
  ];

  function status(s) { document.documentElement.dataset.reidWidgets = s; }

  function load(i) {
    if (i >= SCRIPTS.length) return status("live");
    var s = document.createElement("script");
    s.src = SCRIPTS[i].src;
    Object.keys(SCRIPTS[i].attrs).forEach(function (k) { s.setAttribute(k, SCRIPTS[i].attrs[k]); });
    s.onload = function () { load(i + 1); };
    s.onerror = function () {
      console.info("reid-widgets: " + SCRIPTS[i].src + " is not reachable; the static views stay.");
      status("static");
    };
    document.head.appendChild(s);
  }

  window.addEventListener("load", function () {
    if (!document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]')) return status("none");
    status("loading");
    load(0);
  });
})();
