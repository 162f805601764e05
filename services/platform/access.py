"""Authorisation in one place: the matrix of services/access.yaml, endpoint x role."""
from functools import cache
from pathlib import Path

import yaml

from services.platform.auth import ROLES

MATRIX_FILE = Path(__file__).resolve().parents[1] / "access.yaml"
EVERY_SERVICE = "every service"


@cache
def matrix(path: Path = MATRIX_FILE) -> dict[str, dict[str, frozenset[str]]]:
    """service -> "METHOD /path" -> the roles allowed."""
    loaded = yaml.safe_load(path.read_text())
    result = {}
    for service, endpoints in loaded.items():
        result[service] = {}
        for endpoint, roles in endpoints.items():
            unknown = set(roles) - set(ROLES)
            if unknown:
                raise ValueError(f"{path.name}: {service} {endpoint}: unknown role(s) {sorted(unknown)}")
            result[service][endpoint] = frozenset(roles)
    return result


def allowed_roles(service: str) -> dict[str, frozenset[str]]:
    """The endpoints of one service (its own and those every service has) and who may call them."""
    return matrix()[EVERY_SERVICE] | matrix().get(service, {})


def markdown_table() -> str:
    """The matrix as README.md shows it (a test keeps the two the same)."""
    lines = ["| service | endpoint | " + " | ".join(ROLES) + " |", "| --- | --- |" + " :-: |" * len(ROLES)]
    for service, endpoints in matrix().items():
        for endpoint, roles in endpoints.items():
            marks = " | ".join("✓" if role in roles else "" for role in ROLES)
            lines.append(f"| {service} | `{endpoint}` | {marks} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())  # for README.md's Security section
