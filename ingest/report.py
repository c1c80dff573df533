"""The report an import returns: counts, repairs, warnings, errors and timings, in zh and en."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from models.registers import record_import

# Chinese first, English after: staff read the Chinese, the developers grep the English.
_KIND_ZH = {
    "repair": "几何修复",
    "warning": "警告",
    "error": "错误",
}
_STATUS_TEXT = {
    "dry_run": ("试运行，未写入数据库", "dry run, nothing written"),
    "committed": ("已写入数据库", "committed"),
    "already_imported": ("该文件已导入过，未做任何更改", "already imported, nothing changed"),
    "rejected": ("有错误，未写入数据库", "rejected, nothing written"),
}
_COUNT_ZH = {
    "features": "要素",
    "rows": "行",
    "units": "单位",
    "city": "市",
    "county": "县级",
    "township": "乡镇",
    "village": "村/社区",
    "group": "村民小组",
    "stations": "工作站",
    "officers": "信息员",
    "teams": "工作队",
    "repaired": "已修复几何",
    "linked_by_code": "按代码挂接",
    "linked_by_containment": "按空间包含挂接",
    "located_by_register": "登记坐标",
    "located_by_unit": "用单位代表点",
}
# Long reports are cut on screen; the full list stays in the object and in import_batch.report.
_MAX_LINES_PER_KIND = 50


@dataclass(frozen=True)
class Problem:
    """One finding about one place in the file.

    Parameters
    ----------
    kind
        ``"repair"`` (fixed, not fatal), ``"warning"`` (imported, worth a look) or ``"error"``
        (blocks the commit).
    where
        Row or feature (``"row 12"``, ``"feature 3"``) or a unit code; empty for the whole file.
    message
        What was found, in English with the codes and numbers needed to find it.
    zh
        The same in Chinese, for staff.
    """

    kind: str
    where: str
    message: str
    zh: str = ""


@dataclass
class ImportReport:
    """What an import found and did.

    ``status`` is ``"dry_run"``, ``"committed"``, ``"already_imported"`` or ``"rejected"``;
    nothing is written unless it is ``"committed"``.
    """

    kind: str
    file: str
    sha256: str = ""
    status: str = "dry_run"
    generation: str | None = None
    batch_id: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def add(self, kind: str, where: str, message: str, zh: str = "") -> None:
        """Record a repair, warning or error."""
        self.problems.append(Problem(kind, where, message, zh))

    def already_imported(self, batch_id: int, started_at: datetime, username: str) -> ImportReport:
        """Mark the report as a repeat of committed batch ``batch_id``: nothing is written."""
        self.status = "already_imported"
        self.batch_id = batch_id
        self.add(
            "warning",
            "",
            f"this file was already imported (batch {batch_id}, {started_at:%Y-%m-%d}"
            f" by {username}); nothing changed",
            f"该文件已于 {started_at:%Y-%m-%d} 导入（批次 {batch_id}），未做更改",
        )
        return self

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.kind == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.kind == "warning"]

    @property
    def repairs(self) -> list[Problem]:
        return [p for p in self.problems if p.kind == "repair"]

    @property
    def ok(self) -> bool:
        """True when nothing blocks a commit."""
        return not self.errors

    @contextmanager
    def timed(self, step: str) -> Iterator[None]:
        """Add the wall time of the ``with`` body to ``timings[step]`` (seconds)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[step] = self.timings.get(step, 0.0) + time.perf_counter() - start

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able form, stored in ``import_batch.report``."""
        out = asdict(self)
        out["timings"] = {k: round(v, 3) for k, v in self.timings.items()}
        return out

    def to_text(self, lang: str = "zh") -> str:
        """A readable report: Chinese first (``lang="zh"``) or English only (``"en"``).

        Parameters
        ----------
        lang
            ``"zh"`` gives Chinese with the English beside it; ``"en"`` English only.
        """
        zh = lang == "zh"
        status_zh, status_en = _STATUS_TEXT.get(self.status, (self.status, self.status))
        lines = [
            f"文件 file: {self.file}" if zh else f"file: {self.file}",
            f"结果 status: {status_zh} ({status_en})" if zh else f"status: {status_en}",
        ]
        if self.generation:
            lines.append(f"{'版本 generation' if zh else 'generation'}: {self.generation}")
        if self.counts:
            parts = []
            for key, value in self.counts.items():
                label = f"{_COUNT_ZH.get(key, key)}({key})" if zh else key
                parts.append(f"{label} {value}")
            lines.append(("数量 counts: " if zh else "counts: ") + ", ".join(parts))
        for kind in ("error", "warning", "repair"):
            found = [p for p in self.problems if p.kind == kind]
            if not found:
                continue
            head = f"{_KIND_ZH[kind]} {kind}s" if zh else f"{kind}s"
            lines.append(f"{head} ({len(found)}):")
            for p in found[:_MAX_LINES_PER_KIND]:
                where = f"{p.where}: " if p.where else ""
                text = f"{p.zh} / {p.message}" if zh and p.zh else p.message
                lines.append(f"  - {where}{text}")
            if len(found) > _MAX_LINES_PER_KIND:
                more = len(found) - _MAX_LINES_PER_KIND
                lines.append(f"  … 另有 {more} 条 ({more} more)" if zh else f"  … {more} more")
        if self.timings:
            total = sum(self.timings.values())
            lines.append(
                ("用时 time: " if zh else "time: ")
                + f"{total:.2f} s ("
                + ", ".join(f"{k} {v:.2f}" for k, v in self.timings.items())
                + ")"
            )
        return "\n".join(lines)


def record_committed(session: Session, report: ImportReport, *, kind: str, username: str) -> None:
    """Mark ``report`` committed and write its import_batch row (counts and report included).

    The register and boundary importers' last step inside their transaction.
    """
    report.status = "committed"
    report.batch_id = record_import(
        session,
        kind=kind,
        filename=report.file,
        sha256=report.sha256,
        username=username,
        status="committed",
        counts=report.counts,
        report=report.as_dict(),
    )
