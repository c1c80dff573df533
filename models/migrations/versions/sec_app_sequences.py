"""the app's role may advance sequences in blocks (boundary imports from the staff page)

Revision ID: sec_app_sequences
Revises: ux_station_head
Create Date: 2026-11-29 23:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "sec_app_sequences"
down_revision: str | None = "ux_station_head"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "qungong_app"


def upgrade() -> None:
    # models.units.allocate_unit_ids reserves a block of ids with setval, which needs UPDATE
    # on the sequence; the web app imports boundaries since it connects as qungong_web.
    op.execute(f"GRANT UPDATE ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT UPDATE ON SEQUENCES TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE UPDATE ON SEQUENCES FROM {APP_ROLE}"
    )
    op.execute(f"REVOKE UPDATE ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE}")
