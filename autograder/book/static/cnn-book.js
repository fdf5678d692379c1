// The book's own small fixes to its pages (served from _static/ by autograder/book/sphinx.py), offline
// and without a library:
// - the theme's ☰ (site navigation) and "contents" buttons work: the theme wires up only the FIRST
//   `.primary-toggle` and `.secondary-toggle` of the page, which sit in a header that this layout
//   hides, so the visible buttons did nothing; a click on a visible one is passed to the wired one;
// - any figure opens full size in a dialog on a click, a tap, Enter or Space; Escape, a click or the
//   close button closes it; on a desktop no figure is shown below 4/5 of its natural width;
// - the download item saves the student notebook instead of opening its JSON in a new tab;
// - a wrapped line of code or output hangs one indent deeper than its own line starts, so Python's
//   indentation still reads right (CSS alone cannot indent what follows a newline inside a <pre>).
(function () {
  "use strict";

  function forwardToggles(selector) {
    var all = document.querySelectorAll(selector);
    var wired = all[0];
    Array.prototype.slice.call(all, 1).forEach(function (button) {
      button.addEventListener("click", function (event) {
        event.preventDefault();
        event.stopPropagation();
        wired.click();  // the theme's handlers: a drawer (dialog) on a phone, hide/show on a desktop
      });
    });
  }

  var FIGURES = "article .cell_output img, article figure img, article img.cnn-explorer-frame";

  function isFigure(image) {
    return image.closest("a") === null && !image.closest(".cnn-lightbox");
  }

  // On a desktop a figure is never shown below 4/5 of its natural width (below that, the text of a
  // figure drawn at 90 dpi gets smaller than 9 px); one wider than the column scrolls sideways in
  // its output box. (The build gives a cell with a wide figure the theme's full width.)
  var DESKTOP = window.matchMedia("(min-width: 992px)");
  function legible(image) {
    if (!image.naturalWidth) { return; }
    image.style.minWidth = DESKTOP.matches ? Math.ceil(0.8 * image.naturalWidth) + "px" : "";
    image.dataset.cnnLegible = "1";
  }

  // A picture a widget draws has no alt text: say what draws it, with its controls' settings.
  function describe(image) {
    if (image.getAttribute("alt")) { return; }
    var widget = image.closest(".cell_output") || image.parentElement;
    var settings = Array.prototype.map.call(widget.querySelectorAll(".widget-slider, .widget-dropdown"), function (control) {
      return control.innerText.replace(/\s+/g, " ").trim();
    }).filter(Boolean);
    image.alt = "Figure drawn by the interactive widget" + (settings.length ? " (" + settings.join("; ") + ")" : "");
  }

  function lightbox() {
    var dialog = document.createElement("dialog");
    dialog.className = "cnn-lightbox";
    dialog.setAttribute("aria-label", "Figure, full size");
    var close = document.createElement("button");
    close.type = "button";
    close.className = "cnn-lightbox-close";
    close.setAttribute("aria-label", "Close the full-size figure");
    close.textContent = "×";
    var large = document.createElement("img");  // added when a figure is first opened (no empty <img>)
    dialog.appendChild(close);
    document.body.appendChild(dialog);
    var opener = null;
    function shut() {
      if (dialog.open) { dialog.close(); }
    }
    dialog.addEventListener("click", shut);  // anywhere: the picture, the backdrop, the button
    // Sphinx's highlighting script swallows Escape, so the dialog closes itself.
    dialog.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { event.preventDefault(); event.stopPropagation(); shut(); }
    });
    dialog.addEventListener("close", function () {
      if (opener && opener.focus) { opener.focus(); }
    });
    function open(image) {
      opener = image;
      large.src = image.currentSrc || image.src;
      large.alt = image.alt;
      if (!large.parentNode) { dialog.appendChild(large); }
      dialog.showModal();
      close.focus();
    }
    function enlargeable(image) {
      if (!isFigure(image) || image.dataset.cnnLightbox) { return; }
      image.dataset.cnnLightbox = "1";
      image.tabIndex = 0;
      image.setAttribute("role", "button");
      image.setAttribute("aria-haspopup", "dialog");
      image.title = "Show full size";
    }
    function prepare(image) {
      if (image.dataset.cnnLightbox || !image.matches(FIGURES)) { return; }
      describe(image);
      enlargeable(image);
      if (image.complete) { legible(image); }
      image.addEventListener("load", function () { legible(image); });
    }
    document.querySelectorAll(FIGURES).forEach(prepare);
    DESKTOP.addEventListener("change", function () {
      document.querySelectorAll("img[data-cnn-legible]").forEach(legible);
    });
    // The widget manager draws its views (and their pictures) after the page has loaded.
    var article = document.querySelector("article");
    if (article && window.MutationObserver) {
      new MutationObserver(function (changes) {
        changes.forEach(function (change) {
          Array.prototype.forEach.call(change.addedNodes, function (node) {
            if (node.nodeType !== 1) { return; }
            if (node.tagName === "IMG") { prepare(node); }
            Array.prototype.forEach.call(node.querySelectorAll("img"), prepare);
          });
        });
      }).observe(article, {childList: true, subtree: true});
    }
    document.addEventListener("click", function (event) {
      var image = event.target.closest && event.target.closest("img[data-cnn-lightbox]");
      if (image) { event.preventDefault(); open(image); }
    });
    document.addEventListener("keydown", function (event) {
      var image = event.target.closest && event.target.closest("img[data-cnn-lightbox]");
      if (image && (event.key === "Enter" || event.key === " ")) { event.preventDefault(); open(image); }
    });
  }

  function downloads() {
    document.querySelectorAll("a.btn-download-source-button").forEach(function (link) {
      var name = decodeURIComponent(link.getAttribute("href").split("?")[0].split("/").pop());
      if (/\.ipynb$/.test(name)) {
        link.setAttribute("download", name);
        link.removeAttribute("target");
        link.title = "Download the notebook (" + name + ")";
      }
    });
  }

  // Each line of a code or output block goes into an inline block of its own (.cnn-line, see
  // cnn-book.css) that says how deep the line starts; the newlines stay between them as text, so the
  // block's text (what the copy button copies) is the same. A block with nested markup is left as is.
  var CODE = "article div.highlight pre, article .cell_output pre";
  var INDENT = 4;  // columns a continuation hangs beyond the start of its line

  function splitLines(pre) {
    var lines = [[]];
    var flat = Array.prototype.every.call(pre.childNodes, function (node) {
      return node.nodeType === 3 || (node.nodeType === 1 && node.children.length === 0);
    });
    if (!flat) { return null; }
    Array.prototype.forEach.call(pre.childNodes, function (node) {
      node.textContent.split("\n").forEach(function (part, k) {
        if (k) { lines.push([]); }
        if (!part) { return; }
        var piece = node.nodeType === 1 ? node.cloneNode(false) : document.createTextNode("");
        piece.textContent = part;
        lines[lines.length - 1].push(piece);
      });
    });
    return lines;
  }

  function hangingIndents() {
    document.querySelectorAll(CODE).forEach(function (pre) {
      if (pre.dataset.cnnLines) { return; }
      var lines = splitLines(pre);
      if (!lines) { return; }
      pre.textContent = "";
      lines.forEach(function (pieces, k) {
        if (k) { pre.appendChild(document.createTextNode("\n")); }
        if (k === lines.length - 1 && !pieces.length) { return; }  // the block's final newline
        var line = document.createElement("span");
        line.className = "cnn-line";
        pieces.forEach(function (piece) { line.appendChild(piece); });
        var lead = /^[ \t]*/.exec(line.textContent)[0].replace(/\t/g, "    ").length;
        line.style.setProperty("--cnn-hang", (lead + INDENT) + "ch");
        pre.appendChild(line);
      });
      pre.dataset.cnnLines = String(lines.length);
    });
  }

  function setUp() {
    forwardToggles(".primary-toggle");
    forwardToggles(".secondary-toggle");
    lightbox();
    downloads();
    hangingIndents();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
