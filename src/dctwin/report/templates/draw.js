/* Draw every figure whose JSON sits in a <script type="application/json" data-figure="ID"> block. */
(function () {
  "use strict";
  function drawAll() {
    var blocks = document.querySelectorAll('script[type="application/json"][data-figure]');
    Array.prototype.forEach.call(blocks, function (el) {
      var target = document.getElementById(el.getAttribute("data-figure"));
      if (!target || target.getAttribute("data-drawn")) { return; }
      var fig = JSON.parse(el.textContent);
      var layout = fig.layout || {};
      layout.autosize = true;
      Plotly.newPlot(target, fig.data, layout, { displaylogo: false, responsive: true });
      target.setAttribute("data-drawn", "1");
    });
  }
  window.dctwinDrawFigures = drawAll;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
