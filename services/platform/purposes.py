"""Purposes of processing personal data as codes from a list (services/purposes.yaml): the only values of
the X-Purpose header, so the append-only audit log never holds free text that erasure cannot reach."""
from datetime import date
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from services.platform.rules import SourcedRule

PURPOSES_FILE = Path(__file__).parents[1] / "purposes.yaml"


class Purpose(SourcedRule):
    """One purpose: its code, what it means in Finnish and English, and the law it rests on."""

    code: str
    fi: str
    en: str
    legal_basis: str


class _PurposesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str
    purposes: list[dict]


@cache
def purposes(path: Path = PURPOSES_FILE) -> tuple[Purpose, ...]:
    loaded = _PurposesFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    rows = tuple(Purpose.model_validate({"source": loaded.source} | row) for row in loaded.purposes)
    codes = [row.code for row in rows]
    if len(set(codes)) != len(codes):
        raise ValueError(f"{path}: a purpose code is listed twice")
    return rows


def codes_in_force(day: date) -> list[str]:
    return [purpose.code for purpose in purposes() if purpose.in_force(day)]
