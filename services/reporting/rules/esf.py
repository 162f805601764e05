"""EU social fund indicators of participants, both programme periods, all by gender.

2014-2020: Reg. (EU) 1304/2013 Annex I (common output and result indicators, CO01-CO17, CR02-CR06).
2021-2027: Reg. (EU) 2021/1057 Annex I (ESF+: EECO and EECR); immediate results are the last status
within 28 days of leaving, and gender includes non-binary.
An indicator is a code, its labels and a test of one participation; the tally is by gender.
"""
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, timedelta

SOURCES = {
    "2014_2020": "Regulation (EU) No 1304/2013, Annex I",
    "2021_2027": "Regulation (EU) 2021/1057, Annex I",
}
IMMEDIATE_RESULT_WINDOW = timedelta(days=28)  # ESF+: the last status within 28 days of leaving
EMPLOYED = frozenset({"employed_company", "employed_association", "employed_foundation", "employed_city_unit",
                      "employed_other_public", "self_employed"})
UNEMPLOYED = frozenset({"unemployed", "long_term_unemployed"})
INACTIVE = frozenset({"inactive", "inactive_not_in_education_or_training"})
UNDER_25 = frozenset({"under_18", "18_24", "under_25"})


@dataclass(frozen=True)
class Participation:
    """One enrolment period as reporting knows it: anonymous facts only."""

    gender: str
    age_band: str
    labour_market_status: str | None = None
    education_level: str | None = None
    disability: str | None = None
    migrant_or_minority: str | None = None
    other_disadvantage: str | None = None
    exited_on: date | None = None
    status_at_exit: str | None = None
    status_on: date | None = None
    qualification_gained: bool = False
    six_month_status: str | None = None


@dataclass(frozen=True)
class Indicator:
    code: str
    label_en: str
    label_fi: str
    applies: Callable[[Participation], bool]


def _isced(levels: range) -> Callable[[Participation], bool]:
    names = {f"isced_{level}" for level in levels}
    return lambda p: p.education_level in names


def _left_with(statuses: Iterable[str], within_28_days: bool) -> Callable[[Participation], bool]:
    statuses = frozenset(statuses)

    def applies(p: Participation) -> bool:
        if p.exited_on is None or p.status_at_exit not in statuses:
            return False
        return not within_28_days or (p.status_on is not None and p.status_on <= p.exited_on + IMMEDIATE_RESULT_WINDOW)
    return applies


def _qualified(within_28_days: bool) -> Callable[[Participation], bool]:
    left = _left_with(EMPLOYED | {"in_education_or_training", "unemployed", "inactive", "in_rehabilitation",
                                  "moved_away", "other"}, within_28_days)
    return lambda p: p.qualification_gained and left(p)


def _yes(field: str) -> Callable[[Participation], bool]:
    return lambda p: getattr(p, field) == "yes"


def _entry_status(unemployed: str, long_term: str, inactive: str, employed: str) -> tuple[Indicator, ...]:
    """Labour market status at entry: the same four indicators in both periods, under their own codes."""
    return (
        Indicator(unemployed, "unemployed, including long-term unemployed", "työttömät, myös pitkäaikaistyöttömät",
                  lambda p: p.labour_market_status in UNEMPLOYED),
        Indicator(long_term, "long-term unemployed", "pitkäaikaistyöttömät",
                  lambda p: p.labour_market_status == "long_term_unemployed"),
        Indicator(inactive, "inactive", "työvoiman ulkopuolella olevat", lambda p: p.labour_market_status in INACTIVE),
        Indicator(employed, "employed, including self-employed", "työlliset, myös itsensä työllistäjät",
                  lambda p: p.labour_market_status == "employed"),
    )


