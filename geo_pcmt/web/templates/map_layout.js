/* geo_pcmt map page, the boxes on screen: the panel (and zoom) down the left, the layer list and
 * the legend stacked down the right, the slider bottom left; each column is kept clear of the
 * bottom corners, so no box covers another at any window size. The layer list and the legend
 * fold away from their heads. On a narrow screen (a phone) all start folded and one box is open
 * at a time. Sets app.layout = {narrow, fit()}.
 */
function geoPcmtLayout(app) {
  "use strict";
  var map = app.map, T = app.T, box = map.getContainer(), root = document.documentElement;
  var NARROW_PX = 640;
  function corner(v, h) { return box.querySelector(".leaflet-" + v + ".leaflet-" + h); }
  var layers = box.querySelector(".leaflet-control-layers"), docked = [];
  function dock(el, icon, titleKey) {  // a head that folds the box, over its body
    if (!el) { return; }
    var body = el.querySelector(".gp-dock-body") || el.querySelector(".leaflet-control-layers-list");
    var head = el.querySelector(".gp-dock-head");
    if (!head) {
      head = L.DomUtil.create("div", "gp-dock-head");
      head.setAttribute("data-act", "fold");
      head.innerHTML = '<i class="fa-solid ' + icon + '"></i><span class="gp-dock-title"></span>' +
        '<button type="button" class="gp-btn gp-fold"><i class="fa-solid fa-chevron-up"></i></button>';
      el.insertBefore(head, el.firstChild);
      L.DomEvent.disableClickPropagation(el);
      L.DomEvent.disableScrollPropagation(el);
    }
    L.DomUtil.addClass(el, "gp-dock-box");
    L.DomUtil.addClass(body, "gp-dock-body");
    head.addEventListener("click", function (e) { e.preventDefault(); setFolded(el, !el.classList.contains("gp-folded")); });
    docked.push({el: el, key: titleKey});
  }
  function retitle() {
    docked.forEach(function (d) {
      var t = T(d.key), folded = d.el.classList.contains("gp-folded");
      d.el.querySelector(".gp-dock-title").textContent = t;
      var b = d.el.querySelector(".gp-fold");
      b.title = t;
      b.innerHTML = '<i class="fa-solid ' + (folded ? "fa-chevron-down" : "fa-chevron-up") + '"></i>';
      b.setAttribute("aria-expanded", String(!folded));
    });
  }
  function setFolded(el, folded) {
    el.classList.toggle("gp-folded", folded);
    retitle();
    if (!folded) { opened(el); } else if (narrow() && app.panelDiv) { app.panelDiv.classList.remove("gp-gone"); }
    fit();
  }
  function narrow() { return map.getSize().x < NARROW_PX; }
  // on a phone one box at a time: opening one folds the others (the panel goes while a
  // right-hand box is open, and comes back folded when that box folds)
  function opened(el) {
    if (!narrow()) { return; }
    docked.forEach(function (d) { if (d.el !== el) { d.el.classList.add("gp-folded"); } });
    if (app.panelDiv) { app.panelDiv.classList.toggle("gp-gone", el !== app.panelDiv); }
    if (el !== app.panelDiv && app.panelOpen && app.panelOpen()) { app.setPanelOpen(false); }
    retitle();
  }
  app.onBoxOpen = function (el) { opened(el); fit(); };
  // each top column ends above its bottom corner (slider and scale; north arrow and credits)
  function fit() {
    var h = map.getSize().y, marked = narrow() && !!document.querySelector(".gp-marking");
    root.classList.toggle("gp-narrow", narrow());
    root.classList.toggle("gp-marked-top", marked);
    [["left", corner("bottom", "left")], ["right", corner("bottom", "right")]].forEach(function (c) {
      var top = corner("top", c[0]), room = h - (c[1] ? c[1].offsetHeight : 0) - (marked ? 30 : 0) - 8;
      if (top) { top.style.maxHeight = Math.max(80, room) + "px"; }
    });
  }
  dock(layers, "fa-layer-group", "ui.layers");
  dock(app.legendDiv, "fa-list-ul", "ui.legend");
  if (narrow()) {
    docked.forEach(function (d) { d.el.classList.add("gp-folded"); });
    if (app.panelOpen && app.panelOpen()) { app.setPanelOpen(false); }
    // the opening view left room for the panel and legend beside it: a phone has none
    if (app.C.focus && !(app.C.print || app.params.get("print") === "1")) {
      map.fitBounds(app.C.focus, {padding: [8, 8], animate: false});
    }
  }
  retitle();
  fit();
  map.on("resize", fit);
  app.onRefresh.push(function () { retitle(); });
  app.layout = {narrow: narrow(), fit: fit, fold: setFolded};
}
