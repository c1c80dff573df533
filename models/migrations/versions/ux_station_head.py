"""station head (站长) on the station register

Revision ID: ux_station_head
Revises: sec_sessions_audit
Create Date: 2026-11-30 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ux_station_head"
down_revision: str | None = "sec_sessions_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: registers imported before this column named no head.
    op.add_column("station", sa.Column("head", sa.String(60), nullable=True))


def downgrade() -> None:
    op.drop_column("station", "head")