INDICATORS: dict[str, tuple[Indicator, ...]] = {
    "2014_2020": (
        *_entry_status("CO01", "CO02", "CO03", "CO05"),
        Indicator("CO04", "inactive, not in education or training", "työvoiman ulkopuolella, ei koulutuksessa",
                  lambda p: p.labour_market_status == "inactive_not_in_education_or_training"),
        Indicator("CO06", "below 25 years of age", "alle 25-vuotiaat", lambda p: p.age_band in UNDER_25),
        Indicator("CO07", "above 54 years of age", "yli 54-vuotiaat", lambda p: p.age_band == "55_plus"),
        Indicator("CO08", "above 54, unemployed or inactive not in education or training",
                  "yli 54-vuotiaat työttömät tai työvoiman ulkopuolella olevat",
                  lambda p: p.age_band == "55_plus" and p.labour_market_status in
                  UNEMPLOYED | {"inactive_not_in_education_or_training"}),
        Indicator("CO09", "ISCED 1-2", "ISCED 1-2", _isced(range(1, 3))),  # 2014-2020 leaves ISCED 0 out
        Indicator("CO10", "ISCED 3-4", "ISCED 3-4", _isced(range(3, 5))),
        Indicator("CO11", "ISCED 5-8", "ISCED 5-8", _isced(range(5, 9))),
        Indicator("CO15", "migrants, foreign background, minorities", "maahanmuuttajat ja vähemmistöt",
                  _yes("migrant_or_minority")),
        Indicator("CO16", "participants with disabilities", "vammaiset osallistujat", _yes("disability")),
        Indicator("CO17", "other disadvantaged", "muut heikommassa asemassa olevat", _yes("other_disadvantage")),
        Indicator("CR01", "inactive, job searching upon leaving", "työvoiman ulkopuolelta työnhakijaksi",
                  lambda p: p.labour_market_status in INACTIVE and _left_with({"unemployed"}, False)(p)),
        Indicator("CR02", "in education or training upon leaving", "koulutuksessa poistuessaan",
                  _left_with({"in_education_or_training"}, False)),
        Indicator("CR03", "gaining a qualification upon leaving", "tutkinnon saaneet", _qualified(False)),
        Indicator("CR04", "unemployed, in employment upon leaving", "työttömästä työhön poistuessaan",
                  lambda p: p.labour_market_status in UNEMPLOYED and _left_with(EMPLOYED, False)(p)),
        Indicator("CR06", "in employment six months after leaving", "työssä kuusi kuukautta poistumisen jälkeen",
                  lambda p: p.six_month_status in EMPLOYED),
    ),
    "2021_2027": (
        *_entry_status("EECO02", "EECO03", "EECO04", "EECO05"),
        Indicator("EECO06", "below 18 years of age", "alle 18-vuotiaat", lambda p: p.age_band == "under_18"),
        Indicator("EECO07", "18-29 years of age", "18-29-vuotiaat", lambda p: p.age_band in {"18_24", "25_29"}),
        Indicator("EECO08", "55 years of age and above", "55 vuotta täyttäneet", lambda p: p.age_band == "55_plus"),
        Indicator("EECO09", "ISCED 0-2", "ISCED 0-2", _isced(range(0, 3))),
        Indicator("EECO10", "ISCED 3-4", "ISCED 3-4", _isced(range(3, 5))),
        Indicator("EECO11", "ISCED 5-8", "ISCED 5-8", _isced(range(5, 9))),
        Indicator("EECO12", "participants with disabilities", "vammaiset osallistujat", _yes("disability")),
        Indicator("EECO13", "migrants, foreign background, minorities", "maahanmuuttajat ja vähemmistöt",
                  _yes("migrant_or_minority")),
        Indicator("EECO15", "other disadvantaged", "muut heikommassa asemassa olevat", _yes("other_disadvantage")),
        Indicator("EECR01", "job searching upon leaving (within 28 days)", "työnhakijana 28 päivän kuluessa",
                  _left_with({"unemployed"}, True)),
        Indicator("EECR02", "in education or training upon leaving (within 28 days)",
                  "koulutuksessa 28 päivän kuluessa", _left_with({"in_education_or_training"}, True)),
        Indicator("EECR03", "gaining a qualification upon leaving (within 28 days)",
                  "tutkinnon saaneet 28 päivän kuluessa", _qualified(True)),
        Indicator("EECR04", "in employment upon leaving (within 28 days)", "työssä 28 päivän kuluessa",
                  _left_with(EMPLOYED, True)),
        Indicator("EECR05", "in employment six months after leaving", "työssä kuusi kuukautta poistumisen jälkeen",
                  lambda p: p.six_month_status in EMPLOYED),
    ),
}
# Gender columns: 2014-2020 reports women and men; ESF+ adds non-binary. Anything else is `unknown`.
GENDERS = {"2014_2020": ("female", "male"), "2021_2027": ("female", "male", "non_binary")}


