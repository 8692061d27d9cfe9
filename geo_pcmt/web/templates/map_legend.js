/* geo_pcmt map page, the legend: an entry for every symbol drawn while its layer is on, and the north arrow.
 */
function geoPcmtLegend(app) {
  "use strict";
  var map = app.map, G = app.G, C = app.C, D = app.D, T = app.T, esc = app.esc, num = app.num, pct = app.pct,
      row = app.row, rowHtml = app.rowHtml, popup = app.popup, chip = app.chip, label = app.label,
      canvas = app.canvas, currentYear = app.currentYear, stepMonth = app.stepMonth, on = app.on;
  // the legend sits under the layer list (map_layout.js stacks them); its head folds it away
  var legendDiv = app.control("topright", "gp-legend gp-dock-box leaflet-bar", function (div) {
    div.innerHTML = '<div class="gp-dock-head" data-act="fold"><i class="fa-solid fa-list-ul"></i><span class="gp-dock-title"></span>' +
      '<button type="button" class="gp-btn gp-fold"><i class="fa-solid fa-chevron-up"></i></button></div><div class="gp-legend-body gp-dock-body"></div>';
  });
  var legendBody = legendDiv.querySelector(".gp-legend-body");
  var northDiv = app.control("bottomright", "gp-north", function (d) {
    d.innerHTML = '<svg viewBox="0 0 24 36" width="22" height="33" aria-hidden="true"><path d="M12 2 L20 30 L12 24 L4 30 Z" fill="#222"/>' +
      '<path d="M12 2 L12 24 L4 30 Z" fill="#fff" stroke="#222" stroke-width="1"/></svg><span class="gp-i18n" data-k="ui.north">' + esc(T("ui.north")) + "</span>";
  });
  var countRadius = app.countRadius, plotRadius = app.plotRadius;
  function circles(values, radius, stroke, fill, opacity, unit) {  // proportional symbols, nested
    return values.map(function (v) {
      var r = radius(v), d = Math.ceil(2 * r + 2);
      return '<span><svg width="' + d + '" height="' + d + '"><circle cx="' + d / 2 + '" cy="' + d / 2 + '" r="' + r + '" stroke="' + stroke +
        '" fill="' + fill + '" fill-opacity="' + opacity + '"/></svg>' + num(v) + (unit || "") + "</span>";
    }).join("");
  }
  function renderLegend() {
    legendDiv.querySelector(".gp-dock-title").textContent = T("ui.legend");
    legendDiv.querySelector(".gp-fold").title = T("ui.legend");
    var h = ['<div class="gp-legend-title">' + esc(T("ui.legend")) + "</div>"];
    if (on("communes")) {
      h.push('<div class="gp-sub">' + esc(T("layer.communes")) + " " + esc(currentYear() || "") + "</div>" + C.classes.map(function (c) {
        return '<div class="gp-li"><span class="gp-sw" style="background:' + C.colours[c] + '"></span>' + esc(T("status." + c)) + "</div>";
      }).join(""));
      if (app.anyLabelOnly && app.anyLabelOnly(currentYear())) {
        h.push('<div class="gp-li"><span class="gp-sw" style="background:' + C.colours.loai_III + ";border:2.5px solid " + app.SACH_OUTLINE +
          '"></span>' + esc(T("ui.sach_label")) + "</div>");
      }
    }
    if (on("commune_counts")) {
      h.push('<div class="gp-sub">' + esc(T("ui.counts_legend")) + '</div><div class="gp-li gp-li-row">' + circles([50, 20, 5], countRadius,
        "#5b2a86", "#8c6bb1", 0.55) + '<span><svg width="12" height="12"><circle cx="6" cy="6" r="4" stroke="#5b2a86" fill="#8c6bb1" fill-opacity="0.15"/></svg>' +
        esc(T("f.suppressed")) + "</span></div>");
    }
    if (on("retail_points")) {
      h.push('<div class="gp-sub">' + esc(T("layer.retail_points")) + "</div>" + C.types.map(function (t) {
        return '<div class="gp-li"><span class="gp-pt gp-pt-active gp-pt-inline"><i class="fa-solid ' + app.TYPE_ICON[t] + '"></i></span>' + esc(T("type." + t)) + "</div>";
      }).join("") + '<div class="gp-li gp-li-row">' + C.pstatus.map(function (s) {
        return '<span><span class="gp-dot gp-pt-' + s + '"></span>' + esc(T("pstatus." + s)) + "</span>";
      }).join("") + '</div><div class="gp-li"><span class="gp-cluster gp-cluster-m gp-cluster-inline">12</span>' + esc(T("ui.cluster_legend")) + "</div>");
    }
    if (on("opium_plots")) {
      h.push('<div class="gp-sub">' + esc(T("ui.plots_legend")) + '</div><div class="gp-li gp-li-row">' +
        circles([1000, 300, 50], plotRadius, "#7a0177", "#ae017e", 0.85, " m²") +
        '<span><span class="gp-dot" style="background:#e7d4e8;border:1px dashed #7a0177"></span>' + esc(T("ui.eradicated")) + "</span></div>");
    }
    if (on("border_crossings")) {
      h.push('<div class="gp-sub">' + esc(T("layer.border_crossings")) + "</div>" + C.kinds.map(function (k) {
        return '<div class="gp-li"><span class="gp-sym gp-x gp-x-' + k + ' gp-sym-inline"><i class="fa-solid ' + app.KIND_ICON[k] + '"></i></span>' + esc(T("kind." + k)) + "</div>";
      }).join(""));
    }
    if (on("border_posts")) {
      h.push('<div class="gp-li"><span class="gp-sym gp-post gp-sym-inline"><i class="fa-solid fa-shield-halved"></i></span>' + esc(T("layer.border_posts")) + "</div>");
    }
    if (on("border_line")) {
      h.push('<div class="gp-li"><span class="gp-line-sw"></span>' + esc(T("layer.border_line")) + "</div>");
    }
    if (on("hotspot_clusters")) {
      h.push('<div class="gp-li"><span class="gp-sw" style="border:2px dashed #d94801;background:rgba(253,141,60,.15)"></span>' + esc(T("layer.hotspot_clusters")) + "</div>");
    }
    if (on("complex_hotspots")) {
      h.push('<div class="gp-sub">' + esc(T("layer.complex_hotspots")) + '</div><div class="gp-li gp-li-row">' +
        [["high", "#b10026", "solid", 2.5], ["medium", "#fc4e2a", "solid", 1.5], ["low", "#feb24c", "dashed", 1.5]].map(function (l) {
          return '<span><span class="gp-sw" style="background:transparent;border:' + l[3] + "px " + l[2] + " " + l[1] + '"></span>' + esc(T("level." + l[0])) + "</span>";
        }).join("") + '</div><div class="gp-li"><i class="fa-solid fa-triangle-exclamation" style="color:#b10026;width:18px"></i>' + esc(T("ui.flag_high")) + "</div>");
    }
    if (on("facilities")) {
      h.push('<div class="gp-sub">' + esc(T("layer.facilities")) + "</div>" + Object.keys(app.FAC_ICON).map(function (k) {
        return '<div class="gp-li"><span class="gp-sym gp-fac gp-sym-inline"><i class="fa-solid ' + app.FAC_ICON[k] + '"></i></span>' + esc(T("fac." + k)) + "</div>";
      }).join(""));
    }
    if (on("lao_provinces")) {
      h.push('<div class="gp-li"><span class="gp-sw" style="background:#efeadf;border-color:#a89f91"></span>' + esc(T("layer.lao_provinces")) + "</div>");
    }
    if (on("distance_bands") && D.distance_bands) {
      var shadesL = ["#08519c", "#3182bd", "#6baed6", "#9ecae1"];
      h.push('<div class="gp-sub">' + esc(T("ui.distance_legend")) + '</div><div class="gp-li gp-li-row">' + D.distance_bands.features.map(function (f, i) {
        return '<span><span class="gp-sw" style="background:' + shadesL[i] + ';opacity:.45"></span>' + num(f.properties.lo) + "–" + num(f.properties.hi) + " km</span>";
      }).join("") + "</div>");
    }
    if (on("gistar_cells")) {
      h.push('<div class="gp-sub">Gi*</div><div class="gp-li gp-li-row">' + ["hot99", "hot95", "hot90", "cold90", "cold95", "cold99"].map(function (g) {
        return '<span><span class="gp-sw" style="background:' + app.GI[g] + '"></span>' + esc(T(g.indexOf("hot") === 0 ? "gi.hot" : "gi.cold")) + " " + g.slice(-2) + "%</span>";
      }).join("") + "</div>");
    }
    if (on("emerging_hotspots")) {
      h.push('<div class="gp-sub">' + esc(T("layer.emerging_hotspots")) + '</div><div class="gp-li gp-li-row">' + Object.keys(app.EMERGING).map(function (k) {
        return '<span><span class="gp-sw" style="background:' + app.EMERGING[k] + '"></span>' + esc(T("em." + k)) + "</span>";
      }).join("") + "</div>");
    }
    if (on("progress")) {
      h.push('<div class="gp-sub">' + esc(T("layer.progress")) + '</div><div class="gp-li gp-li-row">' +
        Object.keys(app.VERDICT).map(function (g) {
          return '<span><span class="gp-sw" style="background:' + app.VERDICT[g] + '"></span>' + esc(T("verdict." + g)) + "</span>";
        }).join("") + "</div>");
    }
    if (on("heat")) {
      h.push('<div class="gp-li"><span class="gp-sw gp-heat-sw"></span>' + esc(T("layer.heat")) + "</div>");
    }
    app.legendSections.forEach(function (section) { h.push(section()); });
    legendBody.innerHTML = h.join("");
  }

  app.renderLegend = renderLegend;
  app.legendDiv = legendDiv;
  app.northDiv = northDiv;
}
