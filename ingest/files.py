"""Open boundary files safely: shapefiles (also zipped), GeoPackages and GeoJSON, with encoding and CRS.

Everything that can go wrong before a single feature is looked at is caught here and raised as
:class:`~ingest.errors.IngestError` naming the file and the problem: missing shapefile parts, a
truncated ``.shp``, text in an unexpected encoding, no or unknown coordinate system, data that
lands far from Shaoyang, unsafe or oversized zips.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import stat
import struct
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import geopandas as gpd
import pyogrio
import pyproj

from ingest.crs import SHAOYANG_BOUNDS, check_near_shaoyang, crs_label, parse_crs
from ingest.encodings import normalise_encoding, sniff
from ingest.errors import IngestError, UnsafeArchiveError

VECTOR_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json")
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")

# dBASE language driver ids that name a Chinese code page.
_LDID_ENCODINGS = {0x4D: "GBK", 0x7A: "GBK"}
_DETECT_SAMPLE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Size limits for uploads and zips (bytes); the defaults suit a whole city's groups.

    Parameters
    ----------
    max_upload_bytes
        Largest file (zip or not) accepted at all.
    max_uncompressed_bytes
        Largest total a zip may expand to.
    max_ratio
        Largest expansion ratio of a zip member (zip bombs compress far better than maps).
    max_members
        Most entries a zip may hold.
    """

    max_upload_bytes: int = 512 * 1024**2
    max_uncompressed_bytes: int = 2 * 1024**3
    max_ratio: float = 100.0
    max_members: int = 1000


@dataclass
class VectorData:
    """Features read from a file, still in the file's CRS (``frame.crs`` is always set)."""

    frame: gpd.GeoDataFrame
    name: str
    sha256: str
    encoding: str | None
    crs_source: str
    layer: str | None = None
    notes: list[str] = field(default_factory=list)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, or of a shapefile's parts in a fixed order, so re-imports are found."""
    digest = hashlib.sha256()
    paths = [path]
    if path.suffix.lower() == ".shp":
        parts = _shapefile_parts(path)
        paths = [parts[s] for s in SHAPEFILE_PARTS if s in parts]
    for p in paths:
        digest.update(p.suffix.lower().encode())
        with p.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def check_upload_size(path: Path, *, limits: Limits, name: str | None = None) -> None:
    """Refuse a file larger than ``limits.max_upload_bytes`` before reading any of it."""
    size = path.stat().st_size
    if size > limits.max_upload_bytes:
        msg = (
            f"file is {size / 1024**2:.1f} MB, more than the {limits.max_upload_bytes / 1024**2:.1f}"
            " MB allowed (文件过大); split it by county"
        )
        raise UnsafeArchiveError(name or path.name, msg)


def safe_extract(path: Path, dest: Path, *, limits: Limits, name: str | None = None) -> list[Path]:
    """Extract a zip into ``dest``, refusing path escapes, links and zip bombs.

    Sizes are counted while writing, not taken from the headers, which a bomb can fake.

    Returns
    -------
    list of Path
        The files written.
    """
    shown = name or path.name
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise IngestError(shown, f"not a readable zip file ({exc})") from exc
    written: list[Path] = []
    total = 0
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_members:
            msg = f"zip holds {len(infos)} entries, more than the {limits.max_members} allowed"
            raise UnsafeArchiveError(shown, msg)
        root = dest.resolve()
        for info in infos:
            member = info.filename
            pure = PurePosixPath(member.replace("\\", "/"))
            if pure.is_absolute() or ".." in pure.parts or (pure.parts and ":" in pure.parts[0]):
                msg = "path leaves the archive's folder (unsafe zip, 压缩包路径不安全); refused"
                raise UnsafeArchiveError(shown, msg, where=f"member {member!r}")
            if stat.S_ISLNK(info.external_attr >> 16):
                msg = "symbolic link in zip (unsafe zip); refused"
                raise UnsafeArchiveError(shown, msg, where=f"member {member!r}")
            if info.is_dir():
                continue
            target = (root / pure).resolve()
            if not target.is_relative_to(root):
                msg = "path leaves the archive's folder (unsafe zip); refused"
                raise UnsafeArchiveError(shown, msg, where=f"member {member!r}")
            target.parent.mkdir(parents=True, exist_ok=True)
            member_bytes = 0
            allowed = max(info.compress_size, 1) * limits.max_ratio
            with archive.open(info) as src, target.open("wb") as out:
                for chunk in iter(functools.partial(src.read, 1 << 20), b""):
                    member_bytes += len(chunk)
                    total += len(chunk)
                    if member_bytes > allowed and member_bytes > 1024**2:
                        msg = (
                            f"expands more than {limits.max_ratio:g}× its compressed size "
                            "(zip bomb, 疑似压缩炸弹); refused"
                        )
                        raise UnsafeArchiveError(shown, msg, where=f"member {member!r}")
                    if total > limits.max_uncompressed_bytes:
                        msg = (
                            "zip expands to more than "
                            f"{limits.max_uncompressed_bytes / 1024**2:.0f} MB (zip bomb); refused"
                        )
                        raise UnsafeArchiveError(shown, msg, where=f"member {member!r}")
                    out.write(chunk)
            written.append(target)
    return written


