/* geo_pcmt map page, complex places (địa bàn, tụ điểm phức tạp; `geo-pcmt places`): each place
 * as a numbered badge and its extent, a popup with its numbered reasons in the page's language,
 * and the list for the panel's second tab (click: zoom to the place). Adds app.placesList,
 * app.showPlace.
 */
function geoPcmtPlaces(app) {
  "use strict";
  var map = app.map, G = app.G, T = app.T, esc = app.esc, num = app.num, row = app.row, chip = app.chip;
  var data = app.D.complex_places, list = data ? data.places : [], markers = [];
  function level(p) { return app.LEVEL_COLOUR[p.level] ? p.level : "low"; }
  function colour(p) { return app.LEVEL_COLOUR[level(p)]; }
  function methods(p) { return (p.methods || []).map(function (m) { return app.T("pmethod." + m); }).join(", "); }
  function placePopup(p) {
    return app.popup(p.name || p.communes || T("layer.complex_places"),
      chip(colour(p)) + esc(T("level." + level(p))) + " · " + esc(T("ui.score")) + " " + num(p.score, 1),
      [row("f.communes", p.communes), row("f.village", p.village), row("f.methods", methods(p)),
       row("f.place_status", p.status ? T("pstate." + p.status) : ""),
       row("f.change", app.lang === "en" ? p.change_en : p.change_vi),
       row("f.evidence", p.n_evidence === null ? "" : num(p.n_evidence)),
       row("f.commune_only", p.n_commune_only ? num(p.n_commune_only) : ""),
       row("f.extent", p.extent_m ? num(p.extent_m) + " m" : "")],
      app.reasonList(p.reasons_vi, p.reasons_en).replace('<ul class="gp-reasons">', '<ol class="gp-reasons">').replace("</ul>", "</ol>"));
  }
  function badge(p, i) {
    // beside the place, up and to the right, clear of a cluster count drawn on it (radius ≤ 24 px)
    return L.divIcon({className: "gp-place gp-place-" + level(p), iconSize: [24, 24], iconAnchor: [-18, 42],
                      html: "<span>" + esc(p.rank || i + 1) + "</span>"});
  }
  if (data && G.complex_places) {
    list.forEach(function (p, i) {
      var at = [p.at[1], p.at[0]];
      // the extent, outlined: under the badge, never hiding the points of the place
      L.circle(at, {radius: Math.max(300, p.extent_m || 0), color: colour(p), weight: 1.5, dashArray: "5 4",
                    fillColor: colour(p), fillOpacity: 0.08, interactive: false}).addTo(G.complex_places);
      var mk = L.marker(at, {icon: badge(p, i), pane: "gp-flags", riseOnHover: true});
      mk.bindPopup(function () { return placePopup(p); }, {maxWidth: 380});
      mk.bindTooltip(function () { return esc(p.name); }, {className: "gp-tip"});
      mk.addTo(G.complex_places);
      markers.push(mk);
    });
    app.legendSections.push(function () {
      if (!app.on("complex_places")) { return ""; }
      return '<div class="gp-sub">' + esc(T("ui.places_legend")) + '</div><div class="gp-li gp-li-row">' +
        ["high", "medium", "low"].map(function (l) {
          return '<span><span class="gp-place gp-place-' + l + ' gp-place-inline"><span>1</span></span>' + esc(T("level." + l)) + "</span>";
        }).join("") + '</div><div class="gp-li"><span class="gp-sw" style="border:1.5px dashed #b10026;background:rgba(177,0,38,.08);border-radius:50%"></span>' +
        esc(T("ui.place_extent")) + "</div>";
    });
  }
  app.placesList = function () {  // the panel's tab: the list a commander acts on
    if (!data) { return null; }
    return '<div class="gp-note">' + esc(T("ui.places_intro")) + '</div><ol class="gp-places">' + list.map(function (p, i) {
      return '<li data-act="place" data-i="' + i + '" tabindex="0"><span class="gp-place gp-place-' + level(p) + ' gp-place-inline"><span>' +
        esc(p.rank || i + 1) + '</span></span><span class="gp-place-text"><b>' + esc(p.name) + "</b><br><small>" +
        esc(T("level." + level(p))) + " · " + esc(T("ui.score")) + " " + num(p.score, 1) +
        (p.status ? " · " + esc(T("pstate." + p.status)) : "") + (p.communes ? "<br>" + esc(p.communes) : "") + "</small></span></li>";
    }).join("") + "</ol>";
  };
  app.placesCount = list.length;
  app.showPlace = function (i) {
    var p = list[i];
    if (!p) { return; }
    if (G.complex_places && !map.hasLayer(G.complex_places)) { map.addLayer(G.complex_places); }
    map.setView([p.at[1], p.at[0]], Math.max(map.getZoom(), 13), {animate: false});
    if (markers[i]) { markers[i].openPopup(); }
  };
}
