"""ESF indicators of one participation at a time, by hand, and the tally by gender."""
from datetime import date

from services.reporting.rules.esf import Participation, tally
from services.reporting.rules.figures import percentile, suppressed

LEFT = date(2025, 3, 1)


def codes(participation: Participation, variant: str) -> set[str]:
    return {code for code, by_gender in tally([participation], variant).items()
            if by_gender["total"] and code != "participants"}


def test_entry_indicators_2014_2020():
    older = Participation("female", "55_plus", "long_term_unemployed", "isced_2", "yes", "no", "declined_to_say")
    assert codes(older, "2014_2020") == {"CO01", "CO02", "CO07", "CO08", "CO09", "CO16"}
    young = Participation("male", "under_25", "inactive_not_in_education_or_training", "isced_3")
    assert codes(young, "2014_2020") == {"CO03", "CO04", "CO06", "CO10"}


def test_isced_0_is_in_esf_plus_lowest_band_only():
    nothing = Participation("female", "30_54", education_level="isced_0")
    assert codes(nothing, "2014_2020") == set() and codes(nothing, "2021_2027") == {"EECO09"}


def test_esf_plus_age_bands_and_an_old_under_25_counted_in_neither():
    assert codes(Participation("non_binary", "under_18"), "2021_2027") == {"EECO06"}
    assert codes(Participation("female", "18_24"), "2021_2027") == {"EECO07"}
    assert codes(Participation("female", "25_29", education_level="isced_6"), "2021_2027") == {"EECO07", "EECO11"}
    assert codes(Participation("female", "under_25"), "2021_2027") == set()


def test_immediate_results_within_28_days_for_esf_plus_only():
    on_day_28 = Participation("male", "30_54", "unemployed", exited_on=LEFT, status_at_exit="employed_company",
                              status_on=date(2025, 3, 29))
    on_day_29 = Participation("male", "30_54", "unemployed", exited_on=LEFT, status_at_exit="employed_company",
                              status_on=date(2025, 3, 30))
    assert "EECR04" in codes(on_day_28, "2021_2027") and "EECR04" not in codes(on_day_29, "2021_2027")
    assert "CR04" in codes(on_day_29, "2014_2020")


def test_six_month_result_and_qualification():
    p = Participation("female", "30_54", "inactive", exited_on=LEFT, status_at_exit="in_education_or_training",
                      status_on=LEFT, qualification_gained=True, six_month_status="self_employed")
    assert codes(p, "2014_2020") == {"CO03", "CR02", "CR03", "CR06"}
    assert codes(p, "2021_2027") == {"EECO04", "EECR02", "EECR03", "EECR05"}


def test_tally_by_gender_columns():
    people = [Participation("female", "55_plus"), Participation("male", "55_plus"),
              Participation("non_binary", "55_plus"), Participation("unknown", "30_54")]
    old = tally(people, "2014_2020")
    assert old["CO07"] == {"female": 1, "male": 1, "unknown": 1, "total": 3}
    assert old["participants"]["total"] == 4
    assert tally(people, "2021_2027")["EECO08"] == {"female": 1, "male": 1, "non_binary": 1, "unknown": 0, "total": 3}


def test_percentile_nearest_rank_and_suppression_boundary():
    assert percentile([], 0.5) is None
    assert percentile([5, 1, 3, 2, 4], 0.5) == 3
    assert percentile(list(range(1, 11)), 0.9) == 9
    assert [suppressed(n, 5) for n in (0, 1, 4, 5, 6)] == [0, None, None, 5, 6]


def test_the_codes_the_projection_tallies_count_as_the_tally_of_the_participations():
    """The ESF report sums report_esf_tally's cells (each participant under every code rules.esf.codes gives);
    over participations of every kind, exits seen at every distance from leaving, that equals `tally`."""
    import random
    from datetime import timedelta

    from services.reporting.rules.esf import codes as tallied_codes
    from services.reporting.rules.esf import TALLIED_GENDERS, counts_of
    rng = random.Random(7)
    participations = []
    for _ in range(3000):
        exited = rng.random() < 0.6
        exited_on = LEFT + timedelta(days=rng.randrange(300)) if exited else None
        participations.append(Participation(
            rng.choice(("female", "male", "non_binary", "unknown")),
            rng.choice(("under_18", "18_24", "25_29", "30_54", "55_plus")),
            rng.choice(("unemployed", "long_term_unemployed", "inactive", "inactive_not_in_education_or_training",
                        "employed", None)),
            rng.choice(("isced_0", "isced_2", "isced_4", "isced_6", "not_asked", None)),
            rng.choice(("yes", "no", None)), rng.choice(("yes", "no", None)), rng.choice(("yes", "declined_to_say")),
            exited_on, rng.choice(("employed_company", "self_employed", "in_education_or_training", "unemployed",
                                   "other")) if exited else None,
            exited_on + timedelta(days=rng.randrange(-3, 40)) if exited and rng.random() < 0.9 else None,
            rng.random() < 0.3, rng.choice(("employed_company", "unemployed", None))))
    cells = [(code, *TALLIED_GENDERS[p.gender]) for p in participations
             for code in tallied_codes(*(getattr(p, name) for name in Participation.__dataclass_fields__))]
    for variant in ("2014_2020", "2021_2027"):
        assert counts_of(cells, variant) == tally(participations, variant)
