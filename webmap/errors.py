"""Errors that carry their HTTP status and a stable code, answered in the asker's form.

Pages get an HTML page in the UI's language, ``/api/`` gets ``{"error", "message"}`` JSON and
``/ogc/`` gets the OGC API exception form (``{"code", "description"}``).  Nothing a client
sees carries a traceback or a server path.
"""

from __future__ import annotations

import sqlalchemy.exc
from flask import Flask, jsonify, make_response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from models.db import connection_lost


class ApiError(Exception):
    """An error a client can act on: ``status`` for HTTP, ``code`` stable for programs."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code


class NotFound(ApiError):
    status = 404
    code = "not_found"


def _titles() -> dict[int, str]:
    return {
        400: _("请求有误"),
        401: _("请先登录"),
        403: _("无权访问"),
        404: _("未找到"),
        405: _("不支持此请求方式"),
        413: _("上传的文件太大"),
        429: _("尝试次数过多"),
        500: _("服务器内部错误"),
        503: _("服务暂不可用"),
    }


def _http_messages() -> dict[int, str]:
    return {
        400: _("请求的参数无效。"),
        401: _("请先登录。"),
        403: _("您无权访问此页面。"),
        404: _("您要找的页面不存在，或不在您的区域内。"),
        405: _("此地址不接受这种请求方式。"),
        429: _("请稍后再试。"),
        500: _("处理请求时出错，已记录。请稍后再试。"),
    }


def respond(status: int, code: str, message: str) -> ResponseReturnValue:
    """The error as the asker expects it: JSON for /api/, OGC JSON for /ogc/, else a page."""
    # The stable code also travels in a header, whatever the body's form.
    headers = {"X-Error-Code": code}
    if request.path.startswith("/ogc/"):
        return jsonify(code=code, description=message), status, headers
    if request.path.startswith("/api/"):
        return jsonify(error=code, message=message), status, headers
    title = _titles().get(status, _("出错了"))
    html = render_template("error.html", title=title, status=status, message=message)
    return html, status, headers


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(err: ApiError) -> ResponseReturnValue:
        return respond(err.status, err.code, err.message)

    # The database restarted or unreachable: a clear 503 that says to retry, not a 500. The
    # pool checks each connection before use (pool_pre_ping), so once the server is back the
    # next request reconnects by itself; nothing needs restarting here.
    @app.errorhandler(sqlalchemy.exc.OperationalError)
    @app.errorhandler(sqlalchemy.exc.InterfaceError)
    def database_down(err: sqlalchemy.exc.DBAPIError) -> ResponseReturnValue:
        if not connection_lost(err):
            raise err
        response = make_response(
            respond(503, "database_unavailable", _("数据库暂时无法连接，请稍后再试。"))
        )
        response.headers["Retry-After"] = "5"
        return response

    # Unhandled exceptions reach this handler as InternalServerError outside testing (Flask
    # wraps them), so a 500 is a page or JSON too; under TESTING they propagate to the test.
    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> ResponseReturnValue:
        status = err.code or 500
        code = (err.name or "error").lower().replace(" ", "_")
        # Werkzeug's descriptions are English; the page speaks the UI's language.
        message = _http_messages().get(status) or _titles().get(status, _("出错了"))
        return respond(status, code, message)
