"""Intake's vault: personal identity codes (python-stdnum, with the 2023 century signs), the personal
data model that never shows its values, per-client encryption and the master key from configuration."""
import base64
import os
import stat
from datetime import date
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from services.demo import PERSONS, demo_person, identity_code
from services.intake.domain.personal_data import PersonalData
from services.intake.domain.referral import ReferClient
from services.intake.vault import Vault, VaultUnreadable, vault_for
from services.platform import key_files
from services.platform.config import Settings
from services.platform.key_files import create_once

CLIENT_ID = "6f1c2a8e-0d4b-4f7e-9c51-3b2a1d0e9f87"
OTHER_CLIENT_ID = "0b7d3f52-9a61-4c2e-8e40-5d1f2a3b4c6d"
PERSON = {"name": "Ilmari Salatunen", "personal_identity_code": "131052-308T", "email": "ilmari.s@example.org",
          "phone": "+358 40 555 0199", "notes": "Wants to work outdoors."}


def person(**overrides) -> PersonalData:
    return PersonalData(**(PERSON | overrides))


def identity_code_error(code: str) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        person(personal_identity_code=code)
    return caught.value


# --- personal identity codes -----------------------------------------------------------------------

@pytest.mark.parametrize("sign", ["-", "Y", "X", "W", "V", "U"])
def test_every_1900s_century_sign_is_accepted(sign):
    code = f"131052{sign}308T"  # the check character covers DDMMYY and the individual number only
    assert person(personal_identity_code=code).personal_identity_code == code


@pytest.mark.parametrize("sign", ["A", "B", "C", "D", "E", "F"])
def test_every_2000s_century_sign_is_accepted(sign):
    code = identity_code(date(2004, 7, 1), sign, 123)
    assert code[6] == sign
    assert person(personal_identity_code=code).personal_identity_code == code


def test_the_1800s_sign_is_accepted():
    assert person(personal_identity_code=identity_code(date(1899, 12, 31), "+", 2)).personal_identity_code[6] == "+"


@pytest.mark.parametrize(("sign", "valid"), [
    ("-", False), ("Y", False), ("X", False), ("W", False), ("V", False), ("U", False),  # 1900 was no leap year
    ("A", True), ("B", True), ("C", True), ("D", True), ("E", True), ("F", True),  # 2000 was
])
def test_the_century_sign_decides_the_birth_year(sign, valid):
    """29 February '00 exists in 2000 only: the new signs must map to the right century, not just parse."""
    code = identity_code(date(2000, 2, 29), sign, 480)  # 290200<sign>480 and its check character
    if valid:
        assert person(personal_identity_code=code).personal_identity_code == code
    else:
        assert "birth date" in str(identity_code_error(code))


def test_a_code_is_normalised_to_upper_case_without_surrounding_space():
    assert person(personal_identity_code=" 131052y308t ").personal_identity_code == "131052Y308T"


@pytest.mark.parametrize(("code", "rule"), [
    ("131052-308U", "the check character does not match the birth date and individual number"),
    ("131052Y308A", "the check character does not match"),
    ("310252-308Y", "the birth date (DDMMYY and the century sign) is not a calendar date"),
    ("131352-308T", "is not a calendar date"),
    (identity_code(date(1952, 10, 13), "-", 1), "the individual number must be from 002 to 899"),
    (identity_code(date(1952, 10, 13), "-", 901), "individual numbers 900-999 are temporary identifiers"),
    ("131052G308T", "wrong format: must be DDMMYY, a century sign"),
    ("150677-12", "wrong format"),
    ("13105-2308T", "wrong format"),
    ("", "wrong format"),
])
def test_an_invalid_code_names_the_field_and_the_rule_but_never_the_code(code, rule):
    error = identity_code_error(code)
    [item] = error.errors(include_input=False)
    assert item["loc"] == ("personal_identity_code",)
    assert rule in item["msg"] and "henkilötunnus" in item["msg"]
    if code:
        assert code not in str(error), "the error message must not quote the code"
        assert code not in repr(error.errors(include_input=False)), "nor its structured form, as HTTP errors use it"


def test_an_invalid_code_inside_a_referral_names_the_nested_field_and_hides_the_input():
    with pytest.raises(ValidationError) as caught:
        ReferClient(programme="kemi_model", employment_area="kemi", municipality="Kemi", referred_by="te_office",
                    age=40, gender="female", labour_market_subsidy_days=0, unemployed_months=0, case_worker_id="cw-1",
                    person=PERSON | {"personal_identity_code": "131052-308U"})
    [item] = caught.value.errors(include_input=False)
    assert item["loc"] == ("person", "personal_identity_code")
    assert "131052-308U" not in str(caught.value) and "Salatunen" not in str(caught.value)


def test_the_demo_persons_have_valid_codes_matching_their_birth_dates():
    for number, (_, born, sign, _) in enumerate(PERSONS, start=1):
        code = PersonalData(**demo_person(number)).personal_identity_code
        assert code[:6] == f"{born:%d%m%y}" and code[6] == sign


# --- the other fields --------------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "value", "rule"), [
    ("email", "not-an-address", "must be an e-mail address"),
    ("email", "a@b", "must be an e-mail address"),
    ("phone", "call me", "must be a phone number"),
    ("phone", "123", "must be a phone number"),
    ("name", "", "at least 1 character"),
    ("notes", "x" * 4001, "at most 4000 characters"),
    ("email", "a\x00b@example.org", "without control characters"),
    ("name", "Ilmari\x1b[2J", "control characters"),
    ("notes", "first line\nsecond\x00", "control characters"),
])
def test_a_bad_field_names_itself_and_the_rule_without_the_value(field, value, rule):
    with pytest.raises(ValidationError) as caught:
        person(**{field: value})
    [item] = caught.value.errors(include_input=False)
    assert item["loc"] == (field,) and rule in item["msg"]
    if len(value) > 3:
        assert value not in str(caught.value)


