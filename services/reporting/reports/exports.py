"""A report as CSV (one table) and as XLSX (one sheet a table, numbers as numbers, and a sheet of the
rules and sources), from the same Report the JSON shows."""
import csv
import io
from datetime import date
from decimal import Decimal

from openpyxl import Workbook

from services.reporting.reports.document import Report, Table

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_NAME_LENGTH = 31  # Excel's limit


def as_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.columns)
    writer.writerows([["" if value is None else _text(value) for value in row] for row in table.rows])
    return out.getvalue()


def _text(value) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def as_xlsx(report: Report) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for table in report.tables:
        sheet = workbook.create_sheet(table.name[:SHEET_NAME_LENGTH])
        sheet.append(table.columns)
        for row in table.rows:
            # Decimal as a number (a float cell: Excel has no decimals); None as an empty cell.
            sheet.append([float(value) if isinstance(value, Decimal) else value for value in row])
    about = workbook.create_sheet("rules_and_sources")
    about.append(["figure", "source", "verified"])
    for source in report.sources:
        about.append([source.figure, source.source, source.verified])
    about.append([])
    about.append(["report", report.name])
    about.append(["employment_area", report.scope.area])
    about.append(["from", report.scope.first_day])
    about.append(["to", report.scope.last_day])
    about.append(["suppressed_under", report.scope.suppress_under])
    for note in report.notes:
        about.append(["note", note])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
