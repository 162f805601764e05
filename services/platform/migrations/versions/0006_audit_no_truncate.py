"""The audit log refuses TRUNCATE too (PostgreSQL; SQLite has none, and its DELETE without WHERE
fires the row triggers, which refuse it).

Revision ID: platform_0006
Revises: platform_0005
"""
from alembic import op

revision = "platform_0006"
down_revision = "platform_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
