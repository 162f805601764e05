"""Employer's own tables besides the event log: what its commands look up in one query.

`employer_business_ids` keeps a Y-tunnus once per area; `clients` holds the anonymous facts of
clients heard from intake and pathway (for placement checks and matching), `client_revisions` the
counter that orders their changes per area; `placement_spans` the
dates of each client's placements (for the month limits); `proposals` who a proposal waits on.
Each is written in the transaction of the events it follows.
"""
from sqlalchemy import JSON, Boolean, Column, Date, Index, Integer, MetaData, String, Table

metadata = MetaData()

employer_business_ids = Table(
    "employer_business_ids", metadata,
    Column("employment_area", String(40), primary_key=True),
    Column("business_id", String(9), primary_key=True),
    Column("employer_id", String(36), nullable=False),
)

clients = Table(
    "clients", metadata,
    Column("client_id", String(36), primary_key=True),
    Column("employment_area", String(40), nullable=False),
    Column("enrolled", Boolean, nullable=False, default=False),
    Column("exited", Boolean, nullable=False, default=False),
    Column("case_worker_id", String(64)),
    Column("municipality", String(200)),
    Column("age_band", String(16)),
    Column("months_unemployed", Integer),
    Column("priority_groups", JSON, nullable=False, default=list),
    Column("skill_tags", JSON, nullable=False, default=list),
    Column("hours_in_steps", Integer, nullable=False, default=0),
    # The area's revision at the client's last change: matching's cache reads only what changed since.
    Column("revision", Integer, nullable=False, default=0),
    Index("clients_by_area_revision", "employment_area", "revision"),
)

# One counter per area, bumped by every change of a client of it; its row lock orders the changes,
# so a reader that has seen revision n has seen every change up to n.
client_revisions = Table(
    "client_revisions", metadata,
    Column("employment_area", String(40), primary_key=True),
    Column("revision", Integer, nullable=False),
)

# The case worker's steps a client is in now (placements count in placement_spans), with their hours.
client_steps = Table(
    "client_steps", metadata,
    Column("step_id", String(36), primary_key=True),
    Column("client_id", String(36), nullable=False),
    Column("hours_per_week", Integer, nullable=False),
)

placement_spans = Table(
    "placement_spans", metadata,
    Column("placement_id", String(36), primary_key=True),
    Column("client_id", String(36), nullable=False, index=True),
    Column("employer_id", String(36), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("last_day", Date, nullable=False),
    Column("hours_per_week", Integer, nullable=False),
    Column("ended", Boolean, nullable=False, default=False),
)

proposals = Table(
    "proposals", metadata,
    Column("proposal_id", String(36), primary_key=True),
    Column("client_id", String(36), nullable=False, index=True),
    Column("employment_area", String(40), nullable=False),
    Column("status", String(16), nullable=False),
    Column("proposed_on", Date, nullable=False),
)

TABLES = (employer_business_ids, clients, client_revisions, client_steps, placement_spans, proposals)
