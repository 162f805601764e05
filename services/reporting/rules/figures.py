"""Figures shared by the reports: percentiles of durations, and small-number suppression."""
import math
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import yaml

SUPPRESSION_FILE = Path(__file__).with_name("suppression.yaml")


def percentile(values: Sequence[int], share: float) -> int | None:
    """Nearest-rank percentile (the smallest value with at least `share` of the values at or below it)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


@cache
def suppression_rule(path: Path = SUPPRESSION_FILE) -> dict:
    return yaml.safe_load(path.read_text())


def suppressed(count: int | None, threshold: int) -> int | None:
    """A count of people under the threshold is not shown (None); zero is not a person, so it stays."""
    return None if count is not None and 0 < count < threshold else count
