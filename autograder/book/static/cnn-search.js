// Search snippets offline (autograder/book/sphinx.py): Sphinx's search fetches each result's page
// to show a snippet under it, and a browser refuses that for a book opened from file://. The build
// wrote every page's text into cnn-search-pages.js (window.CNN_SEARCH_PAGES, by page name); this
// answers the search's requests for those pages from it and lets every other request through.
(function () {
  "use strict";
  var pages = window.CNN_SEARCH_PAGES || {};
  var realFetch = window.fetch.bind(window);
  window.fetch = function (resource, options) {
    var url = typeof resource === "string" ? resource : (resource && resource.url);
    if (url) {
      var root = new URL(document.documentElement.dataset.content_root || "./", window.location.href).href;
      var absolute = new URL(url, window.location.href);
      var key = absolute.href.split(/[?#]/)[0];
      if (key.indexOf(root) === 0) {
        var name = decodeURIComponent(key.slice(root.length)).replace(/\.html$/, "");
        if (Object.prototype.hasOwnProperty.call(pages, name)) {
          return Promise.resolve(new Response(pages[name], {headers: {"Content-Type": "text/html"}}));
        }
      }
    }
    return realFetch(resource, options);
  };
})();
