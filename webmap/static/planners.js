/* qungong planners' map: stations, table rows that zoom the map, the siting form. */
(function (global) {
  "use strict";

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function pct(x) { return (100 * x).toFixed(1) + "%"; }

  function csrfHeaders() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    var h = {"Content-Type": "application/json"};
    if (meta) { h["X-CSRFToken"] = meta.getAttribute("content"); }
    return h;
  }

  function stationsLayer(map, cfg, renderer) {
    var group = L.layerGroup();
    cfg.stations.forEach(function (s) {
      L.circleMarker([s[2], s[1]], {
        renderer: renderer, radius: 2.5, color: "#1f4e79", weight: 1, fillOpacity: 0.9, interactive: false
      }).addTo(group);
    });
    return group.addTo(map);
  }

  function linkTable(map, cfg) {
    var rows = document.querySelectorAll("#gaps tbody tr");
    rows.forEach(function (row) {
      row.addEventListener("click", function () {
        var b = cfg.bounds[row.getAttribute("data-code")];
        if (!b) { return; }
        rows.forEach(function (r) { r.classList.remove("picked"); });
        row.classList.add("picked");
        map.fitBounds(b, {maxZoom: 15, animate: false});
      });
    });
  }

  function filters() {
    var township = document.getElementById("township");
    var county = document.getElementById("county");
    var form = document.getElementById("filters");
    if (county) {
      county.addEventListener("change", function () { form.submit(); });
    }
    if (township) {
      township.addEventListener("change", function () {
        county.name = "";
        township.name = "area";
        form.submit();
      });
    }
  }

  function siteCsv(answer, t) {
    var lines = [[t.rank, t.name, t.lon, t.lat, t.adds].join(",")];
    answer.sites.forEach(function (s) {
      lines.push([s.rank, '"' + String(s.name).replace(/"/g, '""') + '"', s.lon, s.lat, s.adds].join(","));
    });
    return new Blob(["\ufeff" + lines.join("\r\n") + "\r\n"], {type: "text/csv"});
  }

  function showAnswer(answer, cfg, box, sitesLayer, map) {
    var t = cfg.text;
    var unit = answer.demand === "cases" ? t.cases : t.households;
    var html = '<p><span class="big" id="before">' + pct(answer.before.share) + "</span> → " +
      '<span class="big" id="after">' + pct(answer.after.share) + "</span></p>" +
      "<p>" + esc(t.before) + " " + Math.round(answer.before.covered) + " " + esc(unit) + "; " +
      esc(t.after) + " " + Math.round(answer.after.covered) + " " + esc(unit) + "; " +
      esc(answer.optimal ? t.optimal : t.notOptimal) + " (" + answer.seconds + " " + esc(t.seconds) + ")";
    if (answer.greedy) {
      html += "; " + esc(t.greedy) + " " + answer.greedy.shortfall_points.toFixed(2) + " " + esc(t.points);
    }
    html += '</p><table id="sites"><thead><tr><th>#</th><th class="name">' + esc(t.name) +
      "</th><th>" + esc(t.adds) + "</th></tr></thead><tbody>";
    sitesLayer.clearLayers();
    answer.sites.forEach(function (s) {
      html += "<tr><td>" + s.rank + '</td><td class="name">' + esc(s.name) + "</td><td>+" +
        Math.round(s.adds) + " (" + pct(s.adds_share) + ")</td></tr>";
      L.circle([s.lat, s.lon], {radius: answer.within_m, color: "#2e7d32", weight: 1, fillOpacity: 0.08})
        .addTo(sitesLayer);
      L.circleMarker([s.lat, s.lon], {radius: 7, color: "#fff", weight: 2, fillColor: "#2e7d32", fillOpacity: 1})
        .bindTooltip(esc(s.rank + ". " + s.name + " +" + Math.round(s.adds) + " " + unit))
        .addTo(sitesLayer);
    });
    html += "</tbody></table>";
    if (answer.close_pairs.length) {
      html += "<p>" + esc(t.pairs) + ": " + answer.close_pairs.slice(0, 10).map(function (p) {
        return esc(p.name_a) + " – " + esc(p.name_b) + " " + Math.round(p.distance_m) + " m";
      }).join("; ") + (answer.close_pairs.length > 10 ? " …(" + answer.close_pairs.length + ")" : "") + "</p>";
    }
    html += '<p><a id="sites-csv" download="sites.csv">CSV</a></p>';
    box.innerHTML = html;
    box.querySelector("#sites-csv").href = URL.createObjectURL(siteCsv(answer, t));
    box.hidden = false;
    if (answer.sites.length) { map.fitBounds(sitesLayer.getBounds(), {maxZoom: 13}); }
    map.getContainer().setAttribute("data-sites", String(answer.sites.length));
  }

  function siting(map, cfg, control) {
    var form = document.getElementById("siting");
    var progress = document.getElementById("siting-progress");
    var elapsed = document.getElementById("siting-elapsed");
    var box = document.getElementById("siting-result");
    var picking = document.getElementById("click-candidates");
    var sitesLayer = L.featureGroup().addTo(map);
    var clickedLayer = L.layerGroup().addTo(map);
    var clicked = [];
    control.addOverlay(sitesLayer, cfg.text.sites);
    map.on("click", function (e) {
      if (!picking.checked) { return; }
      clicked.push([e.latlng.lng, e.latlng.lat]);
      L.circleMarker(e.latlng, {radius: 5, color: "#6a1b9a", fillOpacity: 0.8}).addTo(clickedLayer);
      document.getElementById("clicked-count").textContent = clicked.length;
    });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var data = new FormData(form);
      var body = {
        area: cfg.area, generation: cfg.generation, sites: Number(data.get("sites")),
        within: Number(data.get("within")), method: data.get("method"), demand: data.get("demand")
      };
      if (clicked.length) { body.candidates = clicked; }
      var t0 = Date.now();
      box.hidden = true;
      progress.hidden = false;
      elapsed.textContent = cfg.text.running;
      var timer = setInterval(function () {
        elapsed.textContent = cfg.text.running + " " + ((Date.now() - t0) / 1000).toFixed(1) + " " + cfg.text.seconds;
      }, 200);
      form.querySelector("button").disabled = true;
      fetch(cfg.sitingUrl, {method: "POST", headers: csrfHeaders(), body: JSON.stringify(body), credentials: "same-origin"})
        .then(function (r) { return r.json().then(function (j) { return {ok: r.ok, json: j}; }); })
        .then(function (res) {
          if (!res.ok) { throw new Error(res.json.message || cfg.text.failed); }
          showAnswer(res.json, cfg, box, sitesLayer, map);
        })
        .catch(function (err) {
          box.innerHTML = '<p class="error">' + esc(cfg.text.failed) + ": " + esc(err.message) + "</p>";
          box.hidden = false;
        })
        .finally(function () {
          clearInterval(timer);
          progress.hidden = true;
          form.querySelector("button").disabled = false;
        });
    });
  }

  function planners(map, control, cfg) {
    var renderer = map.getRenderer(L.polyline([]));
    control.addOverlay(stationsLayer(map, cfg, renderer), cfg.text.stations);
    linkTable(map, cfg);
    filters();
    siting(map, cfg, control);
    // for tests and scripts: the map object, and a mark that the page is wired up
    global.qungongMap = map;
    map.getContainer().setAttribute("data-ready", "1");
  }

  global.qungong = global.qungong || {};
  global.qungong.planners = planners;
})(window);
