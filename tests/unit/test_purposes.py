"""Purposes as codes from a list (services/purposes.yaml): each with its meaning in Finnish and English,
its legal basis and its validity."""
from datetime import date

import pytest

from services.platform import purposes as purposes_module
from services.platform.purposes import PURPOSES_FILE, codes_in_force, purposes


def test_every_purpose_says_what_it_means_and_why_it_is_lawful():
    rows = purposes()
    assert len(rows) >= 10
    for row in rows:
        assert row.code.isidentifier() and row.code == row.code.lower()
        assert row.fi and row.en and "GDPR" in row.legal_basis and row.valid_from <= date.today()


def test_a_purpose_that_ended_is_no_longer_in_force(tmp_path, monkeypatch):
    file = tmp_path / "purposes.yaml"
    file.write_text(PURPOSES_FILE.read_text(encoding="utf-8").replace(
        "  - code: supervision\n", "  - code: supervision\n", 1).replace(
        "code: erasure_check\n    fi: Poiston varmistaminen\n    en: Verifying that an erasure took effect\n"
        "    legal_basis: GDPR art. 5(2) accountability and art. 17\n    valid_from: 2013-01-01\n    valid_to: null",
        "code: erasure_check\n    fi: Poiston varmistaminen\n    en: Verifying that an erasure took effect\n"
        "    legal_basis: GDPR art. 5(2) accountability and art. 17\n    valid_from: 2013-01-01\n    valid_to: 2026-06-30"),
        encoding="utf-8")
    monkeypatch.setattr(purposes_module, "purposes", lambda: purposes.__wrapped__(file))
    assert "erasure_check" in codes_in_force(date(2026, 6, 30))
    assert "erasure_check" not in codes_in_force(date(2026, 7, 1))


def test_a_code_listed_twice_is_refused(tmp_path):
    file = tmp_path / "purposes.yaml"
    text = PURPOSES_FILE.read_text(encoding="utf-8")
    file.write_text(text.replace("code: contacting_client", "code: client_meeting"), encoding="utf-8")
    with pytest.raises(ValueError, match="listed twice"):
        purposes.__wrapped__(file)
