/* geo_pcmt map page: puts the modules together (map_core, map_labels, map_areas, map_records,
 * map_analysis, map_places, map_methadone, map_panel, map_legend, map_layout, map_print), and
 * keeps language, year, month and the layers on show in the address bar.
 */
function geoPcmtApp(map, G, C) {
  "use strict";
  var app = geoPcmtCore(map, G, C), params = app.params, state = app.state;
  geoPcmtLabels(app);
  geoPcmtAreas(app);
  geoPcmtRecords(app);
  geoPcmtAnalysis(app);
  geoPcmtPlaces(app);
  geoPcmtMethadone(app);
  geoPcmtPanel(app);
  geoPcmtLegend(app);
  geoPcmtPrint(app);

  function relabel() {
    var nodes = document.querySelectorAll(".gp-i18n");
    for (var i = 0; i < nodes.length; i++) { nodes[i].textContent = app.T(nodes[i].getAttribute("data-k")); }
    document.documentElement.lang = app.lang;
    document.title = C.title || app.T("title");
  }
  function render() {
    app.renderPanel();
    app.renderSlider();
    app.renderLegend();
    app.renderTitleBlock();
  }
  app.setLang = function (l) {
    app.lang = l;
    app.setParam("lang", l === C.lang ? null : l);
    map.closePopup();
    relabel();
    app.onRefresh.forEach(function (f) { f("lang"); });
    render();
    app.placeLabels();
  };
  app.refresh = function () {
    app.onRefresh.forEach(function (f) { f("step"); });
    render();
  };
  function visibleOverlays() {
    return C.overlays.filter(function (k) {
      if (k === "osm") {
        var found = false;
        map.eachLayer(function (l) { if (l instanceof L.TileLayer) { found = true; } });
        return found;
      }
      return app.on(k);
    });
  }
  map.on("overlayadd overlayremove", function () {
    app.setParam("layers", visibleOverlays().join(","));
    app.renderLegend();
  });

  // opening state from the URL: ?month=2024-06 (or a year), ?year=2025
  var wantYear = Number(params.get("year"));
  if (wantYear && C.years.indexOf(wantYear) >= 0) { state.year = wantYear; }
  var wantStep = params.get("month");
  if (wantStep) {
    var idx = C.months.length ? C.months.indexOf(wantStep.slice(0, 7)) : C.years.indexOf(Number(wantStep));
    if (idx >= 0) { state.step = idx; }
  }
  relabel();
  app.refresh();
  map.on("moveend overlayadd overlayremove", app.placeLabels);
  // the layer list is made after this script (folium adds it later): the boxes are arranged,
  // and a print layout entered, once it exists
  window.setTimeout(function () {
    geoPcmtLayout(app);
    if (C.print || params.get("print") === "1") { app.enterPrint(app.paperWanted, app.orientWanted, app.printBounds(), false); }
    app.placeLabels();
    window.geoPcmtReady = performance.now();
    document.documentElement.setAttribute("data-gp-ready", "1");
  }, 0);
  return {map: map, groups: G, setLang: app.setLang, setStep: app.setStep, state: state, drugFreeDrawn: app.drugFreeDrawn,
          enterPrint: app.enterPrint, exitPrint: app.exitPrint, progress: app.progressOf, colours: C.colours,
          layout: function () { return app.layout; }, app: app,
          provinceBounds: function () { return C.data.province ? L.geoJSON(C.data.province).getBounds() : null; }};
}
