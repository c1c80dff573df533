"""Who may reach what: every endpoint declares one access rule, and one rule scopes every area.

Two pieces, used by every page, API call, export and upload alike:

* :func:`rule` / :func:`public` declare an endpoint's roles and how it meets the user's area.
  :func:`init_app` refuses any endpoint without a declaration (deny by default) and enforces
  log-in and role before the view runs; ``tests/webmap/test_access.py`` builds the
  role x endpoint matrix from ``app.url_map`` and fails on an undeclared endpoint.
* :func:`area_scope` intersects a requested area with the user's own: a narrower area inside it
  is honoured, a wider one shrinks to the user's own, one outside it is 404 and a malformed
  code is 400.  The resulting :class:`Scope` gives the code prefix every query filters on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from flask import Flask, Response, current_app, g, redirect, request, url_for
from flask_babel import gettext as _

from models.places import area_prefix, level_of
from models.schema import ROLES
from webmap.errors import ApiError, NotFound

F = TypeVar("F", bound=Callable[..., Any])

# How an endpoint meets the user's area:
#   "param"  - it reads ``?area=`` through :func:`area_scope` (the matrix test asks with an
#              area outside the user's and a malformed one: 404 and 400);
#   "record" - it addresses records by id and answers 404 for one outside the user's area
#              (each such endpoint has its own test);
#   "own"    - it shows only the user's own area, with no area parameter;
#   "none"   - it holds nothing tied to a place (log-in, assets, the user's own settings).
AreaRule = Literal["param", "record", "own", "none"]
AREA_RULES = ("param", "record", "own", "none")
ANY_ROLE = ROLES


class Unauthorised(ApiError):
    status = 401
    code = "login_required"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


@dataclass(frozen=True)
class Rule:
    """An endpoint's access rule.

    Parameters
    ----------
    roles
        Roles that may call it (admins always may); ``None`` for a public endpoint.
    area
        How it meets the user's area, one of :data:`AREA_RULES`.
    token
        True when scripts may call it with a Bearer token instead of the session cookie
        (such requests are not cookie-authenticated, so they skip the CSRF check).
    export
        True for a download (CSV, GeoPackage, …): each successful one is audited.
    """

    roles: tuple[str, ...] | None
    area: AreaRule
    token: bool = False
    export: bool = False

    def allows(self, role: str | None) -> bool:
        if self.roles is None:
            return True
        return role is not None and (role == "admin" or role in self.roles)


def rule(
    *roles: str, area: AreaRule, token: bool = False, export: bool = False
) -> Callable[[F], F]:
    """Declare who may call a view: ``@rule("leader", area="param")``; no roles = any user."""
    unknown = [r for r in roles if r not in ROLES]
    if unknown or area not in AREA_RULES:
        msg = f"bad access rule: roles {roles!r} (known: {ROLES}), area {area!r}"
        raise ValueError(msg)
    declared = Rule(roles=tuple(roles) or ANY_ROLE, area=area, token=token, export=export)

    def decorator(view: F) -> F:
        view.access_rule = declared  # type: ignore[attr-defined]
        return view

    return decorator


def public(view: F) -> F:
    """Declare a view open to everyone (log-in page, map assets)."""
    view.access_rule = Rule(roles=None, area="none")  # type: ignore[attr-defined]
    return view


def rule_of(app: Flask, endpoint: str) -> Rule | None:
    """The declared rule of ``endpoint``, None when it has none."""
    view = app.view_functions.get(endpoint)
    return getattr(view, "access_rule", None)


def _check() -> Any:
    """Before every request: the endpoint's rule, log-in and role (deny by default)."""
    if request.endpoint is None:  # no route: the 404/405 handlers answer
        return None
    declared = rule_of(current_app, request.endpoint)
    if declared is None:
        current_app.logger.error("endpoint %s has no access rule", request.endpoint)
        raise Forbidden(_("此地址未声明访问规则"), code="no_access_rule")
    if declared.roles is None:
        return None
    if g.get("user") is None:
        if wants_json():
            raise Unauthorised(_("请先登录"))
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if not declared.allows(g.user.role):
        raise Forbidden(_("您的角色无权访问此页面"))
    if g.get("must_change_password") and request.endpoint not in ("auth.password",):
        # A reset or weak (demo) password: nothing else until a new one is chosen.
        if wants_json():
            raise Forbidden(_("请先修改密码"), code="password_change_required")
        return redirect(url_for("auth.password"))
    return None


