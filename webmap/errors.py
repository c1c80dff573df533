"""Errors that carry their HTTP status and a stable code; one handler turns them into JSON."""

from __future__ import annotations

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException


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


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(err: ApiError):
        return jsonify(error=err.code, message=err.message), err.status

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        if request.path.startswith("/api/"):
            return jsonify(error=err.name.lower().replace(" ", "_"), message=err.description), (
                err.code or 500
            )
        return err
