"""The case count cube behind the leaders' maps, and the flag that says it is out of date.

Revision ID: svc_case_cube
Revises: planners_roads
Create Date: 2026-11-29 21:15:00

``case_cube`` counts the located cases by (day opened, kind, status, county, township, village,
H3 cell at resolutions 6-9): every leaders' filter is a sum over it instead of a pass over the
cases' points.  ``case_h3`` keeps each case's H3 cells with the point they were computed from,
so a rebuild computes cells only for new or moved cases and the recount is one SQL statement.  ``case_cube_state.stale`` is set by a statement trigger on ``case_record`` in
the writing transaction itself, so any writer (imports, the review queue, re-attribution, a
script) marks the cube out of date; ``models.case_cube`` rebuilds it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "svc_case_cube"
down_revision: str | None = "planners_roads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_cube",
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=True),
        sa.Column("township_code", sa.String(12), nullable=True),
        sa.Column("village_code", sa.String(12), nullable=True),
        sa.Column("h6", sa.BigInteger(), nullable=False),
        sa.Column("h7", sa.BigInteger(), nullable=False),
        sa.Column("h8", sa.BigInteger(), nullable=False),
        sa.Column("h9", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_index("ix_case_cube_opened_on", "case_cube", ["opened_on"])
    op.create_table(
        "case_h3",
        sa.Column(
            "case_id",
            sa.BigInteger(),
            sa.ForeignKey("case_record.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("h6", sa.BigInteger(), nullable=False),
        sa.Column("h7", sa.BigInteger(), nullable=False),
        sa.Column("h8", sa.BigInteger(), nullable=False),
        sa.Column("h9", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_case_cube_township", "case_cube", ["township_code"])
    op.create_table(
        "case_cube_state",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.Column("rebuilt_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id = 1", name="one_row"),
    )
    op.execute("INSERT INTO case_cube_state (id, stale) VALUES (1, true)")
    op.execute(
        """
        CREATE FUNCTION case_cube_mark_stale() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE case_cube_state SET stale = true WHERE id = 1 AND NOT stale;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER case_cube_stale AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
        " ON case_record FOR EACH STATEMENT EXECUTE FUNCTION case_cube_mark_stale()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER case_cube_stale ON case_record")
    op.execute("DROP FUNCTION case_cube_mark_stale()")
    op.drop_table("case_cube_state")
    op.drop_table("case_h3")
    op.drop_table("case_cube")
