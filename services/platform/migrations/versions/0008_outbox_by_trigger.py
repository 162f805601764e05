"""Every event written gets its outbox row from the database itself, in the same statement: the append
is one statement from the service, not two (the second looked each new event up by its id again),
and no insert into the event log can leave an event out of the outbox.

Revision ID: platform_0008
Revises: platform_0007
"""
from alembic import op

revision = "platform_0008"
down_revision = "platform_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE TRIGGER events_queue_for_relay AFTER INSERT ON events "
                   "BEGIN INSERT INTO outbox (position) VALUES (NEW.position); END")
    else:
        op.execute("CREATE FUNCTION events_queue_for_relay() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN INSERT INTO outbox (position) VALUES (NEW.position); RETURN NULL; END $$")
        op.execute("CREATE TRIGGER events_queue_for_relay AFTER INSERT ON events "
                   "FOR EACH ROW EXECUTE FUNCTION events_queue_for_relay()")


def downgrade() -> None:
    op.execute("DROP TRIGGER events_queue_for_relay" + ("" if op.get_bind().dialect.name == "sqlite" else " ON events"))
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION events_queue_for_relay")
