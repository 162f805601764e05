"""The municipal share ladder at its boundaries, by hand: days reached before a period decide its share."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.reporting.rules.municipal_share import (employed_during, payment_periods, savings_by_month,
                                                      share_rules, weekdays, what_if)

MONDAY = date(2024, 1, 1)  # a Monday: a four-week period from it holds 20 benefit days
DAILY = Decimal("37.21")


@pytest.mark.parametrize("days_before, percent", [(0, 0), (299, 0), (300, 50), (301, 50),
                                                  (999, 50), (1000, 70), (1001, 70)])
def test_the_2015_ladder_by_days_reached_before_the_period(days_before, percent):
    period, = payment_periods(days_before, MONDAY, MONDAY + timedelta(days=27))
    assert (period.model, period.percent, period.benefit_days) == ("ladder_2015", percent, 20)
    assert period.municipal_share == (DAILY * 20 * percent / 100).quantize(Decimal("0.01"))


def test_the_share_switches_at_the_payment_period_boundary_not_on_the_300th_day():
    first, second, third = payment_periods(290, MONDAY, MONDAY + timedelta(days=83))
    # The 300th day falls in the first period (290 + 20 = 310): the state pays all of it.
    assert (first.days_before, first.percent, first.municipal_share) == (290, 0, Decimal("0.00"))
    assert (second.starts_on, second.days_before, second.percent) == (date(2024, 1, 29), 310, 50)
    assert second.municipal_share == Decimal("372.10")
    assert (third.days_before, third.percent) == (330, 50)


def test_the_period_that_reaches_1000_days_stays_at_half_and_the_next_pays_70():
    reaching, after = payment_periods(990, MONDAY, MONDAY + timedelta(days=55))
    assert (reaching.percent, after.days_before, after.percent) == (50, 1010, 70)
    assert after.municipal_share == Decimal("520.94")  # 37.21 * 20 * 0.7


def test_from_2025_the_unverified_model_applies_and_says_so():
    period, = payment_periods(150, date(2025, 1, 6), date(2025, 2, 2))
    assert (period.model, period.percent) == ("steps_2025", 10)
    model = share_rules().model_on(date(2025, 1, 6))
    assert not model.verified and "UNVERIFIED" in model.source


def test_employment_saves_the_days_not_paid_and_their_share():
    employed = employed_during([(date(2024, 1, 29), None)])  # from the second period on
    months = savings_by_month(400, MONDAY, MONDAY + timedelta(days=55), employed)
    january, february = months["2024-01"], months["2024-02"]
    assert (january.days_not_paid, january.municipal_share_saved) == (0, Decimal("0.00"))
    assert january.municipal_share_paid == Decimal("372.10")
    # Period two (29 Jan - 25 Feb): 20 benefit days not paid, at 50 %.
    assert (february.days_not_paid, february.municipal_share_saved) == (20, Decimal("372.10"))


def test_what_if_scales_the_same_calculation_by_the_number_of_clients():
    one = what_if(1, 400, MONDAY, date(2024, 1, 29), MONDAY + timedelta(days=55))
    ten = what_if(10, 400, MONDAY, date(2024, 1, 29), MONDAY + timedelta(days=55))
    assert one.saved == Decimal("372.10") and ten.saved == Decimal("3721.00")
    assert ten.municipal_share_without_work == 10 * one.municipal_share_without_work


def test_no_rule_before_2015_is_a_clear_refusal():
    with pytest.raises(LookupError, match="municipal share model"):
        payment_periods(0, date(2014, 12, 1), date(2014, 12, 20))


@settings(max_examples=300, deadline=None)
@given(first=st.dates(date(2024, 1, 1), date(2024, 12, 31)), length=st.integers(0, 60),
       spans=st.lists(st.tuples(st.dates(date(2023, 12, 1), date(2025, 2, 1)), st.integers(0, 90),
                                st.booleans()), max_size=4),
       per_week=st.integers(1, 7))
def test_counted_weekdays_equal_counting_day_by_day(first, length, spans, per_week):
    last = first + timedelta(days=length)
    spans = [(start, None if open_ended else start + timedelta(days=days)) for start, days, open_ended in spans]
    days = [first + timedelta(days=offset) for offset in range(length + 1)]
    in_work = [day for day in days if any(start <= day and (end is None or day <= end) for start, end in spans)]
    assert weekdays(first, last, per_week) == sum(1 for day in days if day.weekday() < per_week)
    assert employed_during(spans).weekdays_within(first, last, per_week) == \
        sum(1 for day in in_work if day.weekday() < per_week)
