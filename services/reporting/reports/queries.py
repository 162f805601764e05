"""SQL pieces every report uses: the area and date range as WHERE clauses, and a date's month."""
from sqlalchemy import Column, func
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.reports.document import Scope


def in_scope(scope: Scope, area: Column, day: Column) -> list:
    clauses = [area == scope.area]
    if scope.first_day is not None:
        clauses.append(day >= scope.first_day)
    if scope.last_day is not None:
        clauses.append(day <= scope.last_day)
    return clauses


def month_of(connection: AsyncConnection, day: Column):
    """YYYY-MM of a date column, on SQLite (ISO text) and PostgreSQL."""
    if connection.dialect.name == "sqlite":
        return func.substr(day, 1, 7)
    return func.to_char(day, "YYYY-MM")
