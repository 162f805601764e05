"""Calendar arithmetic the rules need, and times read back from the database."""
import calendar
from datetime import UTC, date, datetime


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it is shorter (31 Aug + 6 = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def aware(moment: datetime) -> datetime:
    """A time stored as UTC: SQLite gives it back naive, PostgreSQL with its offset."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
