"""Tables of qungong: administrative units by boundary generation, the network's registers,
cases and visits, imports, users and the audit log.

Every row that belongs to a place carries ``county_code`` (6 digits) so that big tables can be
partitioned or sharded by county later.  Geometries are stored in EPSG:4326.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SRID = 4326
LEVELS = ("city", "county", "township", "village", "group")
CASE_KINDS = ("petition", "dispute", "service", "suggestion")  # 信访 矛盾纠纷 代办 建议
CASE_STATUSES = ("open", "in_progress", "closed")
ROLES = ("admin", "staff", "planner", "team", "leader")
COORD_SYSTEMS = ("wgs84", "cgcs2000", "gcj02", "bd09")

# Stable constraint names make Alembic migrations reproducible.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSONB}  # noqa: RUF012  (SQLAlchemy reads it once)


class Generation(Base):
    """One edition of the boundaries; exactly one is active for live lookups."""

    __tablename__ = "generation"
    __table_args__ = (
        Index("uq_generation_one_active", "active", unique=True, postgresql_where=text("active")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class AdminUnit(Base):
    """A city, county, township, village/community or villager group of one generation."""

    __tablename__ = "admin_unit"
    __table_args__ = (
        UniqueConstraint("generation_id", "code"),
        CheckConstraint(_in("level", LEVELS), name="level"),
        Index("ix_admin_unit_generation_level", "generation_id", "level"),
        Index("ix_admin_unit_county_code", "county_code"),
        Index("ix_admin_unit_parent_id", "parent_id"),
        Index("ix_admin_unit_geom", "geom", postgresql_using="gist"),
        # The groups alone (migration 0002): point-in-group joins probe this index only.
        Index(
            "ix_admin_unit_group_geom",
            "geom",
            postgresql_using="gist",
            postgresql_where=text("level = 'group'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    generation_id: Mapped[int] = mapped_column(ForeignKey("generation.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(10))
    # 12-digit statistical division code; a villager group is its village code + 3 digits.
    code: Mapped[str] = mapped_column(String(15))
    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id", ondelete="CASCADE"))
    county_code: Mapped[str] = mapped_column(String(6))
    households: Mapped[int | None] = mapped_column(Integer)
    population: Mapped[int | None] = mapped_column(Integer)
    geom: Mapped[Any] = mapped_column(
        Geometry("MULTIPOLYGON", srid=SRID, spatial_index=False), nullable=False
    )

    generation: Mapped[Generation] = relationship()
    parent: Mapped[AdminUnit | None] = relationship(remote_side=[id])


class Station(Base):
    """A village/community mass-work station (群众工作站), one per village."""

    __tablename__ = "station"
    __table_args__ = (
        Index("ix_station_geom", "geom", postgresql_using="gist"),
        Index("ix_station_county_code", "county_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("admin_unit.id", ondelete="CASCADE"), unique=True
    )
    county_code: Mapped[str] = mapped_column(String(6))
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(Text)
    # The station head (站长), as the register names them.
    head: Mapped[str | None] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(40))
    opened_on: Mapped[dt.date | None] = mapped_column(Date)
    # "register" when the register gave coordinates, "representative_point" otherwise.
    location_source: Mapped[str] = mapped_column(String(30), default="register")
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=SRID, spatial_index=False))

    unit: Mapped[AdminUnit] = relationship()


class Officer(Base):
    """An information officer (民情信息员) of a villager group."""

    __tablename__ = "officer"
    __table_args__ = (Index("ix_officer_unit_id", "unit_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id", ondelete="CASCADE"))
    county_code: Mapped[str] = mapped_column(String(6))
    name: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(40))
    id_no: Mapped[str | None] = mapped_column(String(40))


class Team(Base):
    """A township work team (驻村工作队) with its home base."""

    __tablename__ = "team"
    __table_args__ = (
        Index("ix_team_unit_id", "unit_id"),
        Index("ix_team_home", "home", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id", ondelete="CASCADE"))
    county_code: Mapped[str] = mapped_column(String(6))
    name: Mapped[str] = mapped_column(String(120))
    leader: Mapped[str | None] = mapped_column(String(60))
    members: Mapped[int | None] = mapped_column(Integer)
    home: Mapped[Any] = mapped_column(Geometry("POINT", srid=SRID, spatial_index=False))


class ImportBatch(Base):
    """One import: who, which file (and its hash), what came of it."""

    __tablename__ = "import_batch"
    __table_args__ = (Index("ix_import_batch_kind_sha256", "kind", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    filename: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(60))
    started_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20))
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Case(Base):
    """A petition, dispute, service request or suggestion, placed where it happened.

    Holds petitioners' personal data: only shown to users whose area contains it.
    """

    __tablename__ = "case_record"
    __table_args__ = (
        UniqueConstraint("county_code", "case_no"),
        CheckConstraint(_in("kind", CASE_KINDS), name="kind"),
        CheckConstraint(_in("status", CASE_STATUSES), name="status"),
        Index("ix_case_geom", "geom", postgresql_using="gist"),
        Index("ix_case_village_code", "village_code"),
        Index("ix_case_opened_on", "opened_on"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_no: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(12))
    opened_on: Mapped[dt.date] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    petitioner: Mapped[str | None] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(40))
    summary: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=SRID, spatial_index=False))
    source_crs: Mapped[str | None] = mapped_column(String(10))
    # geocoded / gps / manual ; score 0..1 says how sure
    location_method: Mapped[str | None] = mapped_column(String(20))
    location_score: Mapped[float | None] = mapped_column(Float)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id", ondelete="SET NULL"))
    county_code: Mapped[str] = mapped_column(String(6))
    township_code: Mapped[str | None] = mapped_column(String(12))
    village_code: Mapped[str | None] = mapped_column(String(12))
    group_code: Mapped[str | None] = mapped_column(String(15))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))


class Visit(Base):
    """A work team's household visit, with the phone's GPS point in its source system."""

    __tablename__ = "visit"
    __table_args__ = (
        Index("ix_visit_geom", "geom", postgresql_using="gist"),
        Index("ix_visit_village_code", "village_code"),
        Index("ix_visit_visited_at", "visited_at"),
        Index("uq_visit_natural_key", "natural_key", unique=True),
        Index(
            "uq_visit_source_id",
            "source_id",
            unique=True,
            postgresql_where=text("source_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"))
    household: Mapped[str | None] = mapped_column(String(120))
    visited_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=SRID, spatial_index=False))
    source_crs: Mapped[str] = mapped_column(String(10))
    source_lon: Mapped[float | None] = mapped_column(Float)
    source_lat: Mapped[float | None] = mapped_column(Float)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id", ondelete="SET NULL"))
    county_code: Mapped[str] = mapped_column(String(6))
    township_code: Mapped[str | None] = mapped_column(String(12))
    village_code: Mapped[str | None] = mapped_column(String(12))
    group_code: Mapped[str | None] = mapped_column(String(15))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))
    # The source system's record id, when the file has one (unique).
    source_id: Mapped[str | None] = mapped_column(String(80, collation="C"))
    # md5 of (team, household, time, point) by the database function visit_natural_key
    # (migration 0002): a visit is never stored twice, whichever file brings it.
    natural_key: Mapped[Any] = mapped_column(UUID, nullable=False)


class ReviewItem(Base):
    """A row an import could not place; staff resolve it on the review page."""

    __tablename__ = "review_item"
    __table_args__ = (Index("ix_review_item_open", "kind", "resolved"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))
    row_number: Mapped[int] = mapped_column(Integer)
    county_code: Mapped[str | None] = mapped_column(String(6))
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reason: Mapped[str] = mapped_column(Text)
    candidates: Mapped[dict[str, Any]] = mapped_column(default=dict)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    resolved_by: Mapped[str | None] = mapped_column(String(60))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Road(Base):
    """A road line with its class and speed: distances and travel times along roads.

    ``source`` says where the lines came from; the demo's are marked synthetic.
    """

    __tablename__ = "road"
    __table_args__ = (Index("ix_road_geom", "geom", postgresql_using="gist"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    road_class: Mapped[str] = mapped_column(String(30))
    name: Mapped[str | None] = mapped_column(String(120))
    speed_kmh: Mapped[float] = mapped_column(Float)
    source: Mapped[str | None] = mapped_column(Text)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))
    geom: Mapped[Any] = mapped_column(Geometry("LINESTRING", srid=SRID, spatial_index=False))


class User(Base):
    """A user with a role and an area: they see only what lies inside their area."""

    __tablename__ = "app_user"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(60))
    role: Mapped[str] = mapped_column(String(10))
    # Statistical code of the area the user may see ("430500000000" = the whole city).
    area_code: Mapped[str] = mapped_column(String(15))
    password_hash: Mapped[str | None] = mapped_column(Text)
    # A disabled user cannot log in and their sessions and tokens stop working.
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Set by an administrator's password reset: the next log-in must choose a new password.
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )


class UserSession(Base):
    """A signed-in browser session: the cookie holds a random id, only its SHA-256 is stored.

    Logging out deletes the row, so a copied cookie stops working; idle and absolute limits
    are checked on every request (``webmap.sessions``).
    """

    __tablename__ = "user_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_seen: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # Set after log-in when the password must be changed before anything else.
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )


class LoginAttempt(Base):
    """Failed log-ins per user name (known or not, so the lock-out tells nothing)."""

    __tablename__ = "login_attempt"

    username: Mapped[str] = mapped_column(String(60), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A bearer token for scripts and GIS clients; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    # Tokens are 256 random bits, so a plain SHA-256 is enough (no salt or slow hash needed).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, shown by `tokens list` to tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class AuditLog(Base):
    """Who did what, when: sign-ins, imports, activations, review decisions, exports, views of
    personal records.  Append-only: a trigger refuses UPDATE and DELETE, and the web app's
    database role is granted only SELECT and INSERT on it."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_username_at", "username", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    username: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(60))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
