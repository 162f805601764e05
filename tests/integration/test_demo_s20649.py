"""`polku demo --cohort s20649` through the HTTP APIs: the outcome report shows the seed project's
outcomes (93 companies, 43 associations, 12 foundations, 4 own businesses, 44 studies of 317), and a
rebuild gives the same projections."""
from services.demo_s20649 import COHORT, cohort_size, load_s20649
from services.reporting.rebuild import rebuild
from tests.integration.test_flow import projection_rows
from tests.support import caught_up, eventually, get_json, url_of


async def test_the_s20649_cohort_in_the_outcome_report(five_services, nc, token):
    url = url_of(five_services)
    created = await load_s20649(url, token)
    assert sum(created.values()) == cohort_size() == 317
    reporting = five_services["reporting"]

    async def all_reported() -> bool:
        report = await get_json(f"{url('reporting')}/reports/outcomes", token("manager", "kemi"))
        by_status = {row[0]: row[1] for row in report["tables"][0]["rows"]}
        return sum(by_status.values()) == 317 and "referred" not in by_status

    await eventually(all_reported, timeout_s=120, what="reporting counting the whole cohort")
    await eventually(lambda: caught_up(reporting), timeout_s=60, what="reporting caught up")
    report = await get_json(f"{url('reporting')}/reports/outcomes", token("manager", "kemi"))
    exits = dict(next(table["rows"] for table in report["tables"] if table["name"] == "exits_by_status"))
    assert exits == {status: count for status, count in COHORT if status is not None}
    assert (exits["employed_company"], exits["employed_association"], exits["employed_foundation"],
            exits["self_employed"], exits["in_education_or_training"]) == (93, 43, 12, 4, 44)

    live = await projection_rows(reporting.engine)
    await reporting.stop()
    await rebuild(reporting.engine, nc, "POLKU", batch_size=200, show_progress=False)
    assert await projection_rows(reporting.engine) == live
