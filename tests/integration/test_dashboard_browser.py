"""The dashboard in a real headless Chromium: it loads with a manager's token, every chart renders, the
figures it shows are the API's, a screenshot is kept, and another area's manager sees their own area only.

Chromium is the Debian package `chromium`, which `.ci/run` and `make test` install (`.ci/install-chromium`,
as root). Where it cannot be installed this one test skips and says so.
"""
import asyncio
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from services.reporting.service import SERVICE as REPORTING
from tests.integration.follow_up_history import publish_follow_up_histories
from tests.support import caught_up, eventually, get_json

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTEFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artefacts"
CHART_REPORTS = ("outcomes", "esf", "municipal-share", "return")
CHARTS = ("clients_by_month", "stock", "clients_by_status", "exits", "kinds", "hidden", "gig", "esf", "share", "plan",
          "return")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium: install the Debian package `chromium` "
                                                         "(.ci/install-chromium, as root) to run the browser test")


class Page(HTMLParser):
    """The rendered DOM's charts (id -> status and table) and figures (table/row/column -> raw value)."""

    def __init__(self):
        super().__init__()
        self.charts: dict[str, tuple[str, str]] = {}
        self.figures: dict[str, str] = {}
        self.area = None
        self._in_area = False
        self.body_status = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "body":
            self.body_status = attributes.get("data-status")
        if tag == "figure" and "data-chart" in attributes:
            self.charts[attributes["data-chart"]] = (attributes.get("data-status"), attributes.get("data-table"))
        if tag == "td" and "data-figure" in attributes:
            self.figures[attributes["data-figure"]] = attributes["data-raw"]
        self._in_area = attributes.get("id") == "area"

    def handle_data(self, data):
        if self._in_area:
            self.area, self._in_area = data, False


async def chromium(*arguments: str) -> str:
    process = await asyncio.create_subprocess_exec(
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--hide-scrollbars", "--virtual-time-budget=15000", *arguments,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=90)
    assert process.returncode == 0, err.decode()[-2000:]
    return out.decode()


async def rendered(url: str) -> Page:
    page = Page()
    page.feed(await chromium("--dump-dom", url))
    return page


async def test_the_dashboard_shows_the_apis_figures_per_area(start_service, nc, token):
    runtime = await start_service(REPORTING)
    await publish_follow_up_histories(nc.jetstream())
    await eventually(lambda: caught_up(runtime), what="reporting took the follow-up history")
    base = f"http://127.0.0.1:{runtime.settings.http_port}"

    for area in ("kemi", "tornio"):
        manager = token("manager", area)
        page = await rendered(f"{base}/dashboard#token={manager}&lang=en")
        assert page.body_status == "rendered" and page.area == area
        assert {chart: status for chart, (status, _) in page.charts.items()} == dict.fromkeys(CHARTS, "rendered")
        shown_tables = {table for _, table in page.charts.values()}
        api = {}
        for name in CHART_REPORTS:
            for table in (await get_json(f"{base}/reports/{name}", manager))["tables"]:
                api[table["name"]] = table
        compared = 0
        for table_name in shown_tables:
            table = api[table_name]
            for r, row in enumerate(table["rows"]):
                for column, value in zip(table["columns"], row, strict=True):
                    assert page.figures[f"{table_name}/{r}/{column}"] == ("" if value is None else str(value))
                    compared += 1
            assert not any(key.startswith(f"{table_name}/{len(table['rows'])}/") for key in page.figures)
        assert compared > 20
        if area == "tornio":  # nothing of Kemi: its figures are Tornio's one client and one placement
            assert page.figures["clients_by_status/0/clients"] == "1" and "clients_by_status/1/status" not in page.figures

    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTEFACTS / "dashboard-kemi.png"
    screenshot.unlink(missing_ok=True)
    await chromium(f"--screenshot={screenshot}", "--window-size=1400,2600",
                   f"{base}/dashboard#token={token('manager', 'kemi')}&lang=fi")
    assert screenshot.stat().st_size > 10_000


async def test_the_page_loads_without_a_token_and_asks_for_one(start_service):
    runtime = await start_service(REPORTING)
    dom = await chromium("--dump-dom", f"http://127.0.0.1:{runtime.settings.http_port}/dashboard")
    page = Page()
    page.feed(dom)
    assert '<form id="login">' in dom, "the token form is shown (no longer hidden)"
    assert page.charts == {} and page.figures == {}
