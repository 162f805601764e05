"""A tally counts only the parts a row's change alters (projections._difference): what it adds up to is what
counting the whole row away and back adds up to, parts in both, parts twice and no parts alike."""
import random

from services.reporting.projections import _count, _difference

GROUPS = [("kemi", "run", day) for day in range(4)] + [("tornio", "first", 0)]
AMOUNTS = [(1, 1, 0), (1, -1, 0), (1, 1, 250)]


def _changes(before: list, after: list) -> dict:
    changes: dict = {}
    _count(changes, before, -1)
    _count(changes, after, 1)
    return {group: amounts for group, amounts in changes.items() if any(amounts)}


def _parts(rng: random.Random) -> list:
    return [(rng.choice(GROUPS), rng.choice(AMOUNTS)) for _ in range(rng.randrange(6))]


def test_the_parts_a_change_leaves_alone_are_not_counted_and_the_sums_are_those_of_the_whole_rows():
    rng = random.Random(10)
    for _ in range(2000):
        before = _parts(rng)
        after = before[:rng.randrange(len(before) + 1)] + _parts(rng) if rng.random() < 0.7 else _parts(rng)
        rng.shuffle(after)
        assert _changes(*_difference(before, after)) == _changes(before, after), (before, after)


def test_what_both_hold_is_left_out_unless_a_part_comes_twice():
    same, other = (GROUPS[0], AMOUNTS[0]), (GROUPS[1], AMOUNTS[0])
    assert _difference([same, other], [other, same]) == ([], [])
    assert _difference([same, other], [same]) == ([other], [])
    assert _difference([same], [same, other]) == ([], [other])
    assert _difference([same, same], [same]) == ([same, same], [same]), "a part twice: counted as it is"
    assert _difference([same], [same, same]) == ([same], [same, same])
