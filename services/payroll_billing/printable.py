"""An invoice as a printable page (HTML), in Finnish as the employers read it."""
import html

from stdnum import iso11649

from contracts.events.payroll_billing import EmployerInvoiced
from services.payroll_billing.finvoice import Buyer, Seller, invoice_number


def printable(issued: EmployerInvoiced, seller: Seller, buyer: Buyer) -> str:
    rows = "".join(
        f"<tr><td>{line.period_start}–{line.period_end}</td><td>{line.task_id or line.employment_id}</td>"
        f"<td>{line.hours}</td><td>{line.hourly_billing_rate}</td><td>{line.net}</td><td>{line.vat_percent} %</td>"
        f"<td>{line.vat}</td></tr>" for line in issued.lines)
    grouped = " ".join(issued.reference[max(0, end - 5):end] for end in range(len(issued.reference), 0, -5)[::-1])
    return (f"<!doctype html><html lang='fi'><meta charset='utf-8'>"
            f"<title>Lasku {invoice_number(issued.invoice_id)}</title>"
            f"<body><h1>Lasku / Invoice</h1><p>{html.escape(seller.name)}, {seller.business_id}<br>"
            f"{html.escape(seller.street)}, {seller.post_code} {html.escape(seller.town)}</p>"
            f"<p>Ostaja / Buyer: {html.escape(buyer.name)}, {buyer.business_id}</p>"
            f"<p>Laskun päivä {issued.issued_on:%d.%m.%Y}, eräpäivä {issued.due_on:%d.%m.%Y}</p>"
            f"<table><tr><th>Jakso</th><th>Tehtävä</th><th>h</th><th>€/h</th><th>Veroton</th><th>ALV</th>"
            f"<th>ALV €</th></tr>{rows}</table>"
            f"<p>Veroton {issued.amount} €, ALV {issued.vat_amount} €, yhteensä {issued.total} €</p>"
            f"<p>IBAN {seller.iban}, BIC {seller.bic}<br>Viitenumero {grouped}<br>"
            f"RF-viite {iso11649.format(issued.rf_reference)}</p>"
            f"<p>ALV-säännöt: {html.escape('; '.join(issued.vat_rules))}</p></body></html>")
