"""Pathway's own table besides the event log: who each client's case worker is, from intake's events
(ClientEnrolled, CaseWorkerAssigned), so only that case worker plans the client's steps, and each
client's area, against which another service's event about the client is checked."""
from sqlalchemy import Column, MetaData, String, Table

metadata = MetaData()

case_workers = Table(
    "case_workers",
    metadata,
    Column("client_id", String(36), primary_key=True),
    Column("employment_area", String(40), nullable=False),
    Column("case_worker_id", String(64), nullable=False),
)
