"""Import boundary files into a generation: read, repair, validate, link, write in one transaction.

Dry run is the default: the file is read and checked against the database and a report comes
back; nothing is written.  With ``commit=True`` the same checks run and, only if none failed,
the units, the import_batch row and the audit entry go in together.  A file with any error
leaves the database exactly as it was (all-or-nothing).
"""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy.orm import Session

from ingest.area import refuse_outside
from ingest.boundary_units import prepare_units
from ingest.errors import IngestError
from ingest.fields import LEVELS, PARENT_LEVEL
from ingest.files import Limits, VectorData, read_vector
from ingest.hierarchy import Nesting, check_nesting, link_parents, to_metric
from ingest.report import ImportReport, record_committed
from models import units as unit_queries
from models.db import transaction
from models.registers import audit as audit_entry
from models.registers import committed_batch, lock_imports
from models.schema import Generation

KIND = "boundaries"
DEFAULT_TOLERANCE_M2 = 100.0


def import_boundaries(
    url: str,
    path: str | Path,
    *,
    level: str | None = None,
    generation: str | None = None,
    base: str | None = None,
    valid_from: dt.date | None = None,
    fields: dict[str, str] | None = None,
    encoding: str | None = None,
    crs: str | int | None = None,
    layer: str | None = None,
    commit: bool = False,
    username: str = "cli",
    name: str | None = None,
    limits: Limits | None = None,
    tolerance_m2: float = DEFAULT_TOLERANCE_M2,
    area: str | None = None,
) -> ImportReport:
    """Check a boundary file and, with ``commit=True``, load it into a generation.

    Parameters
    ----------
    url
        Database URL (see :func:`models.db.database_url`).
    path
        .shp, .zip of a shapefile, .gpkg or .geojson.
    level
        ``county``, ``township``, ``village`` or ``group``; every feature must be of it.
        Default: each feature's level from its code.
    generation
        Generation to load into; created (inactive unless it is the first) when missing.
        Default: a new one named for today (``20261129``), which later files of the same
        day join; never an older generation unless it is named.
    base
        Make ``generation`` (which must be new) from the generation ``base``: every unit is
        copied except, in the counties the file covers, those at the file's levels and
        finer, which the file replaces (a county's new village boundaries).  Checked for
        nesting like any import.
    valid_from
        Date the generation takes effect, stored when it is created.
    fields
        Explicit field mapping, e.g. ``{"code": "XZQDM", "name": "XZQMC"}``; keys ``code``,
        ``name``, ``households``, ``population``.
    encoding
        Text encoding of a shapefile (default: .cpg, else detected).
    crs
        Coordinate system when the file has none or a wrong one, e.g. ``"EPSG:4546"``.
    layer
        GeoPackage layer.
    commit
        Write when the checks pass; otherwise only report.
    username
        Who imports, for import_batch and the audit log.
    name
        The file's name as the user knows it (for uploads saved under a temporary name).
    limits
        Upload and zip size limits.
    tolerance_m2
        Spills, gaps and overlaps up to this area (m²) are not reported.
    area
        The uploading user's area code: a feature whose unit lies outside it is an error and
        the file is rejected (:func:`ingest.area.refuse_outside`); None for the operator.

    Returns
    -------
    ImportReport
        ``status`` is ``"committed"``, ``"dry_run"``, ``"rejected"`` (errors, nothing
        written) or ``"already_imported"``.

    Raises
    ------
    IngestError
        When the file cannot be read at all (missing parts, unknown CRS, unsafe zip, ...).
    """
    if level is not None and level not in LEVELS:
        msg = f"unknown level {level!r}: use one of {', '.join(LEVELS)}"
        raise IngestError(name or Path(path).name, msg)
    generation = generation or default_generation_name()
    report = ImportReport(kind=KIND, file=name or Path(path).name, generation=generation)
    with report.timed("read"):
        data = read_vector(path, name=name, encoding=encoding, crs=crs, layer=layer, limits=limits)
    units = _file_units(data, level=level, fields=fields, report=report)
    if refuse_outside(report, [f"feature {row}" for row in units["row"]], units["code"], area):
        report.status = "rejected"  # before the transaction: no --base copy for a refused file
        return report
    with transaction(url) as session:
        if commit:
            lock_imports(session)
        earlier = committed_batch(session, KIND, report.sha256, generation=generation)
        if earlier is not None:
            return report.already_imported(earlier.id, earlier.started_at, earlier.username)
        # A dry run from a base copies it inside a savepoint that is rolled back.
        trial = session.begin_nested() if base is not None and not commit else None
        gen = unit_queries.get_generation(session, generation)
        if base is not None:
            gen = _from_base(session, base, generation, units, report, valid_from=valid_from)
        with report.timed("link"):
            units, candidates = _link(session, gen.id if gen else None, units, report)
        if not report.ok or not commit:
            if report.ok:
                with report.timed("nesting"):
                    _report_nesting(units, candidates, tolerance_m2, report)
            if trial is not None:
                trial.rollback()
            report.status = "dry_run" if report.ok else "rejected"
            return report
        gen, created = unit_queries.ensure_generation(session, generation, valid_from=valid_from)
        _write_units(session, gen.id, units, candidates, report, tolerance_m2=tolerance_m2)
        report.details["generation_created"] = created
        report.details["generation_active"] = gen.active
        record_committed(session, report, kind=KIND, username=username)
    return report


