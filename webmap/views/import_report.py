"""An import report as table rows in the page's language (Flask-Babel), for the staff page.

The importers return an :class:`ingest.report.ImportReport` with internal count keys
(``swapped_fixed``) and each finding in Chinese and English; staff see labelled rows in one
language and never a key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ingest.report import ImportReport

# Every count key an importer writes, with its label; a key missing here is shown as
# "other" with no key, and tests/webmap/test_staff_report.py lists the importers' keys.
COUNT_LABELS = {
    "rows": _l("文件行数"),
    "features": _l("要素数"),
    "units": _l("行政区划单位"),
    "city": _l("市"),
    "county": _l("县市区"),
    "township": _l("乡镇（街道）"),
    "village": _l("村（社区）"),
    "group": _l("村民小组"),
    "stations": _l("群众工作站"),
    "officers": _l("民情信息员"),
    "teams": _l("工作队"),
    "cases": _l("案件"),
    "visits": _l("走访记录"),
    "repaired": _l("已修复的几何"),
    "linked_by_code": _l("按代码挂接上级"),
    "linked_by_containment": _l("按空间包含挂接上级"),
    "located_by_register": _l("用名册坐标定位"),
    "located_by_unit": _l("用所在村的代表点定位"),
    "geocoded": _l("按地址定位"),
    "gps": _l("按坐标定位"),
    "swapped_fixed": _l("经纬度颠倒已纠正"),
    "review": _l("待人工处理"),
    "duplicates": _l("已在数据库中（重复，未导入）"),
    "unknown_team": _l("工作队名不在名册中"),
    "copied_from_base": _l("从基础版本复制的单位"),
    "replaced_from_base": _l("被本文件替换的单位"),
}
STATUS_LABELS = {
    "dry_run": _l("试运行，未写入数据库"),
    "committed": _l("已写入数据库"),
    "already_imported": _l("该文件已导入过，未做任何更改"),
    "rejected": _l("有错误，未写入数据库"),
}
KIND_LABELS = {"error": _l("错误"), "warning": _l("警告"), "repair": _l("已修复")}
_WHERE = re.compile(r"^(row|feature|rows)\s+(.+)$")
# Long reports are cut on screen; the full list stays in import_batch.report.
MAX_PROBLEM_ROWS = 200


@dataclass(frozen=True)
class ReportTable:
    """What the staff page shows of one report."""

    status: str
    counts: list[tuple[str, int]]
    problems: list[tuple[str, str, str, str]]  # (kind key, kind label, where, text)
    more: int
    seconds: float


def _where(where: str) -> str:
    match = _WHERE.match(where)
    if match is None:
        return where
    if match.group(1) == "feature":
        return _("第 %(n)s 个要素", n=match.group(2))
    return _("第 %(n)s 行", n=match.group(2))


def report_table(report: ImportReport) -> ReportTable:
    """Labelled counts and findings of ``report`` in the request's language."""
    english = str(get_locale()) == "en"
    counts = [(str(COUNT_LABELS.get(k, _l("其他"))), v) for k, v in report.counts.items()]
    problems: list[tuple[str, str, str, str]] = []
    for kind in ("error", "warning", "repair"):
        for p in report.problems:
            if p.kind == kind:
                text = p.message if english or not p.zh else p.zh
                problems.append((kind, str(KIND_LABELS[kind]), _where(p.where), text))
    shown = problems[:MAX_PROBLEM_ROWS]
    return ReportTable(
        status=str(STATUS_LABELS.get(report.status, report.status)),
        counts=counts,
        problems=shown,
        more=len(problems) - len(shown),
        seconds=round(sum(report.timings.values()), 2),
    )


def report_text(report: ImportReport) -> str:
    """The report as plain lines in the current language only, for the command line."""
    table = report_table(report)
    lines = [f"{_('文件')}: {report.file}", f"{_('结果')}: {table.status}"]
    if report.generation:
        lines.append(f"{_('边界版本')}: {report.generation}")
    if table.counts:
        lines.append(_("、").join(f"{label} {value}" for label, value in table.counts))
    for _kind, label, where, text in table.problems:
        lines.append(f"  - {label} {where}: {text}" if where else f"  - {label}: {text}")
    if table.more:
        lines.append("  … " + _("另有 %(n)s 条未列出", n=table.more))
    if report.timings:
        lines.append(f"{_('用时')}: {table.seconds} s")
    return "\n".join(lines)
