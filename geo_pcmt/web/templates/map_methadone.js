/* geo_pcmt map page, methadone access (`geo-pcmt methadone`): communes coloured by motorbike time
 * to the nearest dispensing point (within 30 min, 30–60, over 60), the dispensing and treatment
 * points, and the proposed sites for one more point with the people they bring within reach.
 */
function geoPcmtMethadone(app) {
  "use strict";
  var G = app.G, D = app.D, T = app.T, esc = app.esc, num = app.num, row = app.row, chip = app.chip;
  var M = D.methadone_access;
  var BAND = ["#c7e9c0", "#fdae6b", "#d94801"], NO_DATA = "#f0f0f0";
  if (!M || !G.methadone_access || !D.communes) { return; }
  function bandOf(code) { var c = M.communes[code]; return c && c.band !== null && c.band !== undefined ? c.band : null; }
  function communePopup(f) {
    var c = M.communes[f.properties.code] || {}, b = bandOf(f.properties.code);
    return app.popup(f.properties.name, b === null ? "" : chip(BAND[b]) + esc(T("ui.md_band" + b)) + (M.year ? " · " + esc(M.year) : ""),
      [row("f.minutes", c.min === null || c.min === undefined ? "" : num(c.min, 0) + " " + T("ui.minutes")),
       row("f.nearest_point", c.nearest), row("f.people", c.people === null || c.people === undefined ? "" : num(c.people))]);
  }
  L.geoJSON(D.communes, {
    style: function (f) {
      var b = bandOf(f.properties.code);
      return {color: "#6d6d6d", weight: 0.6, fillColor: b === null ? NO_DATA : BAND[b], fillOpacity: 0.78};
    },
    onEachFeature: function (f, layer) {
      layer.bindTooltip(function () {
        var c = M.communes[f.properties.code] || {};
        return "<b>" + esc(f.properties.name) + "</b>" + (c.min === null || c.min === undefined ? "" :
          "<br>" + num(c.min, 0) + " " + esc(T("ui.minutes")) + (c.people ? " · " + num(c.people) + " " + esc(T("f.people").toLowerCase()) : ""));
      }, {sticky: true, className: "gp-tip"});
      layer.bindPopup(function () { return communePopup(f); }, {maxWidth: 340});
    }
  }).addTo(G.methadone_access);
  // the points that dispense today (the facilities layer has them too, off at opening)
  (D.facilities ? D.facilities.features : []).forEach(function (f) {
    var k = f.properties.kind;
    if (k !== "methadone_dispensing" && k !== "methadone_treatment") { return; }
    var c = f.geometry.coordinates, mk = app.iconMarker([c[1], c[0]], "gp-fac gp-fac-md", app.FAC_ICON[k], 20);
    mk.bindPopup(function () { return app.popup(f.properties.name, esc(app.label("fac", k)), [row("f.capacity", f.properties.capacity)]); });
    mk.bindTooltip(esc(f.properties.name), {className: "gp-tip"});
    mk.addTo(G.methadone_access);
  });
  M.sites.forEach(function (s) {
    var mk = L.marker([s.at[1], s.at[0]], {icon: L.divIcon({className: "gp-md-site", iconSize: [26, 26], iconAnchor: [13, 13],
      html: '<i class="fa-solid fa-star"></i><span>' + esc(s.rank) + "</span>"})});
    mk.bindPopup(function () {
      return app.popup(T("ui.md_site_title") + " " + (s.rank || ""), esc(s.commune),
        [row("f.gain_people", s.gain === null ? "" : num(s.gain) + (M.reach_min ? " (≤ " + num(M.reach_min) + " " + T("ui.minutes") + ")" : "")),
         row("f.communes_gained", s.communes_gained === null ? "" : num(s.communes_gained))]);
    });
    mk.bindTooltip(function () { return esc(T("ui.md_site_title")) + " " + esc(s.rank) + ": " + esc(s.commune); }, {className: "gp-tip"});
    mk.addTo(G.methadone_access);
  });
  app.legendSections.push(function () {
    if (!app.on("methadone_access")) { return ""; }
    return '<div class="gp-sub">' + esc(T("ui.md_legend")) + (M.year ? " (" + esc(M.year) + ")" : "") + '</div><div class="gp-li gp-li-row">' +
      BAND.map(function (c, i) { return '<span><span class="gp-sw" style="background:' + c + '"></span>' + esc(T("ui.md_band" + i)) + "</span>"; }).join("") +
      "</div>" + ["methadone_dispensing", "methadone_treatment"].map(function (k) {
        return '<div class="gp-li"><span class="gp-sym gp-fac gp-fac-md gp-sym-inline"><i class="fa-solid ' + app.FAC_ICON[k] + '"></i></span>' +
          esc(T("fac." + k)) + "</div>";
      }).join("") + '<div class="gp-li"><span class="gp-md-site gp-md-site-inline"><i class="fa-solid fa-star"></i><span>1</span></span>' +
      esc(T("ui.md_site")) + "</div>";
  });
}
