"""Geocode the demo's own case register before and after a change, and count contradictions.

Reads the demo's ``cases.csv`` (GBK) and ``cases_truth.csv`` and the units of a loaded demo
database, then geocodes every address with two versions of :mod:`geo.geocode`: the one at a
git revision (``--before``, default the commit before issue #14) and the working tree's.

For each it prints:

- how often a *matched* answer lies outside a county or township named in the address.  What
  the address names is decided here, independently of the geocoder: a county is named when
  its full name (any generation) is written, or its short name starts the address (after
  ``湖南省``/``邵阳市``); a township when its full name is written (``竹市镇``, ``石桥街道``).
- village accuracy against the truth file, and the share matched / ambiguous / unmatched;
- for the addresses that wait for review (ambiguous), how many the hint "the county the case
  number begins with" resolves, and how many of those are right.

The anchor is the geocoder before the change, run in the same process on the same addresses.

Run: ``DATABASE_URL=... .venv/bin/python bench/geocode_demo_bench.py [--before REV]``
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo import geocode as after_module  # noqa: E402

BEFORE_REV = "e0f1225"
_COUNTY_SUFFIXES = ("苗族自治县", "自治县", "县", "市", "区")


def load_module_at(rev: str):
    """``geo/geocode.py`` as it was at git revision ``rev``, imported under another name."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:geo/geocode.py"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    path = Path(tempfile.mkdtemp()) / "geocode_before.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("geocode_before", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["geocode_before"] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def load_units(url: str, cache: Path) -> tuple[pd.DataFrame, str]:
    if cache.exists():
        units = pd.read_pickle(cache)
        return units, str(units.attrs["active"])
    from models import activity as queries
    from models.db import session_factory

    with session_factory(url)() as session:
        units, active = queries.gazetteer_units(session)
        session.rollback()
    units.attrs["active"] = active
    units.to_pickle(cache)
    return units, str(active)


class NamedPlaces:
    """Which counties and townships an address names, by plain string search."""

    def __init__(self, units: pd.DataFrame) -> None:
        counties = units[units["level"] == "county"]
        townships = units[units["level"] == "township"]
        self.county_full = set(counties["name"])
        self.county_short: dict[str, set[str]] = {}
        for name in self.county_full:
            for suffix in _COUNTY_SUFFIXES:
                if name.endswith(suffix) and len(name) - len(suffix) >= 2:
                    self.county_short.setdefault(name[: -len(suffix)], set()).add(name)
                    break
        self.county_short.pop("邵阳", None)  # the city's name, not 邵阳县
        self.township_full = set(townships["name"])
        self._county_re = re.compile("|".join(sorted(self.county_full, key=len, reverse=True)))
        self._township_re = re.compile("|".join(sorted(self.township_full, key=len, reverse=True)))

    def named(self, text: str) -> tuple[set[str], set[str]]:
        counties = set(self._county_re.findall(text))
        head = re.sub(r"^(?:湖南省|湖南)?(?:邵阳市)?", "", text)
        for short, full in self.county_short.items():
            if head.startswith(short):
                counties |= full
        return counties, set(self._township_re.findall(text))


def chains(units: pd.DataFrame) -> dict[str, tuple[set[str], set[str]]]:
    """Code -> (county names, township names) of the unit, in its generation and its successor's."""
    by_gen = {g: rows.set_index("code") for g, rows in units.groupby("generation")}
    out: dict[str, tuple[set[str], set[str]]] = {}
    for _gen, rows in by_gen.items():
        parent = rows["parent_code"].to_dict()
        name = rows["name"].to_dict()
        level = rows["level"].to_dict()
        for code in rows.index[rows["level"].isin(["township", "village", "group"])]:
            county, township = set(), set()
            j = code
            while j in level:
                if level[j] == "county":
                    county.add(name[j])
                elif level[j] == "township":
                    township.add(name[j])
                j = parent.get(j)
            c0, t0 = out.get(code, (set(), set()))
            out[code] = (c0 | county, t0 | township)
    return out


def spatial_names(url: str, cache: Path) -> dict[str, tuple[set[str], set[str]]]:
    """Active village/township code -> names of the counties and townships of *any* generation
    that contain its representative point (黄荆乡 of 2023 covers villages of 2013's 马头乡)."""
    if cache.exists():
        return pd.read_pickle(cache)
    from sqlalchemy import text

    from models.db import session_factory

    sql = text(
        """
        SELECT v.code, p.level, p.name
        FROM admin_unit v JOIN generation g ON g.id = v.generation_id AND g.active
        JOIN admin_unit p ON p.level IN ('county', 'township')
             AND ST_Intersects(p.geom, ST_PointOnSurface(v.geom))
        WHERE v.level IN ('village', 'township')
        """
    )
    out: dict[str, tuple[set[str], set[str]]] = {}
    with session_factory(url)() as session:
        for code, level, name in session.execute(sql):
            entry = out.setdefault(code, (set(), set()))
            entry[0 if level == "county" else 1].add(name)
    pd.to_pickle(out, cache)
    return out


