/* geo_pcmt map page, print layouts (A4/A3, landscape/portrait): one sheet with a title block, the map in its
 * frame and headline, legend, scale bar and north arrow beside or under it; no control prints.
 */
function geoPcmtPrint(app) {
  "use strict";
  var map = app.map, G = app.G, C = app.C, D = app.D, T = app.T, esc = app.esc, num = app.num, pct = app.pct,
      row = app.row, rowHtml = app.rowHtml, popup = app.popup, chip = app.chip, label = app.label,
      canvas = app.canvas, currentYear = app.currentYear, stepMonth = app.stepMonth, on = app.on;
  var params = app.params;
  /* ------------------------------------------------------------ print layout */
  // One sheet of the paper chosen: a title block on top; the map in its frame; headline,
  // legend, scale bar and north arrow beside it (landscape) or under it (portrait), never on
  // it; no control prints. The map is fitted to the view chosen (or the one on screen).
  var PAPER_MM = {A4: [210, 297], A3: [297, 420]}, MARGIN_MM = 8, printing = null;
  var paperWanted = PAPER_MM[String(params.get("paper") || "").toUpperCase()] ? String(params.get("paper")).toUpperCase() : C.paper;
  var orientWanted = params.get("orientation") === "portrait" || params.get("orientation") === "landscape" ? params.get("orientation") : C.orientation;
  function fmtDate(iso) { return esc(app.fmtDate(iso)); }
  function paperScale() {  // 1 : N at the map's centre; a CSS pixel prints as 25.4/96 mm
    var c = map.getSize().divideBy(2), a = map.containerPointToLatLng(c), b = map.containerPointToLatLng(c.add([100, 0]));
    var n = a.distanceTo(b) / 100 / (0.0254 / 96), p = Math.pow(10, Math.floor(Math.log10(n)) - 1);
    return Math.round(n / p) * p;
  }
  var viewChosen = null;  // province / border from the paper chooser, else the view asked for
  function viewName() {
    var kind = String(viewChosen || C.view || "").split(":")[0];
    if ((kind === "commune" || kind === "post") && C.viewName) { return (kind === "post" ? T("ui.view.post") + " " : "") + C.viewName; }
    return T(kind === "border" ? "ui.view.border" : "ui.view.province");
  }
  function renderTitleBlock() {
    if (!printing) { return; }
    var tb = printing.titleblock, year = currentYear();
    tb.querySelector(".gp-tb-main").innerHTML = '<div class="gp-tb-title">' + esc(C.title || T("title")) + "</div>" +
      (C.unit ? '<div class="gp-tb-unit">' + esc(C.unit) + "</div>" : "") +
      '<div class="gp-tb-view">' + esc(viewName()) + (year ? " · " + esc(T("ui.classes_year")) + " " + esc(year) : "") + "</div>";
    tb.querySelector(".gp-tb-meta").innerHTML = "<div>" + esc(T("ui.generated")) + " " + fmtDate(C.generated) + "</div>" +
      (C.dataAsOf ? "<div>" + esc(T("ui.data_as_of")) + " " + fmtDate(C.dataAsOf) + "</div>" : "") +
      "<div>" + esc(T("ui.scale")) + " ≈ 1 : " + num(paperScale()) + "</div>" +
      (C.classification === "public" ? '<div class="gp-class gp-class-public">' + esc(T("ui.class.public")) + "</div>" : "");
  }
  function enterPrint(paper, orient, bounds, temporary) {
    if (printing) { return; }
    var P = PAPER_MM[paper] || PAPER_MM.A4, land = orient !== "portrait", root = document.documentElement;
    var w = (land ? P[1] : P[0]) - 2 * MARGIN_MM, h = (land ? P[0] : P[1]) - 2 * MARGIN_MM, box = map.getContainer();
    var style = document.createElement("style");
    style.textContent = "@page { size: " + paper + " " + (land ? "landscape" : "portrait") + "; margin: " + MARGIN_MM + "mm; }" +
      " .gp-sheet { width: " + w + "mm; height: " + h + "mm; }";
    document.head.appendChild(style);
    root.classList.add("gp-print-view", land ? "gp-print-landscape" : "gp-print-portrait", "gp-paper-" + paper);
    var sheet = L.DomUtil.create("div", "gp-sheet"), tb = L.DomUtil.create("div", "gp-titleblock", sheet);
    tb.innerHTML = '<div class="gp-tb-main"></div><div class="gp-tb-mark"></div><div class="gp-tb-meta"></div>';
    var frame = L.DomUtil.create("div", "gp-frame", sheet), side = L.DomUtil.create("div", "gp-side", sheet), moved = [];
    function move(el, to) { if (el) { moved.push([el, el.parentNode, el.nextSibling]); to.appendChild(el); } }
    box.parentNode.insertBefore(sheet, box);
    move(box, frame);
    move(document.querySelector(".gp-marking"), tb.querySelector(".gp-tb-mark"));
    move(app.panelDiv, side);
    move(app.legendDiv, side);
    var foot = L.DomUtil.create("div", "gp-side-foot", side);
    move(box.querySelector(".leaflet-control-scale"), foot);
    move(app.northDiv, foot);
    printing = {style: style, sheet: sheet, titleblock: tb, moved: moved, temporary: !!temporary,
                center: map.getCenter(), zoom: map.getZoom(), snap: map.options.zoomSnap};
    app.renderPanel();  // the sheet's parts first: they decide the size of the map's frame
    app.renderLegend();
    renderTitleBlock();
    map.options.zoomSnap = 0;  // the view fills the frame exactly
    if (map._animatingZoom && map._onZoomTransitionEnd) { map._onZoomTransitionEnd(); }  // a zoom still in flight would swallow the fit
    map.invalidateSize({pan: false});
    if (bounds) { map.fitBounds(bounds, {padding: [4, 4], animate: false}); }
    renderTitleBlock();
    app.placeLabels();
  }
  function exitPrint() {
    if (!printing) { return; }
    for (var i = printing.moved.length - 1; i >= 0; i--) {
      var m = printing.moved[i];
      m[1].insertBefore(m[0], m[2] && m[2].parentNode === m[1] ? m[2] : null);
    }
    printing.sheet.parentNode.removeChild(printing.sheet);
    printing.style.parentNode.removeChild(printing.style);
    document.documentElement.classList.remove("gp-print-view", "gp-print-landscape", "gp-print-portrait", "gp-paper-A4", "gp-paper-A3");
    map.options.zoomSnap = printing.snap;
    var back = printing;
    printing = null;
    map.invalidateSize({pan: false});
    map.setView(back.center, back.zoom, {animate: false});
    app.renderPanel();
    app.renderLegend();
    app.placeLabels();
  }
  // the paper chooser (the panel's print button): paper, orientation and view, then print
  // through the same layout as `geo-pcmt map --pdf`, or open it as a preview page
  function select(name, values, chosen) {
    return '<label>' + esc(T("ui." + name)) + ' <select data-pc="' + name + '">' + values.map(function (v) {
      return '<option value="' + v[0] + '"' + (v[0] === chosen ? " selected" : "") + ">" + esc(v[1]) + "</option>";
    }).join("") + "</select></label>";
  }
  app.printChooser = function () {
    var views = [["current", T("ui.view.current")], ["province", T("ui.view.province")]];
    if (C.viewBounds && C.viewBounds.border) { views.push(["border", T("ui.view.border")]); }
    return '<div class="gp-printbox">' + select("paper", [["A4", "A4"], ["A3", "A3"]], paperWanted) +
      select("orientation", [["landscape", T("ui.landscape")], ["portrait", T("ui.portrait")]], orientWanted) +
      select("view", views, "current") + '<div class="gp-printbox-go"><button type="button" class="gp-btn" data-act="print-go">' +
      '<i class="fa-solid fa-print"></i> ' + esc(T("ui.print")) + '</button> <button type="button" class="gp-btn" data-act="print-preview">' +
      esc(T("ui.print_preview")) + "</button></div></div>";
  };
  app.printChosen = function (box, preview) {
    var get = function (k) { var el = box.querySelector('[data-pc="' + k + '"]'); return el ? el.value : null; };
    var paper = get("paper") || paperWanted, orient = get("orientation") || orientWanted, view = get("view") || "current";
    if (preview) {  // the print page of this view, as /map?print=1 gives it
      var q = new URLSearchParams(window.location.search);
      q.set("print", "1"); q.set("paper", paper); q.set("orientation", orient);
      if (view === "current") {
        var b = map.getBounds();
        q.set("bounds", [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); }).join(","));
        q.delete("view");
      } else { q.set("view", view); q.delete("bounds"); }
      window.location.search = q.toString();
      return;
    }
    viewChosen = view === "current" ? null : view;
    enterPrint(paper, orient, view === "current" ? map.getBounds() : C.viewBounds[view], true);
    window.print();
  };
  function printNow() {
    if (!printing) { enterPrint(paperWanted, orientWanted, map.getBounds(), true); }
    window.print();
  }
  // Ctrl+P on the interactive page prints the same layout, of the view on screen
  window.addEventListener("beforeprint", function () {
    if (!printing) { enterPrint(paperWanted, orientWanted, map.getBounds(), true); }
  });
  window.addEventListener("afterprint", function () { if (printing && printing.temporary) { exitPrint(); viewChosen = null; } });
  // the bounds a print page opens on: ?view=province|border, ?bounds=w,s,e,n (the chooser's
  // "view on screen"), else the view the map was made for
  app.printBounds = function () {
    var v = params.get("view"), b = (params.get("bounds") || "").split(",").map(Number);
    if (b.length === 4 && b.every(isFinite)) { return [[b[1], b[0]], [b[3], b[2]]]; }
    if (v && C.viewBounds && C.viewBounds[v]) { viewChosen = v; return C.viewBounds[v]; }
    return C.focus || map.getBounds();
  };
  map.on("moveend", function () { renderTitleBlock(); });
  map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
  map.attributionControl.addAttribution("Ranh giới / boundaries: bando/VPD 2025, Natural Earth");
  app.paperWanted = paperWanted;
  app.orientWanted = orientWanted;
  app.enterPrint = enterPrint;
  app.exitPrint = exitPrint;
  app.printNow = printNow;
  app.renderTitleBlock = renderTitleBlock;
}
