/* qungong network map: boundaries, stations and lazy drill-down on a Folium/Leaflet map. */
(function (global) {
  "use strict";

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function outline(data, style, onEach) {
    return L.geoJSON(data, {style: function () { return style; }, onEachFeature: onEach});
  }

  function network(map, cfg) {
    var t = cfg.text;
    var renderer = L.canvas({padding: 0.5});
    var overlays = {};
    var state = {villages: null, groups: null, pending: {}};

    if (cfg.counties) {
      overlays[t.counties] = outline(cfg.counties, {color: "#5b2c06", weight: 2.5, fill: false, renderer: renderer},
        function (f, layer) { layer.bindTooltip(esc(f.properties.name), {sticky: true}); }).addTo(map);
    }
    if (cfg.townships) {
      overlays[t.townships] = outline(cfg.townships,
        {color: "#8a5a2b", weight: 1, fillColor: "#f3e7d3", fillOpacity: 0.25, renderer: renderer},
        function (f, layer) {
          layer.bindTooltip(esc(f.properties.name), {sticky: true});
          if (cfg.drillUrl) {
            layer.bindPopup("<b>" + esc(f.properties.name) + "</b><br><a class='drill' href='" + cfg.drillUrl +
              encodeURIComponent(f.properties.code) + "'>" + esc(t.drill) + "</a>");
          }
        }).addTo(map);
    }
    if (cfg.villages) {
      overlays[t.villages] = outline(cfg.villages, {color: "#3d7a3d", weight: 0.8, fill: false, renderer: renderer},
        function (f, layer) { layer.bindTooltip(esc(f.properties.name), {sticky: true}); }).addTo(map);
    }
    if (cfg.groups) {
      overlays[t.groups] = outline(cfg.groups, {color: "#7aa37a", weight: 0.5, dashArray: "2 3", fill: false, renderer: renderer},
        function (f, layer) { layer.bindTooltip(esc(f.properties.name), {sticky: true}); }).addTo(map);
    }

    // Lazy layers: villages and groups of the viewed area, fetched when zoomed in far enough.
    function lazy(level, minZoom, style) {
      var group = L.layerGroup();
      overlays[t[level]] = group;
      group.addTo(map);
      function refresh() {
        if (map.getZoom() < minZoom) { group.clearLayers(); return; }
        var b = map.getBounds();
        var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(4); }).join(",");
        var url = cfg.unitsUrl + "?level=" + level + "&bbox=" + bbox + "&zoom=" + map.getZoom();
        if (state.pending[level] === url) { return; }
        state.pending[level] = url;
        fetch(url).then(function (r) { return r.json(); }).then(function (data) {
          if (state.pending[level] !== url) { return; }
          group.clearLayers();
          group.addLayer(outline(data, style, function (f, layer) { layer.bindTooltip(esc(f.properties.name), {sticky: true}); }));
        });
      }
      map.on("moveend", refresh);
      refresh();
    }
    if (cfg.lazy) {
      lazy("village", 11, {color: "#3d7a3d", weight: 0.8, fill: false, renderer: renderer});
      lazy("group", 13, {color: "#7aa37a", weight: 0.5, dashArray: "2 3", fill: false, renderer: renderer});
    }

    // Stations arrive as [id, lon, lat]; details are fetched on click.
    var stations = L.layerGroup();
    (cfg.stations || []).forEach(function (s) {
      var mk = L.circleMarker([s[2], s[1]], {radius: cfg.lazy ? 2.5 : 5, weight: 1, color: "#b00020", fillColor: "#e53935", fillOpacity: 0.9, renderer: renderer});
      mk.on("click", function () {
        fetch(cfg.stationUrl + s[0]).then(function (r) { return r.json(); }).then(function (d) {
          var groups = d.groups.map(function (g) { return esc(g.name); }).join("、");
          var teams = d.teams.map(function (x) { return esc(x.name); }).join("、") || "—";
          mk.bindPopup(
            "<b>" + esc(d.name) + "</b><br>" +
            esc(d.county.name) + " " + esc(d.township.name) + " " + esc(d.village.name) + "<br>" +
            t.groupCount + ": " + d.groups.length + " (" + groups + ")<br>" +
            t.officers + ": " + d.officers + "<br>" + t.team + ": " + teams, {maxWidth: 320}).openPopup();
        });
      });
      stations.addLayer(mk);
    });
    stations.addTo(map);
    overlays[t.stations + " (" + (cfg.stations || []).length + ")"] = stations;

    L.control.layers(null, overlays, {collapsed: false}).addTo(map);
    if (cfg.bounds) { map.fitBounds([[cfg.bounds[1], cfg.bounds[0]], [cfg.bounds[3], cfg.bounds[2]]], {animate: false}); }
    map.getContainer().setAttribute("data-stations", String(stations.getLayers().length));
    map.getContainer().setAttribute("data-ready", "1");
    return {stations: stations, overlays: overlays};
  }

  global.qungong = global.qungong || {};
  global.qungong.network = network;
})(window);
