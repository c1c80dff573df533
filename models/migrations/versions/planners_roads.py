"""roads for distances along roads (planners' coverage)

Revision ID: planners_roads
Revises: ogc_api_token
Create Date: 2026-11-29 21:20:00
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op

revision: str = "planners_roads"
down_revision: str | None = "ogc_api_token"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "road",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("road_class", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=True),
        sa.Column("speed_kmh", sa.Float(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(geometry_type="LINESTRING", srid=4326, spatial_index=False),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["import_batch.id"], name=op.f("fk_road_batch_id_import_batch")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_road")),
    )
    op.create_index("ix_road_geom", "road", ["geom"], unique=False, postgresql_using="gist")


def downgrade() -> None:
    op.drop_index("ix_road_geom", table_name="road", postgresql_using="gist")
    op.drop_table("road")
