/* Draw every figure whose JSON sits in a <script type="application/json" data-figure="ID"> block.
   The container takes the figure's height, so a tall figure never spills over the next section;
   widths follow the container on resize and when printing; narrow screens get legends below. */
(function () {
  "use strict";
  var NARROW_PX = 900;

  // Legends go below the plot on narrow screens; axes make room for their labels and titles;
  // a title too long for the width is wrapped onto a second line.
  function fit(target, layout) {
    var width = target.clientWidth || 800;
    var narrow = width < NARROW_PX;
    if (narrow) {
      layout.legend = Object.assign({}, layout.legend || {},
        { orientation: "h", x: 0, xanchor: "left", y: -0.2, yanchor: "top" });
    } else {
      layout.legend = JSON.parse(target._dctwinLegend || "{}");
    }
    Object.keys(layout).forEach(function (k) {
      if (/^[xy]axis[0-9]*$/.test(k)) { layout[k].automargin = true; }
    });
    var title = layout.title && (typeof layout.title === "string" ? { text: layout.title } : layout.title);
    if (title && title.text) {
      if (target._dctwinTitle === undefined) { target._dctwinTitle = title.text; }
      title.text = wrap(target._dctwinTitle, Math.max(30, Math.floor((width - 80) / 8)));
      layout.title = title;
      layout.margin = layout.margin || {};
      var lines = title.text.split("<br>").length;
      layout.margin.t = Math.max(layout.margin.t || 50, 30 + 20 * lines);
    }
    return layout;
  }

  function wrap(text, maxChars) {
    var words = String(text).split(" "), lines = [""];
    words.forEach(function (w) {
      var last = lines[lines.length - 1];
      if (last.length && last.length + 1 + w.length > maxChars) { lines.push(w); }
      else { lines[lines.length - 1] = last.length ? last + " " + w : w; }
    });
    return lines.join("<br>");
  }

  function drawOne(el) {
    var target = document.getElementById(el.getAttribute("data-figure"));
    if (!target || target.getAttribute("data-drawn")) { return; }
    var fig = JSON.parse(el.textContent);
    var layout = fig.layout || {};
    var height = layout.height || 420;
    target.style.height = height + "px";
    layout.autosize = true;
    delete layout.width;
    target._dctwinLegend = JSON.stringify(layout.legend || {});
    fit(target, layout);
    Plotly.newPlot(target, fig.data, layout, { displaylogo: false, responsive: true });
    target.setAttribute("data-drawn", "1");
  }

  function drawAll() {
    var blocks = document.querySelectorAll('script[type="application/json"][data-figure]');
    Array.prototype.forEach.call(blocks, drawOne);
  }

  function resizeAll() {
    var figs = document.querySelectorAll("div.figure[data-drawn]");
    Array.prototype.forEach.call(figs, function (f) {
      var layout = fit(f, f.layout);
      Plotly.relayout(f, { legend: layout.legend, title: layout.title, margin: layout.margin });
      Plotly.Plots.resize(f);
    });
  }

  window.dctwinDrawFigures = drawAll;
  window.dctwinResizeFigures = resizeAll;
  if (window.matchMedia) {
    var print = window.matchMedia("print");
    var onChange = function () {
      if (print.matches) {
        Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) { d.open = true; });
      }
      resizeAll();
    };
    if (print.addEventListener) { print.addEventListener("change", onChange); } else { print.addListener(onChange); }
  }
  window.addEventListener("beforeprint", resizeAll);
  window.addEventListener("afterprint", resizeAll);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