def wants_json() -> bool:
    """True for the machine interfaces: ``/api/``, and ``/ogc/`` unless a browser asks for HTML."""
    if request.path.startswith("/api/"):
        return True
    if not request.path.startswith("/ogc/"):
        return False
    f = request.args.get("f")
    if f is not None:
        return f != "html"
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best != "text/html"


def _audit_export(response: Response) -> Response:
    """After a successful download from an ``export=True`` endpoint: one audit row."""
    if request.endpoint is None or response.status_code != 200 or g.get("user") is None:
        return response
    declared = rule_of(current_app, request.endpoint)
    if declared is not None and declared.export:
        from models.registers import audit
        from webmap.db import transaction

        with transaction() as session:
            audit(
                session,
                username=g.user.username,
                action="export",
                detail={
                    "endpoint": request.endpoint,
                    "query": request.query_string.decode("utf-8", "replace")[:500],
                },
            )
    return response


def init_app(app: Flask) -> None:
    """Enforce the declared rules; Flask's own static route is public."""
    static = app.view_functions.get("static")
    if static is not None:
        app.view_functions["static"] = public(static)
    app.before_request(_check)
    app.after_request(_audit_export)


# -- areas -------------------------------------------------------------------------------

# Widths of the statistical code's parts: province, city, county, township, village, group.
_PARTS = (2, 2, 2, 3, 3, 3)


def valid_code(code: str) -> bool:
    """True for a well-formed division code: 12 digits (15 for a group), no part after a zero part.

    >>> [valid_code(c) for c in ("430521100201", "430521100201003", "430500000000")]
    [True, True, True]
    >>> [valid_code(c) for c in ("4305020011", "43052110020%", "430500000201", "430521100201000")]
    [False, False, False, False]
    """
    if not (code.isascii() and code.isdigit() and len(code) in (12, 15)):
        return False
    parts, start = [], 0
    for width in _PARTS[: 5 if len(code) == 12 else 6]:
        parts.append(int(code[start : start + width]))
        start += width
    if len(code) == 15 and (parts[5] == 0 or parts[4] == 0):
        return False
    seen_zero = False
    for value in parts:
        if value == 0:
            seen_zero = True
        elif seen_zero:
            return False
    return parts[0] != 0 and parts[1] != 0


@dataclass(frozen=True)
class Scope:
    """The area a request may see: a division code inside (or equal to) the user's own."""

    code: str

    @property
    def prefix(self) -> str:
        """Code prefix shared by every unit inside the area ('4305' for the city)."""
        return area_prefix(self.code)

    @property
    def level(self) -> str:
        """city, county, township, village or group."""
        return level_of(self.code)

    @property
    def like(self) -> str:
        """SQL LIKE pattern of every code inside the area."""
        return self.prefix + "%"

    def contains(self, code: str | None) -> bool:
        """True when the unit ``code`` lies inside the area."""
        return bool(code) and str(code).startswith(self.prefix)

    def within(self, code: str) -> bool:
        """True when the whole area lies inside the unit ``code`` (an ancestor or itself)."""
        return self.prefix.startswith(area_prefix(code))


class BadArea(ApiError):
    status = 400
    code = "bad_area"


def parse_area(raw: str | None) -> str | None:
    """A requested area code, stripped; None when absent; 400 when malformed."""
    requested = (raw or "").strip()
    if not requested:
        return None
    if not valid_code(requested):
        raise BadArea(
            _(
                "区域代码无效：%(code)s（应为 12 位统计用区划代码，村民小组为 15 位）",
                code=requested[:40],
            )
        )
    return requested


def user_scope() -> Scope:
    """The logged-in user's own area."""
    if g.get("user") is None:
        raise Unauthorised(_("请先登录"))
    return Scope(g.user.area_code)


def area_scope(requested: str | None = None) -> Scope:
    """The user's area intersected with ``requested`` (a division code, or None for their own).

    A narrower area inside the user's is honoured; a wider one that contains it shrinks to the
    user's own; one outside it raises 404 (the same answer as a code that does not exist), and
    a malformed code raises 400.
    """
    own = user_scope()
    code = parse_area(requested)
    if code is None:
        return own
    wanted = Scope(code)
    if own.contains(code):
        return wanted
    if own.within(code):
        return own
    raise NotFound(_("您的区域内没有此区域：%(code)s", code=code), code="area_not_found")


def scoped_code(requested: str | None) -> str:
    """:func:`area_scope` as a plain code, for services that take a code-to-code scope."""
    return area_scope(requested).code
