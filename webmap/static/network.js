/* qungong network map: boundaries, name labels, clustered stations, legend and lazy drill-down. */
(function (global) {
  "use strict";

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  var STYLE = {
    county: {color: "#5b2c06", weight: 2.5, fill: false},
    township: {color: "#8a5a2b", weight: 1, fillColor: "#f3e7d3", fillOpacity: 0.25},
    village: {color: "#3d7a3d", weight: 0.8, fill: false},
    group: {color: "#7aa37a", weight: 0.5, dashArray: "2 3", fill: false}
  };
  var STATION = {weight: 1, color: "#b00020", fillColor: "#e53935", fillOpacity: 0.9};

  function withRenderer(style, renderer) {
    var out = {renderer: renderer};
    Object.keys(style).forEach(function (k) { out[k] = style[k]; });
    return out;
  }

  // Name labels of one level: small text markers at each unit's centre, shown only at the
  // zooms where they fit (cfg.labelZoom) and while the labels overlay is on.
  function Labels(map, cfg, parent) {
    var groups = {};
    function groupOf(level) {
      if (!groups[level]) { groups[level] = L.layerGroup(); }
      return groups[level];
    }
    function add(level, feature, layer) {
      var centre = layer.getBounds().getCenter();
      groupOf(level).addLayer(L.marker(centre, {
        interactive: false, keyboard: false,
        icon: L.divIcon({className: "unit-label unit-label-" + level, html: esc(feature.properties.name), iconSize: null})
      }));
    }
    function clear(level) { groupOf(level).clearLayers(); }
    function update() {
      var z = map.getZoom();
      Object.keys(groups).forEach(function (level) {
        var range = cfg.labelZoom[level] || [0, 0];
        var show = z >= range[0] && z < range[1];
        if (show && !parent.hasLayer(groups[level])) { parent.addLayer(groups[level]); }
        if (!show && parent.hasLayer(groups[level])) { parent.removeLayer(groups[level]); }
      });
    }
    map.on("zoomend", update);
    return {add: add, clear: clear, update: update};
  }

  function outline(data, style, onEach) {
    return L.geoJSON(data, {style: function () { return style; }, onEachFeature: onEach});
  }

  // A layer-control name that says from which zoom the layer draws anything.
  function hinted(name, minZoom, t) {
    return esc(name) + " <span class='zoom-hint' data-min='" + minZoom + "'>(" +
      esc(t.fromZoom.replace("{zoom}", minZoom)) + ")</span>";
  }

  function updateHints(map) {
    var z = map.getZoom();
    var hints = map.getContainer().querySelectorAll(".zoom-hint");
    Array.prototype.forEach.call(hints, function (el) {
      el.hidden = z >= Number(el.getAttribute("data-min"));
    });
    map.getContainer().setAttribute("data-zoom", String(z));
  }

  function legend(map, t, cfg) {
    var control = L.control({position: "bottomright"});
    control.onAdd = function () {
      var div = L.DomUtil.create("div", "legend leaflet-bar");
      var rows = [];
      if (cfg.counties) { rows.push(["county", t.counties]); }
      rows.push(["township", t.townships]);
      rows.push(["village", t.villages]);
      rows.push(["group", t.groups]);
      rows.push(["station", t.stations]);
      if (cfg.clusterUntil && (cfg.stations || []).length) { rows.push(["cluster", t.cluster]); }
      div.innerHTML = "<b>" + esc(t.legend) + "</b>" + rows.map(function (r) {
        return "<div class='legend-row' data-key='" + r[0] + "'><i class='swatch swatch-" + r[0] + "'></i>" + esc(r[1]) + "</div>";
      }).join("");
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    control.addTo(map);
  }

  function stationPopup(d, t) {
    function line(label, value) {
      return "<div><span class='k'>" + esc(label) + ":</span> " + value + "</div>";
    }
    var groups = d.groups.map(function (g) { return esc(g.name); }).join("、");
    var teams = d.teams.map(function (x) { return esc(x.name); }).join("、") || esc(t.none);
    var visits = esc(d.visits_30d) + (d.last_visit ? " (" + esc(t.lastVisit) + " " + esc(d.last_visit) + ")" : "");
    return "<div class='station-popup'><b>" + esc(d.name) + "</b>" +
      "<div>" + esc(d.county.name) + " › " + esc(d.township.name) + " › " + esc(d.village.name) + "</div>" +
      line(t.address, esc(d.address || "—")) +
      line(t.head, esc(d.head || "—") + " · " + esc(t.phone) + " " + esc(d.phone || "—")) +
      line(t.opened, esc(d.opened_on || "—")) +
      line(t.groupCount, esc(d.groups.length) + " (" + groups + ")") +
      line(t.officers, esc(d.officers)) +
      line(t.team, teams) +
      line(t.openCases, "<span data-key='open-cases'>" + esc(d.open_cases) + "</span>") +
      line(t.visits30, "<span data-key='visits-30d'>" + visits + "</span>") +
      "</div>";
  }

  function stationLayer(map, cfg, t) {
    var clustered = cfg.clusterUntil && typeof L.markerClusterGroup === "function";
    var layer = clustered ? L.markerClusterGroup({
      disableClusteringAtZoom: cfg.clusterUntil, chunkedLoading: true, showCoverageOnHover: false,
      spiderfyOnMaxZoom: false, maxClusterRadius: 50
    }) : L.layerGroup();
    var markers = (cfg.stations || []).map(function (s) {
      var mk = L.circleMarker([s[2], s[1]], withRenderer(STATION, L.svg()));
      mk.setRadius(cfg.lazy ? 4 : 6);
      mk.on("click", function () {
        fetch(cfg.stationUrl + s[0]).then(function (r) { return r.json(); }).then(function (d) {
          mk.bindPopup(stationPopup(d, t), {maxWidth: 320}).openPopup();
        });
      });
      return mk;
    });
    if (clustered) { layer.addLayers(markers); } else { markers.forEach(function (m) { layer.addLayer(m); }); }
    return layer;
  }

  function network(map, cfg) {
    var t = cfg.text;
    // Station clusters need a maximum zoom, which a map without tile layers lacks.
    if (!isFinite(map.getMaxZoom())) { map.setMaxZoom(18); }
    var renderer = L.canvas({padding: 0.5});
    var overlays = {};
    var state = {pending: {}};
    var labelLayer = L.layerGroup().addTo(map);
    var labels = Labels(map, cfg, labelLayer);

    // Every outline seen from the city or a county opens its township and, from the city,
    // its county (the county step between city and township).  Villages and groups need the
    // links too: their outlines lie on top and take the click.
    function named(level) {
      return function (f, layer) {
        layer.bindTooltip(esc(f.properties.name), {sticky: true});
        labels.add(level, f, layer);
        if (!cfg.lazy || level === "county") { return; }
        var code = String(f.properties.code);
        var links = ["<a class='drill drill-township' href='" + cfg.drillUrl +
          encodeURIComponent(code.slice(0, 9) + "000") + "'>" + esc(t.drill) + "</a>"];
        if (cfg.countyDrill) {
          links.push("<a class='drill drill-county' href='" + cfg.drillUrl +
            encodeURIComponent(code.slice(0, 6) + "000000") + "'>" + esc(t.drillCounty) + "</a>");
        }
        layer.bindPopup("<b>" + esc(f.properties.name) + "</b><br>" + links.join("<br>"));
      };
    }

    if (cfg.counties) {
      overlays[esc(t.counties)] = outline(cfg.counties, withRenderer(STYLE.county, renderer),
        named("county")).addTo(map);
    }
    if (cfg.townships) {
      overlays[esc(t.townships)] = outline(cfg.townships, withRenderer(STYLE.township, renderer),
        named("township")).addTo(map);
    }
    if (cfg.villages) {
      overlays[esc(t.villages)] = outline(cfg.villages, withRenderer(STYLE.village, renderer), named("village")).addTo(map);
    }
    if (cfg.groups) {
      overlays[esc(t.groups)] = outline(cfg.groups, withRenderer(STYLE.group, renderer), named("group")).addTo(map);
    }

    // Lazy layers: villages and groups of the viewed area, fetched when zoomed in far enough.
    function lazy(level, minZoom) {
      var group = L.layerGroup();
      overlays[hinted(t[level], minZoom, t)] = group;
      group.addTo(map);
      function refresh() {
        if (map.getZoom() < minZoom) { group.clearLayers(); labels.clear(level); return; }
        var b = map.getBounds();
        var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(4); }).join(",");
        var url = cfg.unitsUrl + "?level=" + level + "&bbox=" + bbox + "&zoom=" + map.getZoom();
        if (state.pending[level] === url) { return; }
        state.pending[level] = url;
        fetch(url).then(function (r) { return r.json(); }).then(function (data) {
          if (state.pending[level] !== url) { return; }
          group.clearLayers();
          labels.clear(level);
          group.addLayer(outline(data, withRenderer(STYLE[level], renderer), named(level)));
          labels.update();
        });
      }
      map.on("moveend", refresh);
      refresh();
    }
    if (cfg.lazy) {
      lazy("village", cfg.minZoom.village);
      lazy("group", cfg.minZoom.group);
    }

    var stations = stationLayer(map, cfg, t);
    stations.addTo(map);
    overlays[esc(t.stations) + " (" + (cfg.stations || []).length + ")"] = stations;
    overlays[esc(t.labels)] = labelLayer;

    L.control.layers(null, overlays, {collapsed: global.innerWidth < 600}).addTo(map);
    legend(map, t, cfg);
    map.on("zoomend moveend", function () { updateHints(map); });
    if (cfg.bounds) { map.fitBounds([[cfg.bounds[1], cfg.bounds[0]], [cfg.bounds[3], cfg.bounds[2]]], {animate: false}); }
    labels.update();
    updateHints(map);
    map.getContainer().setAttribute("data-stations", String((cfg.stations || []).length));
    map.getContainer().setAttribute("data-ready", "1");
    return {stations: stations, overlays: overlays};
  }

  global.qungong = global.qungong || {};
  global.qungong.network = network;
})(window);
