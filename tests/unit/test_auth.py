"""services/platform/auth.py: who a bearer token says is calling, and every reason to refuse it.

The local ES256 key in a temporary directory, an identity provider's JWKS served by a small aiohttp
server on a free port, the key's creation racing across processes, and `polku token`.
"""
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from services import cli
from services.platform.auth import (AREA_CLAIM, JWKS_REFETCH_COOLDOWN_S, PARTNER_CLAIM, ROLES, ROLES_CLAIM, KeysUnavailable, LocalSigningKey,
                                    Principal, Unauthenticated, issue_dev_token, verifier_from)
from services.platform.config import Settings
from tests.support import local_http_server

ISSUER, AUDIENCE = "polku-local", "polku"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(service="tests", var_dir=tmp_path, signing_key_file=tmp_path / "keys" / "jwt-es256.pem")


def claims(**changes) -> dict:
    """Claims of a valid token; a change of None leaves that claim out."""
    now = int(time.time())
    values = {"sub": "cw-7", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600,
              ROLES_CLAIM: ["case_worker"], AREA_CLAIM: "kemi"} | changes
    return {name: value for name, value in values.items() if value is not None}


def local_private_key(settings: Settings) -> ec.EllipticCurvePrivateKey:
    return LocalSigningKey(settings.resolved_signing_key_file).private_key


# --- the local key -------------------------------------------------------------------------

def test_a_dev_token_verifies_to_its_user_roles_and_area(settings):
    token = issue_dev_token(settings, "cw-kemi-1", ["case_worker", "manager"], "kemi")
    assert verifier_from(settings).verify(token) == Principal(
        user_id="cw-kemi-1", roles=frozenset({"case_worker", "manager"}), area="kemi")
    assert settings.resolved_signing_key_file.exists(), "the key was created on first use"


def test_roles_polku_does_not_know_are_dropped_not_granted(settings):
    token = jwt.encode(claims(roles=["manager", "root", "admin"]), local_private_key(settings), algorithm="ES256")
    assert verifier_from(settings).verify(token).roles == frozenset({"manager"})


def test_an_unknown_role_is_not_issued(settings):
    with pytest.raises(ValueError, match="unknown role.*wizard"):
        issue_dev_token(settings, "u-1", ["wizard"], "kemi")


