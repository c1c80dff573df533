"""Natural keys for visits (no record imported twice); a GiST index of the villager groups alone.

Revision ID: 0002_import_keys
Revises: 0001
Create Date: 2026-11-29 21:00:00

A visit's natural key is the source system's id when the file has one (``source_id``, unique),
and always the md5 of (team, household, time to the millisecond, point to 1e-7 degrees),
computed by the database function ``visit_natural_key`` (``natural_key``, unique): in the
import's staging table as rows are copied in, and here for the visits already stored.  Cases already have their number
per county (``uq_case_record_county_code``).

``ix_admin_unit_group_geom`` is a partial GiST index on the groups only: the point-in-group
joins (:func:`models.activity.reattribute`, review resolution) probe it alone instead of a
bitmap AND of the (generation, level) b-tree and the GiST index of every level.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002_import_keys"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every piece of the body is immutable (no concat_ws, no timestamptz date_part), so
    # PostgreSQL inlines the function into the staging table's generated column instead of
    # calling it row by row (~100 us a call: minutes for 1.6M visits).  ``epoch`` is seconds.
    op.execute(
        """
        CREATE FUNCTION visit_natural_key(team_id integer, household text, epoch float8,
                                          lon float8, lat float8)
        RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT md5(coalesce(team_id::text, '') || '|' || coalesce(household, '') || '|'
                       || round(epoch * 1000)::bigint::text || '|'
                       || round(lon * 1e7)::bigint::text || '|'
                       || round(lat * 1e7)::bigint::text)::uuid
        $$
        """
    )
    # "C" collation: ids are compared byte by byte, far cheaper than the locale's rules.
    op.execute(
        'ALTER TABLE visit ADD COLUMN source_id varchar(80) COLLATE "C",'
        " ADD COLUMN natural_key uuid"
    )
    op.execute(
        "UPDATE visit SET natural_key = visit_natural_key(team_id, household,"
        " date_part('epoch', visited_at), ST_X(geom), ST_Y(geom))"
    )
    op.execute("ALTER TABLE visit ALTER COLUMN natural_key SET NOT NULL")
    op.execute("CREATE UNIQUE INDEX uq_visit_natural_key ON visit (natural_key)")
    op.execute(
        "CREATE UNIQUE INDEX uq_visit_source_id ON visit (source_id) WHERE source_id IS NOT NULL"
    )
    op.execute(
        "CREATE INDEX ix_admin_unit_group_geom ON admin_unit USING gist (geom)"
        " WHERE level = 'group'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_admin_unit_group_geom")
    op.execute("DROP INDEX uq_visit_source_id")
    op.execute("DROP INDEX uq_visit_natural_key")
    op.execute("ALTER TABLE visit DROP COLUMN natural_key, DROP COLUMN source_id")
    op.execute("DROP FUNCTION visit_natural_key(integer, text, float8, float8, float8)")
