/* qungong review item: boundaries around the item, numbered candidates, click-to-place, keys. */
(function (global) {
  "use strict";

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function reviewMap(map, cfg) {
    var form = document.getElementById("resolve");
    var radios = form ? form.querySelectorAll("input[name=candidate]") : [];
    var picked = null;

    function outline(data, style) {
      return L.geoJSON(data, {
        style: function () { return style; },
        onEachFeature: function (f, layer) { layer.bindTooltip(esc(f.properties.name), {sticky: true}); }
      });
    }
    if (cfg.township) { outline(cfg.township, {color: "#8a5a2b", weight: 2, fill: false}).addTo(map); }
    if (cfg.village) { outline(cfg.village, {color: "#3d7a3d", weight: 1, fillOpacity: 0.05}).addTo(map); }

    (cfg.candidates || []).forEach(function (c, i) {
      L.marker([c.lat, c.lon], {
        title: (i + 1) + " " + c.name,
        icon: L.divIcon({className: "candidate-pin", html: String(i + 1), iconSize: [22, 22]})
      }).bindTooltip(esc((i + 1) + ". " + c.name)).on("click", function () { choose(i); }).addTo(map);
    });

    function choose(i) {
      if (!radios[i]) { return; }
      radios[i].checked = true;
      radios[i].focus();
      form.lon.value = "";
      form.lat.value = "";
      if (picked) { map.removeLayer(picked); picked = null; }
    }

    // A click on the map places the point: WGS-84 coordinates go into the form.
    map.on("click", function (e) {
      Array.prototype.forEach.call(radios, function (r) { r.checked = false; });
      form.lon.value = e.latlng.lng.toFixed(6);
      form.lat.value = e.latlng.lat.toFixed(6);
      form.crs.value = "wgs84";
      if (picked) { picked.setLatLng(e.latlng); } else {
        picked = L.circleMarker(e.latlng, {radius: 8, color: "#1565c0", weight: 3, fillOpacity: 0.4})
          .bindTooltip(esc(cfg.text.picked)).addTo(map);
      }
      map.getContainer().setAttribute("data-picked", form.lon.value + "," + form.lat.value);
    });

    // Keys 1-9 pick a candidate (not while typing coordinates); Enter submits as usual.
    document.addEventListener("keydown", function (e) {
      var tag = (e.target && e.target.tagName) || "";
      if (tag === "INPUT" && e.target.type !== "radio" || tag === "SELECT" || tag === "TEXTAREA") { return; }
      if (e.altKey || e.ctrlKey || e.metaKey) { return; }
      var n = Number(e.key);
      if (n >= 1 && n <= 9 && radios[n - 1]) { choose(n - 1); e.preventDefault(); }
    });

    var bounds = [];
    (cfg.candidates || []).forEach(function (c) { bounds.push([c.lat, c.lon]); });
    if (bounds.length > 1) { map.fitBounds(bounds, {padding: [30, 30], animate: false}); }
    map.getContainer().setAttribute("data-boundaries", String(
      (cfg.township ? cfg.township.features.length : 0) + (cfg.village ? cfg.village.features.length : 0)));
    map.getContainer().setAttribute("data-ready", "1");
  }

  global.qungong = global.qungong || {};
  global.qungong.reviewMap = reviewMap;
})(window);
