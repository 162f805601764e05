"""Pathway's own table besides the event log: who each client's case worker is, from intake's events
(ClientEnrolled, CaseWorkerAssigned), so only that case worker plans the client's steps, and each
client's area, against which another service's event about the client is checked, and the
client's latest enrolment period, which says how many pathways the client has."""
from sqlalchemy import Column, Integer, MetaData, String, Table

metadata = MetaData()

case_workers = Table(
    "case_workers",
    metadata,
    Column("client_id", String(36), primary_key=True),
    Column("employment_area", String(40), nullable=False),
    Column("case_worker_id", String(64), nullable=False),
    # The client's latest enrolment period: pathways 1 to this one exist. None on rows from before
    # migration pathway_0002, whose pathways are found by probing (pathways.py).
    Column("latest_period", Integer),
)
