// The book's explorers (autograder/kernel/explorer.py): each `.cnn-explorer` holds labelled controls,
// an <img> and, in a JSON script, every frame precomputed when the book was built. Moving a control
// shows the frame of the new setting and says in the alt text what it shows; a slider tells a screen
// reader its value (aria-valuetext), not the number of its stop. No kernel, no network.
(function () {
  "use strict";
  function setUp(root) {
    var data = JSON.parse(root.querySelector("script.cnn-explorer-data").textContent);
    var controls = Array.prototype.slice.call(root.querySelectorAll("[data-cnn-explorer-control]"));
    var image = root.querySelector("img.cnn-explorer-frame");
    function show() {
      var index = 0, parts = [];
      controls.forEach(function (control, k) {
        var position = Number(control.value), text = data.values[k][position];
        index = index * data.values[k].length + position;  // row-major, like itertools.product
        parts.push(data.labels[k] + " " + text);
        var output = root.querySelector('output[for="' + control.id + '"]');
        if (output) { output.textContent = text; }
        if (control.type === "range") { control.setAttribute("aria-valuetext", text); }  // read out: the value, not the stop
      });
      image.src = data.frames[data.index[index]];
      image.alt = (data.alt ? data.alt + ": " : "") + parts.join(", ");
    }
    controls.forEach(function (control) {
      control.addEventListener("input", show);
      control.addEventListener("change", show);
    });
    show();  // a browser may restore the controls' positions when a page is visited again
  }
  function setUpAll() {
    Array.prototype.forEach.call(document.querySelectorAll(".cnn-explorer"), setUp);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpAll);
  } else {
    setUpAll();
  }
})();
