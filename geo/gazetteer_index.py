"""The name indexes behind :class:`geo.geocode.Gazetteer`, built once from a units table.

Units are numbered in parent-first order; each gets its parent, its active equivalent
(``canon``) and its county, and every spelling people use for its name goes into one
dictionary (``vocab``) that the scan in :mod:`geo.geocode` probes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

import pandas as pd

from geo.address_text import (
    _CITY,
    _COUNTY,
    _GROUP,
    _TOWNSHIP,
    _VILLAGE,
    LEVELS,
    core_name,
    group_number,
    name_variants,
)

__all__ = ["GazetteerIndex"]


class GazetteerIndex:
    """The units of every generation and the look-up tables over their names.

    Build it with :meth:`from_units`; :class:`geo.geocode.Gazetteer` answers addresses with it.
    """

    def __init__(self) -> None:
        self.active_generation: str = ""
        self._code: list[str] = []
        self._name: list[str] = []
        self._level: list[int] = []
        self._parent: list[int] = []
        self._canon: list[int] = []
        self._county: list[int] = []
        self._lon: list[float | None] = []
        self._lat: list[float | None] = []
        self._generation: list[str] = []
        self._active: list[bool] = []
        self._vocab: dict[str, tuple[tuple[int, bool], ...]] = {}
        self._lengths: dict[str, tuple[int, ...]] = {}
        self._groups: dict[tuple[int, int], int] = {}
        self._children: dict[int, list[int]] = {}
        self._county_villages: dict[int, list[int]] = {}
        self._cache: dict[tuple[str, str | None, str | None], Any] = {}

    # ------------------------------------------------------------------ building
    @classmethod
    def from_units(
        cls,
        units: pd.DataFrame,
        *,
        active_generation: str,
        successors: Mapping[str, str] | None = None,
    ) -> Self:
        """Build the gazetteer from a units table.

        Parameters
        ----------
        units : pandas.DataFrame
            Columns ``generation, level, code, name, parent_code, county_code, lon, lat`` and
            optionally ``successor_code`` (active-generation unit containing a historic unit).
        active_generation : str
            The generation whose units are current.
        successors : Mapping[str, str], optional
            Historic code -> active code, used where ``successor_code`` is absent or empty.
            Historic units with neither get the active unit with the same code, or else the
            active unit of the same name under the same (active) parent.

        Returns
        -------
        Gazetteer
        """
        required = {"generation", "level", "code", "name", "parent_code", "lon", "lat"}
        missing = required - set(units.columns)
        if missing:
            msg = f"units table lacks columns: {sorted(missing)}"
            raise ValueError(msg)
        generations = units["generation"].astype(str)
        if not (generations == str(active_generation)).any():
            msg = f"no units of the active generation {active_generation!r}"
            raise ValueError(msg)
        self = cls()
        self.active_generation = str(active_generation)
        self._load_units(units, generations, successors or {})
        self._build_indexes()
        return self

    def _load_units(
        self, units: pd.DataFrame, generations: pd.Series, successors: Mapping[str, str]
    ) -> None:
        level_of = {name: i for i, name in enumerate(LEVELS)}
        levels = units["level"].map(level_of)
        if levels.isna().any():
            bad = sorted(set(units.loc[levels.isna(), "level"].astype(str)))
            msg = f"unknown unit levels: {bad}"
            raise ValueError(msg)
        succ_col = (
            units["successor_code"].tolist()
            if "successor_code" in units.columns
            else [None] * len(units)
        )
        # Parents first, so each unit's parent (and its canonical form) is known when it comes.
        order = levels.to_numpy().argsort(kind="stable")
        cols = {c: units[c].tolist() for c in ("code", "name", "parent_code", "lon", "lat")}
        gens = generations.tolist()
        lvls = levels.astype(int).tolist()
        index: dict[tuple[str, str], int] = {}
        active_by_code: dict[str, int] = {}
        active_child_by_name: dict[tuple[int, str], int] = {}
        pending_succ: list[tuple[int, str | None]] = []
        for row in order.tolist():
            code = str(cols["code"][row])
            gen = gens[row]
            level = lvls[row]
            parent_code = cols["parent_code"][row]
            parent = index.get((gen, str(parent_code)), -1) if isinstance(parent_code, str) else -1
            i = len(self._code)
            self._code.append(code)
            self._name.append(str(cols["name"][row]))
            self._level.append(level)
            self._parent.append(parent)
            self._lon.append(_as_float(cols["lon"][row]))
            self._lat.append(_as_float(cols["lat"][row]))
            self._generation.append(gen)
            is_active = gen == self.active_generation
            self._active.append(is_active)
            index[(gen, code)] = i
            if is_active:
                active_by_code[code] = i
                self._canon.append(i)
                if parent >= 0:
                    active_child_by_name[(parent, self._name[i])] = i
                    # 邵东县 -> 邵东市: a county or township renamed only in its suffix.
                    core = core_name(self._name[i], level)
                    key = (parent, "core:" + core)
                    active_child_by_name[key] = -2 if key in active_child_by_name else i
            else:
                self._canon.append(-1)
                succ = succ_col[row]
                succ = succ if isinstance(succ, str) and succ else successors.get(code)
                pending_succ.append((i, succ))
        for i, succ in pending_succ:
            self._canon[i] = self._historic_canon(i, succ, active_by_code, active_child_by_name)
        self._assign_counties()

    def _historic_canon(
        self,
        i: int,
        succ: str | None,
        active_by_code: Mapping[str, int],
        active_child_by_name: Mapping[tuple[int, str], int],
    ) -> int:
        """The active unit a historic unit ``i`` now is: its named successor, else the same
        code, else the same (or suffix-renamed) name under its parent's active unit.

        Called in parent-first order: the fallback by name needs the parent's canon.
        """
        canon = active_by_code.get(succ, -1) if succ else -1
        if canon < 0 and not succ:
            canon = active_by_code.get(self._code[i], -1)
            if canon < 0:
                parent = self._parent[i]
                parent_canon = self._canon[parent] if parent >= 0 else -1
                if parent_canon >= 0:
                    canon = active_child_by_name.get((parent_canon, self._name[i]), -1)
                    if canon < 0 and self._level[i] in (_COUNTY, _TOWNSHIP):
                        core = core_name(self._name[i], self._level[i])
                        canon = active_child_by_name.get((parent_canon, "core:" + core), -1)
        # A historic unit with no active equivalent stands for itself.
        return canon if canon >= 0 else i

    def _assign_counties(self) -> None:
        """Each unit's county (as its active canon), found by walking up the parents."""
        for i in range(len(self._code)):
            j = i
            while j >= 0 and self._level[j] > _COUNTY:
                j = self._parent[j]
            self._county.append(self._canon[j] if j >= 0 and self._level[j] == _COUNTY else -1)

    def _build_indexes(self) -> None:
        vocab: dict[str, list[tuple[int, bool]]] = {}
        for i, level in enumerate(self._level):
            if level == _GROUP:
                village = self._parent[i]
                number = group_number(self._code[i], self._name[i])
                if village >= 0 and number is not None:
                    self._groups[(village, number)] = i
                continue
            canon = self._canon[i]
            # A historic unit whose name lives on in its successor adds nothing to look up.
            if canon != i and self._name[canon] == self._name[i]:
                continue
            if level in (_TOWNSHIP, _VILLAGE) and self._parent[i] >= 0:
                self._children.setdefault(self._canon[self._parent[i]], []).append(i)
            if level == _VILLAGE and self._county[i] >= 0:
                self._county_villages.setdefault(self._county[i], []).append(i)
            for variant, full in name_variants(self._name[i], level):
                vocab.setdefault(variant, []).append((i, full))
        city_short = {v for i, lvl in enumerate(self._level) if lvl == _CITY
                      for v, _ in name_variants(self._name[i], _CITY)}  # fmt: skip
        city_short |= {"邵阳市", "邵阳"}
        for variant, hits in vocab.items():
            # ``邵阳`` is the city, not 邵阳县, unless written in full.
            if variant in city_short:
                hits[:] = [h for h in hits if h[1] or self._level[h[0]] == _CITY]
        self._vocab = {k: tuple(v) for k, v in vocab.items() if v}
        lengths: dict[str, set[int]] = {}
        for variant in self._vocab:
            lengths.setdefault(variant[:2], set()).add(len(variant))
        self._lengths = {k: tuple(sorted(v, reverse=True)) for k, v in lengths.items()}


def _as_float(value: object) -> float | None:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if out != out else out