def _token_signed_by_another_es256_key(_settings) -> str:
    return jwt.encode(claims(), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256")


def _token_with_a_foreign_algorithm(_settings) -> str:
    """RS256 against the local EC key: must be refused, not crash the verifier."""
    return jwt.encode(claims(), rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm="RS256")


def _local(**changes):
    return lambda settings: jwt.encode(claims(**changes), local_private_key(settings), algorithm="ES256")


REFUSED = {
    "malformed": (lambda _settings: "not-a-jwt", "malformed"),
    "three garbage parts": (lambda _settings: "abc.def.ghi", "malformed"),
    "unsigned (alg none)": (lambda _settings: jwt.encode(claims(), None, algorithm="none"),
                            "algorithm is not the key's"),
    "expired past the leeway": (_local(exp=int(time.time()) - 90), "expired"),
    "not valid before, past the leeway": (_local(nbf=int(time.time()) + 3600), "not yet valid"),
    "signed by another key": (_token_signed_by_another_es256_key, "signature does not verify"),
    "RS256 against the local EC key": (_token_with_a_foreign_algorithm, "algorithm is not the key's"),
    "wrong audience": (_local(aud="someone-else"), "audience"),
    "wrong issuer": (_local(iss="https://evil.example"), "issuer"),
    "no subject": (_local(sub=None), "sub"),
    "no expiry": (_local(exp=None), "exp"),
    "missing employment_area": (_local(employment_area=None), "employment_area"),
    "empty employment_area": (_local(employment_area=""), "employment_area"),
    "roles not a list": (_local(roles="manager"), "roles claim must be a list"),
    "roles missing": (_local(roles=None), "roles claim must be a list"),
    "roles of numbers": (_local(roles=[1, 2]), "roles claim must be a list"),
}


@pytest.mark.parametrize("make, reason", REFUSED.values(), ids=REFUSED.keys())
def test_a_bad_token_is_refused_with_the_reason(settings, make, reason):
    token = make(settings)
    with pytest.raises(Unauthenticated, match=reason):
        verifier_from(settings).verify(token)


def test_clocks_a_little_apart_are_allowed_for(settings):
    """A token that expired 20 s ago, or is valid from 20 s on, verifies: clocks differ by that much."""
    for changes in ({"exp": int(time.time()) - 20}, {"nbf": int(time.time()) + 20, "iat": int(time.time()) + 20}):
        token = jwt.encode(claims(**changes), local_private_key(settings), algorithm="ES256")
        assert verifier_from(settings).verify(token).user_id == "cw-7"


def test_the_partner_system_comes_from_the_token(settings):
    token = jwt.encode(claims(**{ROLES_CLAIM: ["integration"], PARTNER_CLAIM: "te_office"}),
                       local_private_key(settings), algorithm="ES256")
    assert verifier_from(settings).verify(token).partner == "te_office"
    assert verifier_from(settings).verify(issue_dev_token(settings, "x", ["integration"], "kemi",
                                                          partner="city")).partner == "city"
    for bad in (["te_office"], ""):
        token = jwt.encode(claims(**{PARTNER_CLAIM: bad}), local_private_key(settings), algorithm="ES256")
        with pytest.raises(Unauthenticated, match=PARTNER_CLAIM):
            verifier_from(settings).verify(token)


# --- an identity provider's JWKS -----------------------------------------------------------

def _jwk(private_key, kid: str) -> dict:
    if isinstance(private_key, rsa.RSAPrivateKey):
        algorithm, name = jwt.algorithms.RSAAlgorithm, "RS256"
    else:
        algorithm, name = jwt.algorithms.ECAlgorithm, "ES256"
    return algorithm.to_jwk(private_key.public_key(), as_dict=True) | {"kid": kid, "use": "sig", "alg": name}


@pytest.fixture
async def identity_provider():
    """An RS256 and an ES256 key, their JWKS at http://127.0.0.1:<free port>/jwks.json."""
    keys = {"rsa-1": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ec-1": ec.generate_private_key(ec.SECP256R1())}
    fetches = []

    async def jwks(_request):
        fetches.append(time.time())
        return web.json_response({"keys": [_jwk(key, kid) for kid, key in keys.items()]})

    async with local_http_server("GET", "/jwks.json", jwks) as url:
        settings = Settings(service="tests", jwks_url=f"{url}/jwks.json",
                            jwt_issuer="https://idp.example/realms/polku", jwt_audience="polku-api")
        yield settings, keys, fetches


def _idp_token(settings: Settings, key, kid: str, algorithm: str, **changes) -> str:
    return jwt.encode(claims(iss=settings.jwt_issuer, aud=settings.jwt_audience, **changes), key,
                      algorithm=algorithm, headers={"kid": kid})


async def test_an_rs256_token_of_the_identity_provider_verifies_through_its_jwks(identity_provider):
    settings, keys, fetches = identity_provider
    verifier = verifier_from(settings)
    token = _idp_token(settings, keys["rsa-1"], "rsa-1", "RS256", sub="idp-user-42", roles=["payroll_clerk"],
                       employment_area="tornio")
    # PyJWKClient fetches synchronously: in a thread, so this loop keeps serving the JWKS.
    principal = await asyncio.to_thread(verifier.verify, token)
    assert principal == Principal(user_id="idp-user-42", roles=frozenset({"payroll_clerk"}), area="tornio")
    assert fetches, "the keys came from the JWKS endpoint"


async def test_an_es256_token_of_the_identity_provider_verifies_through_its_jwks(identity_provider):
    settings, keys, _ = identity_provider
    token = _idp_token(settings, keys["ec-1"], "ec-1", "ES256", roles=["auditor"])
    principal = await asyncio.to_thread(verifier_from(settings).verify, token)
    assert principal.roles == frozenset({"auditor"}) and principal.area == "kemi"


IMPOSTORS = {
    "another RSA key, the provider's kid": (
        lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), "rsa-1", "RS256", "signature"),
    "another RSA key, an unknown kid": (
        lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), "rsa-2", "RS256",
        "signing key"),
    "another EC key, the provider's kid": (lambda: ec.generate_private_key(ec.SECP256R1()), "ec-1", "ES256",
                                           "signature"),
    "an EC key claiming the RSA kid": (lambda: ec.generate_private_key(ec.SECP256R1()), "rsa-1", "ES256",
                                       "algorithm is not the key's"),
    "no kid": (lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), None, "RS256",
               "signing key"),
}


