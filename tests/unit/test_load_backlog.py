"""`make load`'s backlog figures: a stage starts only after the consumers have had nothing pending for a
while, and a backlog that holds steady has no growth however much is in flight."""
import math

from tests.load.run_load import Backlog, growth_per_s


class Scripted(Backlog):
    """Pending counts in the order given, then nothing."""

    def __init__(self, counts: list[int]):
        self.counts, self.polls = list(counts), 0

    async def pending(self) -> dict[str, int]:
        self.polls += 1
        return {"reporting": self.counts.pop(0) if self.counts else 0}


async def test_a_stage_waits_for_a_quiet_spell_not_one_empty_poll():
    backlog = Scripted([5, 0, 3, 0, 0])  # the empty poll between an ack and the relay's publish
    await backlog.drained(quiet_s=0.2)
    assert backlog.polls >= 3 + 4, "it went on after the first empty poll"


def test_a_steady_backlog_has_no_growth_and_a_falling_behind_one_has_its_rate():
    steady = [(second / 2, 40 + (7 if second % 2 else -7)) for second in range(20)]
    behind = [(second / 2, 25 * second) for second in range(20)]
    assert abs(growth_per_s(steady)) < 2
    assert growth_per_s(behind) == 50.0
    assert math.isnan(growth_per_s(steady[:2]))
