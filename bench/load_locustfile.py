"""Locust users for bench/load_bench.py (run by it, one mix at a time: ``QG_MIX``).

Every user signs in once as the demo leader (form log-in with its CSRF token), then repeats
its mix with a think time of 0.5-2 s, as people at their desks do:

- ``cached``: the leaders' page and layers with filters the bench warmed beforehand;
- ``uncached``: the hotspot layer with a filter nobody asked before (a fresh date range and
  area each time), so every request computes Gi* from the count cube;
- ``mixed``: network page, units of a map view, point lookups, geocoding of one address,
  cached and uncached leaders' layers.

The request named ``log-in`` is reported apart: it is not part of any mix.
"""

from __future__ import annotations

import itertools
import os
import random
import re

from locust import HttpUser, between, task

PASSWORD = os.environ.get("QG_PASSWORD", "qungong-demo")
USER = os.environ.get("QG_USER", "leader")
MIX = os.environ.get("QG_MIX", "mixed")
COOKIE = os.environ.get("QG_COOKIE", "")
# Filters warmed by the bench before the cached mix (see load_bench.CACHED).
CACHED = [f for f in os.environ.get("QG_CACHED", "").split("|") if f]
ADDRESSES = [a for a in os.environ.get("QG_ADDRESSES", "").split("|") if a]
AREAS = [a for a in os.environ.get("QG_AREAS", "").split("|") if a] or ["430500000000"]
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_SEQ = itertools.count()


def fresh_filter() -> str:
    """A leaders' filter no request asked before (a unique month range in a random area)."""
    n = next(_SEQ) + os.getpid() * 1000
    start = 2012 * 12 + n % 24
    end = start + 1 + (n // 24) % 12
    area = random.choice(AREAS)
    kinds = random.choice(["dispute", "petition", "service", "dispute,petition"])
    return (
        f"kind={kinds}&from={start // 12}-{start % 12 + 1:02d}"
        f"&to={end // 12}-{end % 12 + 1:02d}&area={area}"
    )


class Leader(HttpUser):
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        if COOKIE:
            # The bench signed in once: 200 log-ins (a deliberately slow password hash each)
            # would otherwise be most of what the server does in the first minute.
            name, _, value = COOKIE.partition("=")
            self.client.cookies.set(name, value)
            return
        page = self.client.get("/auth/login", name="log-in")
        token = _CSRF.search(page.text)
        self.client.post(
            "/auth/login",
            data={
                "username": USER,
                "password": PASSWORD,
                "csrf_token": token.group(1) if token else "",
            },
            name="log-in",
            allow_redirects=False,
        )

    def _cached(self) -> None:
        query = random.choice(CACHED or [""])
        layer = random.choice(["page", "heat", "rates", "hotspots"])
        if layer == "page":
            self.client.get(f"/leaders/?{query}", name="cached: leaders page")
        else:
            self.client.get(f"/api/leaders/{layer}?{query}", name=f"cached: {layer}")

    def _uncached(self) -> None:
        self.client.get(f"/api/leaders/hotspots?{fresh_filter()}", name="uncached: hotspots")

    @task
    def run_mix(self) -> None:
        if MIX == "cached":
            self._cached()
        elif MIX == "uncached":
            self._uncached()
        else:
            self._mixed()

    def _mixed(self) -> None:
        roll = random.random()
        lon, lat = random.uniform(110.8, 111.6), random.uniform(26.8, 27.6)
        if roll < 0.15:
            self.client.get("/", name="mixed: network page")
        elif roll < 0.35:
            w, s = lon - 0.05, lat - 0.03
            self.client.get(
                f"/api/units?level=village&bbox={w:.3f},{s:.3f},{w + 0.1:.3f},{s + 0.06:.3f}",
                name="mixed: units in view",
            )
        elif roll < 0.55:
            self.client.get(
                f"/api/units/at?lon={lon:.5f}&lat={lat:.5f}", name="mixed: point lookup"
            )
        elif roll < 0.7 and ADDRESSES:
            address = random.choice(ADDRESSES)
            self.client.get("/api/geocode", params={"address": address}, name="mixed: geocode")
        elif roll < 0.92:
            self._cached()
        else:
            self._uncached()