def _file_units(
    data: VectorData, *, level: str | None, fields: dict[str, str] | None, report: ImportReport
) -> pd.DataFrame:
    """The file's units, checked on their own (no database); the report names the file."""
    report.file = data.name
    report.sha256 = data.sha256
    report.details.update({"crs": data.crs_source, "encoding": data.encoding, "layer": data.layer})
    with report.timed("check"):
        return prepare_units(data.frame, data.name, level=level, fields=fields, report=report)


def _write_units(
    session: Session,
    generation_id: int,
    units: pd.DataFrame,
    candidates: pd.DataFrame,
    report: ImportReport,
    *,
    tolerance_m2: float,
) -> None:
    """COPY the units into the generation while their nesting is measured beside it.

    Nesting findings are warnings: they never stop the commit, so the server can take the
    COPY (and its index and foreign-key work) while Python measures them.  The checks read
    their own snapshot, as the write swaps in the real ids.
    """
    checked = units.copy()
    ids = unit_queries.allocate_unit_ids(session, len(units))
    _assign_ids(units, ids)
    units["generation_id"] = generation_id
    with ThreadPoolExecutor(max_workers=1) as pool:
        write_started = time.perf_counter()
        # Leaving the pool waits for the COPY, so the transaction never ends under it.
        written = pool.submit(unit_queries.copy_units, session, units)
        with report.timed("nesting"):
            _report_nesting(checked, candidates, tolerance_m2, report)
        written.result()
        report.timings["write"] = time.perf_counter() - write_started


def default_generation_name(today: dt.date | None = None) -> str:
    """Today's generation name (``20261129``): new unless an import today already made it."""
    return f"{today or dt.date.today():%Y%m%d}"


def _from_base(
    session: Session,
    base: str,
    generation: str,
    units: pd.DataFrame,
    report: ImportReport,
    *,
    valid_from: dt.date | None,
) -> Generation:
    """Create ``generation`` as a copy of ``base`` without the units the file replaces."""
    base_gen = unit_queries.get_generation(session, base)
    if base_gen is None:
        raise IngestError(report.file, f"base generation {base!r} does not exist")
    if unit_queries.get_generation(session, generation) is not None:
        msg = f"generation {generation!r} exists; --base makes a new one: pass a new --generation"
        raise IngestError(report.file, msg)
    gen, _created = unit_queries.ensure_generation(session, generation, valid_from=valid_from)
    counties = sorted(set(units["county_code"]))
    finest = min(LEVELS.index(lv) for lv in units["level"]) if len(units) else len(LEVELS)
    levels = list(LEVELS[finest:])
    copied = unit_queries.copy_generation(
        session, base_gen.id, gen.id, counties=counties, levels=levels
    )
    report.details.update(base=base, base_counties=counties, base_levels=levels)
    report.counts["copied_from_base"] = copied["copied"]
    report.counts["replaced_from_base"] = copied["replaced"]
    return gen


