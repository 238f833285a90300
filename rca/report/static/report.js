// Draws every chart whose Vega-Lite spec is embedded in the page as JSON.
// vegaEmbed comes from the inlined bundle; nothing is fetched.
(function () {
  "use strict";
  var options = {
    renderer: "svg",
    actions: { export: true, source: false, compiled: false, editor: false },
    tooltip: { theme: "light" }
  };
  var nodes = document.querySelectorAll("script[type='application/json'][data-chart]");
  Array.prototype.forEach.call(nodes, function (node) {
    var target = document.getElementById(node.getAttribute("data-chart"));
    if (!target) { return; }
    var spec = JSON.parse(node.textContent);
    window.vegaEmbed(target, spec, options).then(function (res) {
      target.setAttribute("data-rendered", "true");
      var svg = target.querySelector("svg.marks");
      if (svg) {
        svg.setAttribute("role", "img");
        svg.setAttribute("aria-label", target.getAttribute("aria-label") || "");
      }
      return res;
    }).catch(function (err) {
      target.setAttribute("data-rendered", "error");
      target.textContent = "This chart could not be drawn: " + err.message;
      console.error(err);
    });
  });
})();