def _find_dataset(files: list[Path], shown: str) -> Path:
    datasets = [p for p in files if p.suffix.lower() in VECTOR_SUFFIXES]
    datasets = [p for p in datasets if not p.name.startswith("._")]  # macOS resource forks
    if not datasets:
        names = ", ".join(sorted(p.name for p in files)) or "nothing"
        msg = f"no .shp, .gpkg or .geojson inside the zip (found {names})"
        raise IngestError(shown, msg)
    if len(datasets) > 1:
        names = ", ".join(sorted(p.name for p in datasets))
        msg = f"zip holds several datasets ({names}); zip one at a time"
        raise IngestError(shown, msg)
    return datasets[0]


def _shapefile_parts(shp: Path) -> dict[str, Path]:
    """The parts of a shapefile by lower-case suffix, matched case-insensitively (A.SHP, a.dbf)."""
    parts: dict[str, Path] = {}
    stem = shp.stem.lower()
    for p in shp.parent.iterdir():
        if p.stem.lower() == stem and p.suffix.lower() in SHAPEFILE_PARTS:
            parts[p.suffix.lower()] = p
    parts[".shp"] = shp
    return parts


def _check_shapefile(parts: dict[str, Path], shown: str) -> None:
    for suffix, what in ((".shx", "index"), (".dbf", "attribute table")):
        if suffix not in parts:
            msg = f"the {suffix} file ({what}) is missing (缺少 {suffix} 文件); send all parts"
            raise IngestError(shown, msg)
    shp = parts[".shp"]
    head = shp.read_bytes()[:100]
    if len(head) < 100 or struct.unpack(">i", head[:4])[0] != 9994:
        raise IngestError(shown, "the .shp is not a shapefile (bad header)")
    declared = struct.unpack(">i", head[24:28])[0] * 2
    actual = shp.stat().st_size
    if actual < declared:
        msg = (
            f"the .shp is truncated (文件不完整): its header says {declared} bytes, "
            f"the file has {actual}; copy it again"
        )
        raise IngestError(shown, msg)
    shx = parts[".shx"]
    n_shx = max((shx.stat().st_size - 100) // 8, 0)
    n_dbf = _dbf_record_count(parts[".dbf"], shown)
    if n_shx != n_dbf:
        msg = (
            f"the .shx lists {n_shx} features but the .dbf has {n_dbf} rows; "
            "the parts come from different versions of the file"
        )
        raise IngestError(shown, msg)


def _dbf_header(dbf: Path, shown: str) -> tuple[int, int, int, int]:
    head = dbf.read_bytes()[:32]
    if len(head) < 32:
        raise IngestError(shown, "the .dbf is truncated (no header)")
    n_records, header_len, record_len = struct.unpack("<IHH", head[4:12])
    return n_records, header_len, record_len, head[29]


def _dbf_record_count(dbf: Path, shown: str) -> int:
    return _dbf_header(dbf, shown)[0]


def _dbf_records(dbf: Path, shown: str, *, limit_bytes: int | None) -> list[bytes]:
    n_records, header_len, record_len, _ = _dbf_header(dbf, shown)
    with dbf.open("rb") as fh:
        fh.seek(header_len)
        size = n_records * record_len
        data = fh.read(size if limit_bytes is None else min(size, limit_bytes))
    count = len(data) // max(record_len, 1)
    return [data[i * record_len : (i + 1) * record_len] for i in range(count)]


def detect_dbf_encoding(dbf: Path, *, shown: str | None = None) -> str:
    """Guess a .dbf's text encoding from its bytes: UTF-8 when valid, else GB18030 (⊃ GBK).

    Parameters
    ----------
    dbf
        The .dbf file.
    shown
        File name for error messages.
    """
    shown = shown or dbf.name
    records = _dbf_records(dbf, shown, limit_bytes=_DETECT_SAMPLE_BYTES)
    sample = b"".join(r[1:] for r in records)
    ldid = _dbf_header(dbf, shown)[3]
    found = sniff(sample, prefer=[_LDID_ENCODINGS[ldid]] if ldid in _LDID_ENCODINGS else [])
    if found is not None:
        return found
    row = _first_undecodable_row(records, "GB18030")
    msg = "text is neither UTF-8 nor GBK/GB18030 (编码无法识别); pass encoding=..."
    raise IngestError(shown, msg, where=f"row {row}")


def _first_undecodable_row(records: list[bytes], encoding: str) -> int:
    for i, rec in enumerate(records, start=1):
        try:
            rec.decode(encoding)
        except UnicodeDecodeError:
            return i
    return 0


def _shapefile_encoding(parts: dict[str, Path], encoding: str | None, shown: str) -> str:
    dbf = parts[".dbf"]
    if encoding is None and ".cpg" in parts:
        text = parts[".cpg"].read_text(encoding="ascii", errors="replace").strip()
        try:
            encoding = normalise_encoding(text)
        except ValueError:
            msg = f"the .cpg names an unknown encoding {text!r}; pass encoding=..."
            raise IngestError(shown, msg) from None
        source = "the .cpg"
    elif encoding is not None:
        encoding = normalise_encoding(encoding)
        source = "encoding="
    else:
        return detect_dbf_encoding(dbf, shown=shown)
    records = _dbf_records(dbf, shown, limit_bytes=None)
    row = _first_undecodable_row(records, encoding)
    if row:
        other = sniff(records[row - 1])
        msg = f"text is not valid {encoding} as {source} says (编码错误)" + (
            f"; it looks like {other}: pass encoding={other!r}" if other else ""
        )
        raise IngestError(shown, msg, where=f"row {row}")
    return encoding


def read_vector(
    path: str | Path,
    *,
    name: str | None = None,
    encoding: str | None = None,
    crs: str | int | None = None,
    layer: str | None = None,
    limits: Limits | None = None,
    bounds: tuple[float, float, float, float] = SHAOYANG_BOUNDS,
) -> VectorData:
    """Read a boundary file into a GeoDataFrame in its own CRS, after every file-level check.

    Parameters
    ----------
    path
        A .shp (its .shx/.dbf/.prj/.cpg beside it), a .zip holding one dataset, a .gpkg or a
        .geojson/.json file.
    name
        How to call the file in messages (an upload's original name); defaults to the file name.
    encoding
        Text encoding of a shapefile's .dbf; default: the .cpg, else detected.
    crs
        Coordinate system when the file has none or a wrong one (``"EPSG:4546"``).
    layer
        GeoPackage layer; needed when the file holds more than one.
    limits
        Upload and zip limits.
    bounds
        lon/lat box the data must lie in or near (default: Shaoyang).

    Raises
    ------
    IngestError
        For anything that keeps the file from being read, naming the file and the problem.
    """
    path = Path(path)
    limits = limits or Limits()
    shown = name or path.name
    if not path.exists():
        raise IngestError(shown, "file not found")
    check_upload_size(path, limits=limits, name=shown)
    sha = file_sha256(path)
    if path.suffix.lower() == ".zip":
        tmp = Path(tempfile.mkdtemp(prefix="qungong-zip-"))
        try:
            files = safe_extract(path, tmp, limits=limits, name=shown)
            inner = _find_dataset(files, shown)
            rel = inner.relative_to(tmp.resolve()) if inner.is_absolute() else inner
            data = _read_dataset(
                inner,
                shown=f"{shown}/{rel.as_posix()}",
                encoding=encoding,
                crs=crs,
                layer=layer,
                bounds=bounds,
            )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    else:
        if path.suffix.lower() not in VECTOR_SUFFIXES:
            msg = f"unsupported file type {path.suffix!r}: send .shp (or a zip of it), .gpkg or .geojson"
            raise IngestError(shown, msg)
        data = _read_dataset(
            path, shown=shown, encoding=encoding, crs=crs, layer=layer, bounds=bounds
        )
    data.sha256 = sha
    return data


def _read_dataset(
    path: Path,
    *,
    shown: str,
    encoding: str | None,
    crs: str | int | None,
    layer: str | None,
    bounds: tuple[float, float, float, float],
) -> VectorData:
    is_shp = path.suffix.lower() == ".shp"
    file_crs: pyproj.CRS | None = None
    read_kwargs: dict[str, object] = {}
    if is_shp:
        encoding, file_crs = _shapefile_options(path, shown=shown, encoding=encoding, crs=crs)
        read_kwargs["encoding"] = encoding
    else:
        layer = _choose_layer(path, layer, shown)
        read_kwargs["layer"] = layer
        encoding = None
    try:
        with warnings.catch_warnings():
            # GDAL's notes about field types become our own messages below.
            warnings.simplefilter("ignore", RuntimeWarning)
            frame = pyogrio.read_dataframe(path, **read_kwargs)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        msg = f"cannot be read ({str(exc).splitlines()[0]})"
        raise IngestError(shown, msg) from exc
    chosen, crs_source = _choose_crs(frame, crs, file_crs, shown=shown)
    frame = frame.set_crs(chosen, allow_override=True)
    check_near_shaoyang(frame, shown=shown, bounds=bounds)
    return VectorData(
        frame=frame,
        name=shown,
        sha256="",
        encoding=encoding,
        crs_source=f"{crs_label(chosen)} from {crs_source}",
        layer=None if is_shp else layer,
    )


def _shapefile_options(
    path: Path, *, shown: str, encoding: str | None, crs: str | int | None
) -> tuple[str, pyproj.CRS | None]:
    """A shapefile's checked parts: its text encoding and the CRS of its .prj (None when
    ``crs`` overrides it).  No .prj and no ``crs`` is refused: the data cannot be placed."""
    parts = _shapefile_parts(path)
    _check_shapefile(parts, shown)
    encoding = _shapefile_encoding(parts, encoding, shown)
    if ".prj" in parts:
        if crs is None:
            text = parts[".prj"].read_text(encoding="latin-1").strip()
            return encoding, parse_crs(text, shown=shown, what="the .prj")
    elif crs is None:
        msg = (
            "no .prj file, so the coordinate system is unknown (缺少 .prj 坐标系文件): "
            "pass crs=, e.g. EPSG:4546 for CGCS2000 3° zone CM 111E"
        )
        raise IngestError(shown, msg)
    return encoding, None


def _choose_crs(
    frame: gpd.GeoDataFrame,
    crs: str | int | None,
    file_crs: pyproj.CRS | None,
    *,
    shown: str,
) -> tuple[pyproj.CRS, str]:
    """The CRS to use and where it came from: ``crs=`` first, then the .prj, then the file."""
    if crs is not None:
        return parse_crs(crs, shown=shown), "crs="
    if file_crs is not None:
        return file_crs, "the .prj"
    if frame.crs is not None:
        return pyproj.CRS.from_user_input(frame.crs), "the file"
    msg = "the file carries no coordinate system: pass crs=, e.g. EPSG:4546"
    raise IngestError(shown, msg)


def _choose_layer(path: Path, layer: str | None, shown: str) -> str | None:
    try:
        layers = pyogrio.list_layers(path)
    except pyogrio.errors.DataSourceError as exc:
        msg = f"cannot be read ({str(exc).splitlines()[0]})"
        raise IngestError(shown, msg) from exc
    spatial = [str(n) for n, g in layers if g is not None]
    if layer is not None:
        if layer not in [str(n) for n, _ in layers]:
            msg = f"has no layer {layer!r}; layers: {', '.join(spatial) or 'none'}"
            raise IngestError(shown, msg)
        return layer
    if len(spatial) == 1:
        return spatial[0]
    if not spatial:
        raise IngestError(shown, "holds no layer with geometries")
    msg = f"holds several layers, choose one with layer=: {', '.join(spatial)}"
    raise IngestError(shown, msg)
