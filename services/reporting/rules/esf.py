"""EU social fund indicators of participants, both programme periods, all by gender.

2014-2020: Reg. (EU) 1304/2013 Annex I (common output and result indicators, CO01-CO17, CR02-CR06).
2021-2027: Reg. (EU) 2021/1057 Annex I (ESF+: EECO and EECR); immediate results are the last status
within 28 days of leaving, and gender includes non-binary.
An indicator is a code, its labels and a test of one participation; the tally is by gender.
"""
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


# A day to stand for every exit when an indicator is asked whether it applies: only whether a participation
# ended and how long after it its status was observed count (within 28 days or not), never the day itself.
_ANY_EXIT = date(2000, 1, 1)


def codes(participation: Participation) -> tuple[str, ...]:
    """Every indicator code of both programme periods that applies to the participation, after
    "participants". The projection tallies a participant under each (report_esf_tally)."""
    if participation.exited_on is None:
        return _codes(participation)
    waited = None if participation.status_on is None else min(max(
        (participation.status_on - participation.exited_on).days, -1), IMMEDIATE_RESULT_WINDOW.days + 1)
    return _codes(Participation(**{**participation.__dict__, "exited_on": _ANY_EXIT,
                                   "status_on": None if waited is None else _ANY_EXIT + timedelta(days=waited)}))


@lru_cache(maxsize=65536)  # participations alike in every fact a test reads are many: a rebuild asks for each
def _codes(participation: Participation) -> tuple[str, ...]:
    return ("participants", *dict.fromkeys(indicator.code for variant in INDICATORS.values() for indicator in variant
                                           if indicator.applies(participation)))


def counts_of(cells: Iterable[tuple[str, str, int]], variant: str) -> dict[str, dict[str, int]]:
    """`tally`'s counts from tallied cells (gender, indicator code, participants), for one programme period."""
    columns = (*GENDERS[variant], "unknown", "total")
    counts: dict[str, dict[str, int]] = {indicator.code: dict.fromkeys(columns, 0)
                                         for indicator in INDICATORS[variant]}
    counts["participants"] = dict.fromkeys(columns, 0)
    for gender, code, participants in cells:
        if code in counts:
            counts[code][gender_column(variant, gender)] += participants
            counts[code]["total"] += participants
    return counts
