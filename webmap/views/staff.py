"""Staff pages (/staff/): upload boundary files and registers, check them, then commit.

An upload is first checked (dry run) and its report shown; only the "commit" button writes,
through the same importers as the command line.  The uploaded file waits under the instance
folder, named by a random token, until it is committed or replaced.
"""

from __future__ import annotations

import re
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, g, render_template, request
from flask_babel import gettext as _
from werkzeug.utils import secure_filename

from ingest.errors import IngestError
from ingest.files import Limits
from models.units import generation_summaries
from webmap.access import rule, user_scope
from webmap.views.common import db_session
from webmap.views.import_report import report_table

bp = Blueprint("staff", __name__, url_prefix="/staff")

# kind -> (label, accepted suffixes, options the form shows)
KINDS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "boundaries": (
        "行政区划边界",
        (".zip", ".gpkg", ".geojson", ".json"),
        ("level", "generation", "base", "encoding", "crs", "layer"),
    ),
    "stations": ("群众工作站名册", (".csv", ".xlsx"), ("generation", "coord")),
    "officers": ("民情信息员名册", (".csv", ".xlsx"), ("generation",)),
    "teams": ("工作队名册", (".csv", ".xlsx"), ("generation", "coord")),
    "cases": ("案件登记（信访、纠纷、代办、建议）", (".csv", ".xlsx"), ("encoding", "coord")),
    "visits": ("走访记录", (".csv", ".xlsx"), ("encoding", "coord")),
}
TOKEN = re.compile(r"^[0-9a-f]{32}$")


@bp.app_errorhandler(413)
def too_large(err: Exception) -> tuple[str, int]:
    limit = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
    message = _("上传的文件超过 %(mb)d MB 的上限，未做任何更改。", mb=limit)
    if request.path.startswith("/api/"):
        return message, 413
    return render_template("staff.html", kinds=KINDS, title=_("数据导入"), error=message), 413


def _upload_dir() -> Path:
    return Path(current_app.instance_path) / "uploads"


def sweep_uploads(folder: Path, *, older_than: float) -> int:
    """Delete upload folders last written more than ``older_than`` seconds ago; how many.

    A checked upload waits for its "commit" only this long: a dry run the user walks away
    from does not stay on the server.
    """
    if not folder.is_dir():
        return 0
    cutoff = time.time() - older_than
    gone = 0
    for entry in folder.iterdir():
        if entry.is_dir() and entry.stat().st_mtime < cutoff:
            shutil.rmtree(entry, ignore_errors=True)
            gone += 1
    return gone


def _upload_ttl() -> float:
    return 60.0 * current_app.config["UPLOAD_TTL_MINUTES"]


def _limits() -> Limits:
    return Limits(max_upload_bytes=current_app.config["MAX_CONTENT_LENGTH"])


def _run(kind: str, path: Path, shown: str, options: dict[str, str], *, commit: bool) -> Any:
    url = current_app.config["DATABASE_URL"]
    common: dict[str, Any] = {
        "commit": commit,
        "username": g.user.username,
        "name": shown,
        "limits": _limits(),
        # Every row and feature must lie inside the user's area (ingest.area); the command
        # line, run by the operator, passes none.
        "area": user_scope().code,
    }
    opt = {k: v for k, v in options.items() if v}
    if kind == "boundaries":
        from ingest.boundaries import import_boundaries

        return import_boundaries(
            url,
            path,
            level=opt.get("level"),
            generation=opt.get("generation") or None,
            base=opt.get("base") or None,
            encoding=opt.get("encoding"),
            crs=opt.get("crs"),
            layer=opt.get("layer"),
            **common,
        )
    if kind in ("stations", "officers", "teams"):
        import ingest.registers as registers

        extra = {"crs": opt.get("coord", "wgs84")} if kind != "officers" else {}
        return getattr(registers, f"import_{kind}")(
            url, path, generation=opt.get("generation"), **extra, **common
        )
    from ingest import activity

    return getattr(activity, f"import_{kind}")(
        url, path, encoding=opt.get("encoding"), crs=opt.get("coord", "wgs84"), **common
    )


def _options() -> dict[str, str]:
    names = ("level", "generation", "base", "encoding", "crs", "layer", "coord")
    return {n: request.form.get(n, "").strip() for n in names}


def _committed_upload(context: dict[str, Any]) -> tuple[Path, Path, str] | str:
    """The checked upload a "commit" names: (folder, path, name shown), or the page to show."""
    token = request.form.get("token", "")
    if not TOKEN.match(token):
        abort(400)
    folder = _upload_dir() / token
    files = list(folder.iterdir()) if folder.is_dir() else []
    if not files:
        context["error"] = _("上传的文件已过期，请重新上传。")
        return render_template("staff.html", **context)
    return folder, files[0], files[0].name


def _new_upload(context: dict[str, Any], kind: str) -> tuple[Path, Path, str] | str:
    """Save the uploaded file under a fresh token: (folder, path, name shown), or the page."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        context["error"] = _("请选择要上传的文件。")
        return render_template("staff.html", **context)
    shown = Path(upload.filename).name
    suffix = Path(shown).suffix.lower()
    if suffix not in KINDS[kind][1]:
        context["error"] = _(
            "%(file)s：不支持的文件类型 %(suffix)s，可用：%(ok)s",
            file=shown,
            suffix=suffix or "-",
            ok=" ".join(KINDS[kind][1]),
        )
        return render_template("staff.html", **context)
    folder = _upload_dir() / secrets.token_hex(16)
    folder.mkdir(parents=True)
    # keep the user's name for messages, but store under a safe one
    path = folder / (secure_filename(shown) or f"upload{suffix}")
    if path.suffix.lower() != suffix:
        path = path.with_name(f"upload{suffix}")
    upload.save(path)
    return folder, path, shown


def _generations() -> list[tuple[str, bool]]:
    """Boundary generations a partial update may start from: (name, active), newest first."""
    with db_session() as session:
        rows = generation_summaries(session)
    return [(str(r["name"]), bool(r["active"])) for r in reversed(rows)]


@bp.route("/", methods=["GET", "POST"])
@rule("staff", area="own")
def index() -> str:
    context: dict[str, Any] = {
        "kinds": KINDS,
        "title": _("数据导入"),
        "generations": _generations(),
    }
    sweep_uploads(_upload_dir(), older_than=_upload_ttl())
    if request.method == "GET":
        return render_template("staff.html", **context)
    kind = request.form.get("kind", "")
    if kind not in KINDS:
        abort(400)
    options = _options()
    action = request.form.get("action", "check")
    upload = _committed_upload(context) if action == "commit" else _new_upload(context, kind)
    if isinstance(upload, str):
        return upload
    folder, stored, shown = upload
    try:
        report = _run(kind, stored, shown, options, commit=action == "commit")
    except IngestError as err:
        shutil.rmtree(folder, ignore_errors=True)
        context["error"] = str(err)
        return render_template("staff.html", **context, kind=kind)
    token = folder.name
    if action == "commit" or not report.ok:
        shutil.rmtree(folder, ignore_errors=True)
        token = ""
    return render_template(
        "staff.html",
        **context,
        kind=kind,
        options=options,
        report=report,
        table=report_table(report),
        token=token,
        committed=action == "commit" and report.ok,
    )