def gender_column(variant: str, gender: str) -> str:
    return gender if gender in GENDERS[variant] else "unknown"


def tally(participations: Iterable[Participation], variant: str,
          weights: Iterable[int] | None = None) -> dict[str, dict[str, int]]:
    """Per indicator code, the participations it applies to by gender column (and `total`). With
    `weights`, each participation stands for that many alike (the rows of a GROUP BY)."""
    columns = (*GENDERS[variant], "unknown", "total")
    counts: dict[str, dict[str, int]] = {indicator.code: dict.fromkeys(columns, 0)
                                         for indicator in INDICATORS[variant]}
    counts["participants"] = dict.fromkeys(columns, 0)
    participations = list(participations)
    for participation, weight in zip(participations, weights or [1] * len(participations), strict=True):
        column = gender_column(variant, participation.gender)
        for code in ["participants"] + [i.code for i in INDICATORS[variant] if i.applies(participation)]:
            counts[code][column] += weight
            counts[code]["total"] += weight
    return counts


_ANY_EXIT = date(2000, 1, 1)


def codes(gender: str, age_band: str, labour_market_status: str | None, education_level: str | None,
          disability: str | None, migrant_or_minority: str | None, other_disadvantage: str | None,
          exited_on: date | None, status_at_exit: str | None, status_on: date | None, qualification_gained: bool,
          six_month_status: str | None) -> tuple[str, ...]:
    """Every indicator code of both programme periods that applies to the participation (its fields, as
    Participation has them), after "participants". The projection tallies a participant under each
    (report_esf_tally), for every changed client of a rebuild: participations alike in every fact a test
    reads are looked up, not tested again."""
    waited = None if exited_on is None or status_on is None else min(max(
        (status_on - exited_on).days, -1), IMMEDIATE_RESULT_WINDOW.days + 1)
    return _codes((gender, age_band, labour_market_status, education_level, disability, migrant_or_minority,
                   other_disadvantage, exited_on is not None, status_at_exit, waited, qualification_gained,
                   six_month_status))


@lru_cache(maxsize=65536)
def _codes(facts: tuple) -> tuple[str, ...]:
    *entry, exited, status_at_exit, waited, qualification_gained, six_month_status = facts
    # Only whether the participation ended and how long after it its status was seen count (within 28 days
    # or not), never the days themselves: any day stands for them.
    exited_on = _ANY_EXIT if exited else None
    participation = Participation(*entry, exited_on, status_at_exit,
                                  None if waited is None else _ANY_EXIT + timedelta(days=waited),
                                  qualification_gained, six_month_status)
    return ("participants", *dict.fromkeys(indicator.code for variant in INDICATORS.values() for indicator in variant
                                           if indicator.applies(participation)))


# The amounts a participant adds to a tallied cell: (participants, female, male, non_binary); another gender
# is the rest of the participants.
TALLIED_GENDERS: dict[str, tuple[int, int, int, int]] = defaultdict(lambda: (1, 0, 0, 0), {
    "female": (1, 1, 0, 0), "male": (1, 0, 1, 0), "non_binary": (1, 0, 0, 1)})


def counts_of(cells: Iterable[tuple[str, int, int, int, int]], variant: str) -> dict[str, dict[str, int]]:
    """`tally`'s counts from tallied cells (indicator code, participants, female, male, non_binary), for one
    programme period."""
    columns = (*GENDERS[variant], "unknown", "total")
    counts: dict[str, dict[str, int]] = {indicator.code: dict.fromkeys(columns, 0)
                                         for indicator in INDICATORS[variant]}
    counts["participants"] = dict.fromkeys(columns, 0)
    for code, participants, female, male, non_binary in cells:
        if code in counts:
            by_gender = {"female": female, "male": male, "non_binary": non_binary,
                         "": participants - female - male - non_binary}
            for gender, count in by_gender.items():
                counts[code][gender_column(variant, gender)] += count
            counts[code]["total"] += participants
    return counts
