"""SQL pieces every report uses: the area and date range as WHERE clauses, a date's month, the days
between two dates, and the days spans fall within a window."""
from datetime import date

from sqlalchemy import BigInteger, Column, cast, func, literal
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.reports.document import Scope


def in_scope(scope: Scope, area: Column, day: Column) -> list:
    """The area's rows whose `day` falls in the range (a row without that day, say no exit yet, never does)."""
    clauses = [area == scope.area, day.is_not(None)]
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


def days_within(connection: AsyncConnection, first: Column, last: Column, window_first: date | None,
                window_last: date):
    """Sum over the rows of the days from `first` to `last` (None: still going) inside the window."""
    window_end = literal(window_last)
    if connection.dialect.name == "sqlite":  # ISO text dates; min()/max() of several arguments are scalar
        end = func.min(func.coalesce(last, window_end), window_end)
        start = func.max(first, literal(window_first)) if window_first else first
        return func.coalesce(func.sum(func.max(func.julianday(end) - func.julianday(start) + 1, 0)), 0)
    end = func.least(func.coalesce(last, window_end), window_end)
    start = func.greatest(first, literal(window_first)) if window_first else first
    return func.coalesce(func.sum(func.greatest(end - start + 1, 0)), 0)


def days_between(connection: AsyncConnection, first: Column, last: Column):
    """Whole days from `first` to `last` (None where either is)."""
    if connection.dialect.name == "sqlite":
        return cast(func.julianday(last) - func.julianday(first), BigInteger)
    return last - first


def total(column):
    """SUM of a count as a whole number (PostgreSQL sums bigints as numeric, SQLite as integers)."""
    return cast(func.sum(column), BigInteger)