def merge_spatial(chain: dict, spatial: dict) -> None:
    for code, (c0, t0) in list(chain.items()):
        c1, t1 = spatial.get(code[:12], (set(), set()))
        chain[code] = (c0 | c1, t0 | t1)


def contradictions(found: pd.DataFrame, named: list, chain: dict) -> tuple[int, list[int]]:
    """Matched answers whose county or township is not among those the address names."""
    bad = []
    status = found["status"].to_numpy()
    for i, (code, succ) in enumerate(zip(found["code"], found["successor_code"], strict=True)):
        if status[i] != "matched" or not isinstance(code, str):
            continue
        c_named, t_named = named[i]
        if not c_named and not t_named:
            continue
        counties, townships = chain.get(code, (set(), set()))
        if isinstance(succ, str):
            c2, t2 = chain.get(succ, (set(), set()))
            counties, townships = counties | c2, townships | t2
        if (c_named and not counties & c_named) or (
            t_named and townships and not townships & t_named
        ):
            bad.append(i)
    return len(bad), bad


def village_right(found: pd.DataFrame, truth_village: np.ndarray) -> np.ndarray:
    code = found["successor_code"].fillna(found["code"]).fillna("").to_numpy(object)
    return (found["status"].to_numpy() == "matched") & (
        np.array([c[:12] for c in code], dtype=object) == truth_village
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--before", default=BEFORE_REV, help="git revision of the 'before' geocoder"
    )
    parser.add_argument(
        "--demo", default=str(Path(os.environ.get("QUNGONG_HOME", "/work/main/var")) / "demo")
    )
    parser.add_argument("--units-cache", default="/tmp/qungong_bench_units.pkl")
    parser.add_argument("--show", type=int, default=5, help="examples of contradictions to print")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:54329/qungong")

    units, active = load_units(url, Path(args.units_cache))
    cases = pd.read_csv(Path(args.demo) / "cases.csv", encoding="gbk", dtype=str)
    truth = pd.read_csv(Path(args.demo) / "cases_truth.csv", dtype=str).set_index("case_no")
    addresses = cases["地址"].tolist()
    case_no = cases["案件编号"].to_numpy(object)
    hint = np.array([c[:6] if isinstance(c, str) else None for c in case_no], dtype=object)
    truth_village = truth.reindex(case_no)["village_code"].to_numpy(object)
    places = NamedPlaces(units)
    named = [places.named(after_module.normalise_address(a)) for a in addresses]
    chain = chains(units)
    merge_spatial(chain, spatial_names(url, Path(args.units_cache).with_suffix(".spatial.pkl")))
    print(f"demo: {len(addresses):,} case addresses, {len(units):,} units, active {active}")

    before = load_module_at(args.before)
    runs = {}
    for label, module in (("before", before), ("after", after_module)):
        gaz = module.Gazetteer.from_units(units, active_generation=active)
        t0 = time.perf_counter()
        found = gaz.geocode_many(addresses)
        speed = len(addresses) / (time.perf_counter() - t0)
        runs[label] = (gaz, found)
        n_bad, bad = contradictions(found, named, chain)
        right = village_right(found, truth_village)
        status = found["status"].value_counts()
        matched = int(status.get("matched", 0))
        print(f"\n{label} ({args.before if label == 'before' else 'working tree'}):"
              f" {speed:,.0f} addresses/s")  # fmt: skip
        print(f"  matched {matched:,}  ambiguous {int(status.get('ambiguous', 0)):,}"
              f"  unmatched {int(status.get('unmatched', 0)):,}")  # fmt: skip
        print(f"  matched answers contradicting a named county/township: {n_bad:,}"
              f" ({n_bad / max(1, matched):.3%} of matched; target 0)")  # fmt: skip
        print(
            f"  matched village right {right.sum():,} / wrong {(found['status'] == 'matched').sum() - right.sum():,}"
        )
        for i in bad[: args.show]:
            print(f"    {addresses[i]} -> {found['code'][i]} ({found['reason'][i]})")

    gaz, found = runs["after"]
    _, found_before = runs["before"]
    for label, base in (("before", found_before), ("after", found)):
        waiting = np.flatnonzero(base["status"].to_numpy() == "ambiguous")
        cands = base["candidates"].to_numpy(object)
        one_inside = sum(1 for i in waiting if sum(c[:6] == hint[i] for c in cands[i]) == 1)
        t0 = time.perf_counter()
        hinted = gaz.geocode_many([addresses[i] for i in waiting], counties=hint[waiting].tolist())
        hint_time = time.perf_counter() - t0
        resolved = hinted["status"].to_numpy() == "matched"
        right = village_right(hinted, truth_village[waiting])
        n_bad, _ = contradictions(hinted, [named[i] for i in waiting], chain)
        print(f"\nwaiting for review with the {label} geocoder: {len(waiting):,}; exactly one "
              f"candidate in the case number's county: {one_inside:,}")  # fmt: skip
        print(f"  re-geocoded with the case number's county as hint: {resolved.sum():,} matched "
              f"({right.sum():,} right village, {resolved.sum() - right.sum():,} wrong, {n_bad} "
              f"contradicting), {len(waiting) - resolved.sum():,} still wait; {hint_time:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
