/* qungong leaders' map: context boundaries and stations, drill-down on click. */
(function (global) {
  "use strict";

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  // Ray casting on one ring of [lon, lat] pairs.
  function inRing(x, y, ring) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) { inside = !inside; }
    }
    return inside;
  }

  function inGeometry(x, y, geom) {
    var polygons = geom.type === "Polygon" ? [geom.coordinates] : geom.type === "MultiPolygon" ? geom.coordinates : [];
    return polygons.some(function (rings) {
      return inRing(x, y, rings[0]) && !rings.slice(1).some(function (hole) { return inRing(x, y, hole); });
    });
  }

  var STYLES = {
    county: {color: "#5b2c06", weight: 2.2, fill: false},
    township: {color: "#8a5a2b", weight: 0.8, fill: false},
    village: {color: "#3d7a3d", weight: 0.7, fill: false}
  };

  // Whatever the analysis draws outside the area (the heatmap's blur spills over the border)
  // is covered by a mask in the map's own background colour: the world with the area cut out,
  // in a pane above the analysis layers and below tooltips and popups.  Its edge is the
  // area's border, drawn once more on top.
  function clipTo(map, geometry) {
    if (!geometry) { return null; }
    var polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
    var rings = [[[-85, -180], [85, -180], [85, 180], [-85, 180]]];
    polygons.forEach(function (p) {
      rings.push(p[0].map(function (c) { return [c[1], c[0]]; }));
    });
    var pane = map.createPane("qgClip");
    pane.style.zIndex = 450;
    pane.style.pointerEvents = "none";
    var background = global.getComputedStyle(map.getContainer()).backgroundColor;
    return L.polygon(rings, {
      pane: "qgClip", renderer: L.svg({pane: "qgClip"}), interactive: false,
      stroke: true, color: "#5b2c06", weight: 2.2, fillColor: background, fillOpacity: 1
    }).addTo(map);
  }

  // The side panel follows the monthly layer's frame: the month shown is marked in the
  // table of months and named with its count above it.
  function followFrames(map, frames) {
    var td = map.timeDimension;
    if (!td || !frames.length) { return; }
    var rows = document.querySelectorAll("#months tr[data-month]");
    var label = document.getElementById("frame-month");
    function show() {
      var month = frames[td.getCurrentTime() - 1];
      var count = null;
      rows.forEach(function (row) {
        var on = row.dataset.month === month;
        row.classList.toggle("current", on);
        if (on) { count = row.dataset.count; row.scrollIntoView({block: "nearest"}); }
      });
      if (label) {
        label.textContent = month + (count === null ? "" : " · " + count);
      }
      map.getContainer().dataset.frame = month;
    }
    td.on("timeload", show);
    show();
  }

  // A row of the top-20 table zooms the map to its village (click, or Enter on the row).
  function zoomFromTable(map) {
    var rows = document.querySelectorAll("#top tbody tr[data-bounds]");
    rows.forEach(function (row) {
      function zoom() {
        var b = row.dataset.bounds.split(",").map(Number);
        if (b.length !== 4 || b.some(isNaN)) { return; }
        map.fitBounds([[b[1], b[0]], [b[3], b[2]]], {maxZoom: 14, padding: [20, 20]});
        rows.forEach(function (r) { r.classList.toggle("current", r === row); });
        map.getContainer().dataset.zoomedTo = row.dataset.code;
      }
      row.addEventListener("click", zoom);
      row.addEventListener("keydown", function (e) { if (e.key === "Enter") { zoom(); } });
    });
  }

  function leaders(map, control, cfg) {
    // The map's own canvas (folium's prefer_canvas): one more canvas would cost a redraw.
    var renderer = map.getRenderer(L.polyline([]));
    var drillable = null;
    cfg.outlines.forEach(function (o) {
      var style = Object.assign({renderer: renderer, interactive: false}, STYLES[o.level]);
      var layer = L.geoJSON(o.data, {style: function () { return style; }, interactive: false}).addTo(map);
      control.addOverlay(layer, o.name);
      if (o.level === cfg.drillLevel) { drillable = o.data; }
    });

    // Thousands of station markers at city scale: made only when the layer is switched on.
    var stations = L.layerGroup();
    var made = false;
    function drawStations(rows) {
      rows.forEach(function (s) {
        L.circleMarker([s[2], s[1]], {radius: 3, weight: 1, color: "#1a237e", fillColor: "#3949ab",
          fillOpacity: 0.9, renderer: renderer, interactive: false}).addTo(stations);
      });
      map.getContainer().dataset.stations = rows.length;
    }
    stations.on("add", function () {
      if (made) { return; }
      made = true;
      if (cfg.stations) { drawStations(cfg.stations); return; }
      // City scale: the stations are not on the page but fetched when first shown.
      fetch(cfg.stationsUrl, {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (d) { drawStations(d.stations); });
    });
    control.addOverlay(stations, cfg.text.stations);
    if (cfg.stationsShown) { stations.addTo(map); }

    // Drill-down: a click anywhere inside a child unit offers the link to its own page, so
    // the analysis layers above the outlines keep their tooltips.
    if (drillable) {
      map.on("click", function (e) {
        var hit = null;
        drillable.features.some(function (f) {
          if (inGeometry(e.latlng.lng, e.latlng.lat, f.geometry)) { hit = f; return true; }
          return false;
        });
        if (!hit) { return; }
        var href = cfg.drillUrl.replace("__AREA__", encodeURIComponent(hit.properties.code));
        L.popup().setLatLng(e.latlng).setContent(
          "<b>" + esc(hit.properties.name) + "</b><br><a class='drill' data-code='" + esc(hit.properties.code) +
          "' href='" + esc(href) + "'>" + esc(cfg.text.drill) + "</a>").openOn(map);
      });
    }

    clipTo(map, cfg.clip);
    followFrames(map, cfg.frames || []);
    zoomFromTable(map);

    var el = map.getContainer();
    el.dataset.layer = cfg.layer;
    el.dataset.cases = cfg.stats.cases;
    el.dataset.cells = cfg.stats.cells;
    el.dataset.months = cfg.stats.months;
    el.dataset.ready = "1";
    global.qungongMap = map;
  }

  global.qungong = global.qungong || {};
  global.qungong.leaders = leaders;
})(window);
