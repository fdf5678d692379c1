// Loaded between RequireJS and the Jupyter widgets HTML manager (embed-amd.js) on pages that embed
// widget state. Written for this book (not from npm); `make book` copies it to _vendor/html-manager/.
//
// 1. The manager finds its icon fonts relative to where RequireJS thinks its module lives; tell
//    RequireJS (and the manager) that this is the folder this file was loaded from, so the fonts
//    load from the book itself, from file:// as well as over http.
// 2. ipywidgets 8 typesets widget labels with MathJax 2's `MathJax.Hub.Queue`; the book loads
//    MathJax 3, so give it a `Hub.Queue` that calls MathJax 3's `typesetPromise` instead.
(function () {
  "use strict";
  var here = document.currentScript.src.replace(/[?#].*$/, "").replace(/[^/]*$/, "");
  window.__jupyter_widgets_assets_path__ = here;
  if (window.require && typeof window.require.config === "function") {
    window.require.config({paths: {"@jupyter-widgets/html-manager/dist": here.slice(0, -1)}});
  }
  document.addEventListener("DOMContentLoaded", function () {
    var mathjax = window.MathJax;
    if (!mathjax || !mathjax.startup || mathjax.Hub) {
      return;
    }
    mathjax.Hub = {
      Queue: function (command) {
        var element = command && command[2];
        mathjax.startup.promise.then(function () {
          return mathjax.typesetPromise(element ? [element] : undefined);
        });
      }
    };
  });
})();