def _link(
    session: Session,
    generation_id: int | None,
    units: pd.DataFrame,
    report: ImportReport,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check codes against the generation and link parents; fill parent_id.

    Returns the units and the parent candidates (file and database) for :func:`_nesting`.
    """
    # Until the real ids exist (commit), file units carry negative stand-ins.
    units["id"] = -np.arange(1, len(units) + 1, dtype=np.int64)
    where = "feature " + units["row"].astype(str)
    if generation_id is not None and len(units):
        # Fetch the generation's codes at the file's levels rather than send every code.
        levels = tuple(sorted(set(units["level"])))
        clash = unit_queries.units_frame(session, generation_id, levels=levels, with_geom=False)
        clash_codes = set(clash["code"])
        for i in np.flatnonzero(units["code"].isin(clash_codes).to_numpy()):
            report.add(
                "error",
                where.iat[i],
                f"unit {units['code'].iat[i]} is already in generation {report.generation}; "
                "import changed boundaries into a new generation (generation=...)",
                "该版本中已有此代码",
            )
    parent_levels = tuple(sorted({PARENT_LEVEL[lv] for lv in units["level"] if lv in PARENT_LEVEL}))
    from_db = (
        unit_queries.units_frame(session, generation_id, levels=parent_levels)
        if generation_id is not None and parent_levels
        else pd.DataFrame(columns=["id", "code", "level", "geom"])
    )
    from_file = units.loc[units["level"].isin(parent_levels), ["id", "code", "level", "geom"]]
    candidates = pd.concat([from_file, from_db[["id", "code", "level", "geom"]]], ignore_index=True)
    links = link_parents(units, candidates)
    for pos, kind, message, zh in links.problems:
        report.add(kind, where.iat[pos], message, zh)
    units["parent_id"] = links.parent_id.to_numpy()
    report.counts["linked_by_code"] = int((links.method == "code").sum())
    report.counts["linked_by_containment"] = int((links.method == "containment").sum())

    return units, candidates


def _nesting(units: pd.DataFrame, candidates: pd.DataFrame, tolerance_m2: float) -> Nesting:
    """Spills, gaps and sibling overlaps (pure computation: safe to run beside the COPY)."""
    geoms = np.asarray(units["geom"].to_numpy(), dtype=object)
    metric = np.asarray(units["geom_m"].to_numpy(), dtype=object)
    # Files in EPSG:4546 keep their own coordinates; only merged units need projecting.
    missing = shapely.is_missing(metric)
    if missing.any():
        metric = metric.copy()
        metric[missing] = to_metric(geoms[missing])
    return check_nesting(
        geoms,
        units["parent_id"],
        candidates[["id", "geom"]].drop_duplicates("id"),
        tolerance_m2=tolerance_m2,
        child_metric=metric,
        partition=units["county_code"].to_numpy(),
    )


def _report_nesting(
    units: pd.DataFrame, candidates: pd.DataFrame, tolerance_m2: float, report: ImportReport
) -> None:
    """Measure spills, gaps and overlaps and add each as a warning."""
    nesting = _nesting(units, candidates, tolerance_m2)
    rows = units["row"].to_numpy()
    codes = units["code"].to_numpy()
    levels = units["level"].to_numpy()
    names = units["name"].to_numpy()
    parents = units["parent_id"].to_numpy()
    code_of = candidates.drop_duplicates("id").set_index("id")["code"]
    for pos, area in nesting.spills:
        level = levels[pos]
        report.add(
            "warning",
            f"feature {rows[pos]}",
            f"{level} {codes[pos]} ({names[pos]}) lies {area:,.0f} m² outside its "
            f"{PARENT_LEVEL[level]} {code_of[parents[pos]]}",
            f"超出上级范围 {area:,.0f} 平方米",
        )
    for pid, area in nesting.gaps:
        report.add(
            "warning",
            f"unit {code_of[pid]}",
            f"{area:,.0f} m² of {code_of[pid]} is covered by none of its units in this file (gap)",
            f"下级单位之间有空隙 {area:,.0f} 平方米",
        )
    for a, b, area in nesting.overlaps:
        report.add(
            "warning",
            f"features {rows[a]}, {rows[b]}",
            f"{levels[a]} {codes[a]} and {levels[b]} {codes[b]} overlap by {area:,.0f} m²",
            f"相邻单位重叠 {area:,.0f} 平方米",
        )


def _assign_ids(units: pd.DataFrame, ids: np.ndarray) -> None:
    """Swap the negative stand-in ids (and parent ids pointing at them) for real ones."""
    real = pd.Series(ids, index=units["id"].to_numpy())
    parent = units["parent_id"].astype("Int64")
    stand_in = parent.notna() & (parent < 0)
    parent[stand_in] = real.reindex(parent[stand_in].to_numpy()).to_numpy()
    units["parent_id"] = parent
    units["id"] = ids


def list_generations(url: str) -> list[dict[str, Any]]:
    """Generations, oldest first: name, valid_from, active, created_at, counts per level."""
    with transaction(url) as session:
        return unit_queries.generation_summaries(session)


def activate_generation(url: str, name: str, *, username: str = "cli") -> None:
    """Switch live lookups to generation ``name`` in one transaction (audited).

    Raises
    ------
    LookupError
        If there is no such generation.
    """
    with transaction(url) as session:
        unit_queries.activate_generation(session, name)
        audit_entry(session, username=username, action="generation.activate", detail={"name": name})
