"""Employment areas and their municipalities, as data (services/areas.yaml)."""
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

AREAS_FILE = Path(__file__).with_name("areas.yaml")


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    municipalities: tuple[str, ...]


@cache
def areas(path: Path = AREAS_FILE) -> dict[str, Area]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))["areas"]
    return {code: Area(code, area["name"], tuple(area["municipalities"])) for code, area in loaded.items()}