def test_unknown_fields_are_refused():
    with pytest.raises(ValidationError) as caught:
        person(address="Valtakatu 1")
    assert caught.value.errors()[0]["loc"] == ("address",)


def test_personal_data_shows_no_value_when_printed_or_logged():
    shown = f"{person()!r} {person()!s} {person()}"
    for value in PERSON.values():
        assert value not in shown


# --- encryption ---------------------------------------------------------------------------------------

def row_of(values: dict) -> SimpleNamespace:
    return SimpleNamespace(**values)


def test_a_sealed_row_opens_to_the_same_data_and_holds_no_plaintext():
    vault = Vault(os.urandom(32))
    row = vault.seal(CLIENT_ID, person())
    assert vault.unseal(row_of(row)) == person()
    stored = row["wrapped_key"] + row["ciphertext"]
    for value in PERSON.values():
        assert value.encode() not in stored
    assert row["master_key_id"] == vault.master_key_id and len(row["master_key_id"]) == 16


def test_each_client_gets_its_own_key():
    vault = Vault(os.urandom(32))
    first, second = vault.seal(CLIENT_ID, person()), vault.seal(CLIENT_ID, person())
    assert first["wrapped_key"] != second["wrapped_key"] and first["ciphertext"] != second["ciphertext"]


def test_a_row_copied_onto_another_client_does_not_open():
    vault = Vault(os.urandom(32))
    row = vault.seal(CLIENT_ID, person()) | {"client_id": OTHER_CLIENT_ID}
    with pytest.raises(VaultUnreadable, match=f"client {OTHER_CLIENT_ID} does not decrypt"):
        vault.unseal(row_of(row))


def test_an_altered_row_does_not_open():
    vault = Vault(os.urandom(32))
    row = vault.seal(CLIENT_ID, person())
    flipped = row["ciphertext"][:-1] + bytes([row["ciphertext"][-1] ^ 1])
    with pytest.raises(VaultUnreadable, match="does not decrypt"):
        vault.unseal(row_of(row | {"ciphertext": flipped}))


def test_a_row_wrapped_by_another_master_key_is_a_clear_error():
    row = Vault(os.urandom(32)).seal(CLIENT_ID, person())
    other = Vault(os.urandom(32))
    with pytest.raises(VaultUnreadable, match="configure POLKU_MASTER_KEY") as caught:
        other.unseal(row_of(row))
    assert row["master_key_id"] in str(caught.value) and other.master_key_id in str(caught.value)
    # The same key id with a different key (forged) still fails on the authentication tag.
    with pytest.raises(VaultUnreadable, match="does not decrypt"):
        other.unseal(row_of(row | {"master_key_id": other.master_key_id}))


def test_without_the_wrapped_key_nothing_opens_the_ciphertext():
    """Crypto-shredding: the ciphertext alone, even with the master key, is useless."""
    vault = Vault(os.urandom(32))
    row = vault.seal(CLIENT_ID, person())
    fresh_key = vault.seal(CLIENT_ID, person())["wrapped_key"]  # another client key under the same master key
    with pytest.raises(VaultUnreadable):
        vault.unseal(row_of(row | {"wrapped_key": fresh_key}))


def test_a_master_key_must_be_32_bytes():
    with pytest.raises(ValueError, match="32 bytes"):
        Vault(os.urandom(16))


# --- the master key from configuration -------------------------------------------------------------------

def test_the_configured_master_key_is_used(tmp_path):
    key = os.urandom(32)
    settings = Settings(service="intake", var_dir=tmp_path, master_key=base64.b64encode(key).decode())
    assert vault_for(settings).master_key_id == Vault(key).master_key_id
    assert not (tmp_path / "keys").exists(), "no key file when the key is configured"
    assert "**********" in repr(settings) and base64.b64encode(key).decode() not in repr(settings)


@pytest.mark.parametrize("value", ["c2hvcnQ=", "not base64 at all!", base64.b64encode(os.urandom(31)).decode(),
                                   base64.b64encode(os.urandom(33)).decode()])
def test_a_malformed_master_key_is_refused_at_start_without_showing_it(value):
    with pytest.raises(ValidationError) as caught:
        Settings(service="intake", master_key=value)
    assert "master_key" in str(caught.value) and "base64 of 32 random bytes" in str(caught.value)
    assert value not in str(caught.value)


def test_the_embedded_default_creates_a_private_key_file_once(tmp_path):
    settings = Settings(service="intake", var_dir=tmp_path)
    first = vault_for(settings)
    key_file = tmp_path / "keys" / "vault-master.key"
    assert key_file.is_file() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(base64.b64decode(key_file.read_bytes())) == 32
    assert vault_for(Settings(service="intake", var_dir=tmp_path)).master_key_id == first.master_key_id
    row = first.seal(CLIENT_ID, person())
    assert vault_for(Settings(service="other", var_dir=tmp_path)).unseal(row_of(row)) == person()


def test_create_once_keeps_what_another_process_linked_first(tmp_path, monkeypatch):
    target = tmp_path / "keys" / "a.key"
    real_link = os.link

    def another_process_wins(source, destination):
        target.write_bytes(b"theirs")  # linked in between our check and our link
        real_link(source, destination)

    monkeypatch.setattr(key_files.os, "link", another_process_wins)
    assert create_once(target, lambda: b"ours") == b"theirs"
    assert [path.name for path in target.parent.iterdir()] == ["a.key"], "the draft is removed"
    monkeypatch.undo()
    assert create_once(target, lambda: pytest.fail("must not create again")) == b"theirs"