@pytest.mark.parametrize("make_key, kid, algorithm, reason", IMPOSTORS.values(), ids=IMPOSTORS.keys())
async def test_a_token_not_signed_by_the_identity_provider_is_refused(identity_provider, make_key, kid, algorithm,
                                                                      reason):
    settings, _, _ = identity_provider
    key = make_key()
    token = jwt.encode(claims(iss=settings.jwt_issuer, aud=settings.jwt_audience), key, algorithm=algorithm,
                       headers={"kid": kid} if kid else None)
    with pytest.raises(Unauthenticated, match=reason):
        await asyncio.to_thread(verifier_from(settings).verify, token)


async def test_the_identity_provider_s_issuer_and_audience_are_checked(identity_provider):
    settings, keys, _ = identity_provider
    verifier = verifier_from(settings)
    for changes, reason in (({"iss": ISSUER}, "issuer"), ({"aud": AUDIENCE}, "audience")):
        token = jwt.encode(claims(**{"iss": settings.jwt_issuer, "aud": settings.jwt_audience} | changes),
                           keys["rsa-1"], algorithm="RS256", headers={"kid": "rsa-1"})
        with pytest.raises(Unauthenticated, match=reason):
            await asyncio.to_thread(verifier.verify, token)


async def test_the_keys_are_cached_and_fetched_again_for_a_key_id_not_yet_known(identity_provider):
    settings, keys, fetches = identity_provider
    verifier = verifier_from(settings)
    for user in ("a", "b", "c"):
        token = _idp_token(settings, keys["rsa-1"], "rsa-1", "RS256", sub=user)
        assert (await asyncio.to_thread(verifier.verify, token)).user_id == user
    assert len(fetches) == 1, "one fetch for three tokens"
    await asyncio.sleep(JWKS_REFETCH_COOLDOWN_S)  # unknown key ids fetch at most this often
    keys["ec-2"] = ec.generate_private_key(ec.SECP256R1())  # the provider rotates a key in
    token = _idp_token(settings, keys["ec-2"], "ec-2", "ES256", sub="after-rotation")
    assert (await asyncio.to_thread(verifier.verify, token)).user_id == "after-rotation"
    assert len(fetches) == 2, "the unknown key id fetched the keys again at once"


async def test_the_cached_keys_expire_and_a_withdrawn_key_stops_verifying(identity_provider):
    settings, keys, fetches = identity_provider
    verifier = verifier_from(settings.model_copy(update={"jwks_cache_s": 0.2}))
    withdrawn = keys["rsa-1"]
    await asyncio.to_thread(verifier.verify, _idp_token(settings, withdrawn, "rsa-1", "RS256"))
    del keys["rsa-1"]
    await asyncio.sleep(0.3)
    with pytest.raises(Unauthenticated, match="signing key"):
        await asyncio.to_thread(verifier.verify, _idp_token(settings, withdrawn, "rsa-1", "RS256", sub="later"))
    assert len(fetches) == 2


def test_an_unreachable_identity_provider_is_no_fault_of_the_token(tmp_path):
    settings = Settings(service="tests", jwks_url="http://127.0.0.1:9/jwks.json", var_dir=tmp_path)
    token = jwt.encode(claims(), rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm="RS256",
                       headers={"kid": "rsa-1"})
    with pytest.raises(KeysUnavailable, match="could not be fetched"):
        verifier_from(settings).verify(token)


def test_with_a_jwks_url_polku_issues_no_tokens_of_its_own(tmp_path):
    settings = Settings(service="tests", jwks_url="http://127.0.0.1:9/jwks.json", var_dir=tmp_path)
    with pytest.raises(RuntimeError, match="identity provider"):
        issue_dev_token(settings, "u-1", ["manager"], "kemi")
    assert not (tmp_path / "keys").exists()


# --- one local key, however many processes create it at once --------------------------------

RACER = """
import json, sys
from pathlib import Path
from cryptography.hazmat.primitives import serialization
from services.platform.auth import LocalSigningKey, issue_dev_token
from services.platform.config import Settings

key_file, name = Path(sys.argv[1]), sys.argv[2]
print("ready", flush=True)
sys.stdin.readline()  # released together, once every process has imported everything
token = issue_dev_token(Settings(service="tests", signing_key_file=key_file), name, ["manager"], "kemi")
public = LocalSigningKey(key_file).private_key.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
print(json.dumps({"token": token, "public": public}))
"""


