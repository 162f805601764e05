"""README's configuration table names every setting a service reads, and nothing it does not."""
import re
from pathlib import Path

from services.payroll_billing.finvoice import Seller
from services.platform.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"
# Read by `make run` (services/devrun.py), not by a service; and the OpenTelemetry SDK's own.
NOT_SETTINGS = {"POLKU_FIRST_PORT", "OTEL_EXPORTER_OTLP_ENDPOINT"}


def table_variables() -> set[str]:
    section = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`((?:POLKU|NATS|OTEL)_[A-Z0-9_]+)`", row.split(" | ")[0])}


def settings_variables() -> set[str]:
    """Every service's settings, and payroll-billing's seller (the foundation on its invoices)."""
    names = set()
    for settings in (Settings, Seller):
        prefix = settings.model_config["env_prefix"]
        for name, field in settings.model_fields.items():
            if name == "service":  # chosen by `python -m services.<name>`, not configured
                continue
            alias = field.validation_alias
            names |= set(alias.choices) if alias is not None else {f"{prefix}{name}".upper()}
    return names


def test_the_readme_table_lists_exactly_the_settings():
    documented, read = table_variables(), settings_variables()
    assert read - documented == set(), f"settings missing from README's table: {sorted(read - documented)}"
    assert documented - read - NOT_SETTINGS == set(), f"README lists what no code reads: {sorted(documented - read)}"