@pytest.mark.parametrize("attempt", range(3))
def test_processes_creating_the_local_key_at_once_agree_on_one_key(tmp_path, attempt):
    key_file = tmp_path / "keys" / "jwt-es256.pem"
    racers = [subprocess.Popen([sys.executable, "-c", RACER, str(key_file), f"racer-{number}"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=Path(__file__).resolve().parents[2])
              for number in range(4)]
    for racer in racers:
        assert racer.stdout.readline() == "ready\n", racer.stderr.read()
    for racer in racers:
        racer.stdin.write("go\n")
        racer.stdin.flush()
    results = []
    for racer in racers:
        out, err = racer.communicate(timeout=60)
        assert racer.returncode == 0, err
        results.append(json.loads(out))

    assert len({result["public"] for result in results}) == 1, "every process ended up with the same key"
    verifier = verifier_from(Settings(service="tests", signing_key_file=key_file))
    for signer in results:
        assert verifier.verify(signer["token"]).roles == frozenset({"manager"})
        for other in results:  # each process's token verifies with the key each other process holds
            jwt.decode(signer["token"], serialization.load_pem_public_key(other["public"].encode()),
                       algorithms=["ES256"], audience=AUDIENCE, issuer=ISSUER)
    assert [path.name for path in key_file.parent.iterdir()] == ["jwt-es256.pem"], "no drafts left behind"
    assert key_file.stat().st_mode & 0o077 == 0, "the private key is readable by its owner only"


# --- polku token -----------------------------------------------------------------------------

@pytest.fixture
def cli_env(monkeypatch, tmp_path) -> Settings:
    for variable in ("POLKU_JWKS_URL", "POLKU_JWT_ISSUER", "POLKU_JWT_AUDIENCE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("POLKU_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("POLKU_SIGNING_KEY_FILE", str(tmp_path / "cli-key.pem"))
    return Settings(service="tests", signing_key_file=tmp_path / "cli-key.pem")


def test_polku_token_prints_a_token_with_the_role_and_area(cli_env, capsys):
    assert cli.main(["token", "case_worker", "--area", "tornio"]) == 0
    token = capsys.readouterr().out.strip()
    assert verifier_from(cli_env).verify(token) == Principal(
        user_id="dev-case_worker", roles=frozenset({"case_worker"}), area="tornio")


def test_polku_token_takes_several_roles_and_a_user(cli_env, capsys):
    assert cli.main(["token", "manager", "auditor", "--user", "m-1"]) == 0
    principal = verifier_from(cli_env).verify(capsys.readouterr().out.strip())
    assert principal == Principal(user_id="m-1", roles=frozenset({"manager", "auditor"}), area="kemi")


def test_polku_token_refuses_an_unknown_role(cli_env, capsys):
    assert cli.main(["token", "wizard", "--area", "kemi"]) == 2
    output = capsys.readouterr()
    assert output.out == ""
    assert "unknown role" in output.err and "wizard" in output.err
    assert all(role in output.err for role in ROLES), "the message lists the roles there are"


def test_polku_token_refuses_when_tokens_come_from_an_identity_provider(cli_env, capsys, monkeypatch):
    monkeypatch.setenv("POLKU_JWKS_URL", "http://127.0.0.1:9/jwks.json")
    assert cli.main(["token", "manager"]) == 2
    assert "identity provider" in capsys.readouterr().err



# --- a token's signature is checked once ---------------------------------------------------------

@pytest.fixture
def signature_checks(monkeypatch) -> list[str]:
    checked: list[str] = []
    decode = jwt.decode

    def counting(token, *args, **kwargs):
        checked.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    return checked


def test_a_token_sent_again_is_not_verified_again(settings, signature_checks):
    verifier = verifier_from(settings)
    token = jwt.encode(claims(), local_private_key(settings), algorithm="ES256")
    principals = {verifier.verify(token) for _ in range(5)}
    assert len(principals) == 1 and signature_checks == [token]


def test_a_verified_token_is_refused_once_it_expires(settings):
    verifier = verifier_from(settings.model_copy(update={"jwt_leeway_s": 0}))
    token = jwt.encode(claims(exp=int(time.time()) + 1), local_private_key(settings), algorithm="ES256")
    verifier.verify(token)
    time.sleep(1.5)
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(token)


async def test_a_verified_token_of_a_withdrawn_key_is_refused(identity_provider):
    settings, keys, _ = identity_provider
    verifier = verifier_from(settings.model_copy(update={"jwks_cache_s": 0.2}))
    token = _idp_token(settings, keys["rsa-1"], "rsa-1", "RS256")
    await asyncio.to_thread(verifier.verify, token)
    del keys["rsa-1"]
    await asyncio.sleep(0.3)
    with pytest.raises(Unauthenticated, match="signing key"):
        await asyncio.to_thread(verifier.verify, token)
