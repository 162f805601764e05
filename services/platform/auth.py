"""Who is calling: bearer JWTs with a user id, roles and an employment area.

Production verifies tokens against the identity provider's JWKS (RS256 or ES256, issuer and
audience checked). The embedded default signs and verifies with a local ES256 key created on
first run under var/keys/; `polku token` prints a development token for any role and area.
"""
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal, get_args

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from services.platform.config import Settings
from services.platform.key_files import create_once

Role = Literal["case_worker", "employer_coordinator", "payroll_clerk", "manager", "integration", "auditor"]
ROLES: tuple[Role, ...] = get_args(Role)
ALGORITHMS = ["RS256", "ES256"]
# Claims a Polku token carries besides the registered ones (sub, iss, aud, exp).
ROLES_CLAIM, AREA_CLAIM = "roles", "employment_area"
# The partner system an integration token acts for (e.g. te_office): a partner asks only as itself.
PARTNER_CLAIM = "partner_system"
JWKS_REFETCH_COOLDOWN_S = 2.0
VERIFIED_TOKENS_KEPT = 10_000  # tokens whose signature was checked, kept until they expire (or the key changes)


@dataclass(frozen=True)
class Principal:
    user_id: str
    roles: frozenset[str]
    area: str
    partner: str | None = None


class Unauthenticated(Exception):
    """No valid token (HTTP 401); the message says what is wrong with it."""


class KeysUnavailable(Exception):
    """The identity provider's keys could not be fetched (HTTP 503): no fault of the token."""


class TokenVerifier:
    def __init__(self, key_source, issuer: str, audience: str, fetches_keys: bool = False, leeway_s: float = 30.0):
        """`fetches_keys`: `key_source` may fetch over the network (JWKS), so callers verify in a thread.
        `leeway_s`: clocks of the identity provider and of this host may differ by this much."""
        self.key_source, self.issuer, self.audience = key_source, issuer, audience
        self.fetches_keys, self.leeway_s = fetches_keys, leeway_s
        # A caller sends the same token with every request until it expires; its signature is checked
        # once. The entry counts only with the key it was verified with: a withdrawn or rotated key
        # (key_source answers with another key, or refuses) verifies the token afresh.
        self._verified: dict[str, tuple[object, Principal, float]] = {}

    def verify(self, token: str) -> Principal:
        try:
            key = self.key_source(token)
            if (known := self._verified.get(token)) is not None:
                verified_with, principal, expires_at = known
                if verified_with is key and time.time() < expires_at + self.leeway_s:
                    return principal
            algorithms = _algorithms_for(key)
            claims = jwt.decode(token, key, algorithms=algorithms, issuer=self.issuer, audience=self.audience,
                                leeway=self.leeway_s, options={"require": ["exp", "iss", "aud", "sub"]})
        except jwt.PyJWKClientConnectionError as error:
            raise KeysUnavailable(f"the identity provider's keys could not be fetched: {error}") from None
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthenticated("the token is not yet valid (nbf or iat in the future)") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated(f"the token is not for this audience (expected {self.audience})") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated(f"the token is not from the expected issuer {self.issuer}") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("the token's signature does not verify") from None
        except jwt.InvalidAlgorithmError:
            raise Unauthenticated(f"the token's algorithm is not the key's ({', '.join(algorithms)})") from None
        except jwt.MissingRequiredClaimError as error:
            raise Unauthenticated(f"the token lacks the {error.claim} claim") from None
        except (jwt.PyJWKClientError, jwt.DecodeError, jwt.InvalidTokenError) as error:
            raise Unauthenticated(f"the token is malformed: {error}") from None
        principal = _principal(claims)
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            self._verified.clear()
        self._verified[token] = (key, principal, float(claims["exp"]))
        return principal


def _algorithms_for(key) -> list[str]:
    """Only the algorithm of the key's own type: a token whose `alg` names another one (an RS256 token
    against an EC key) is refused as such, instead of failing inside PyJWT with a TypeError (HTTP 500)."""
    if isinstance(key, rsa.RSAPublicKey):
        return ["RS256"]
    if isinstance(key, ec.EllipticCurvePublicKey):
        return ["ES256"]
    return ALGORITHMS


def _principal(claims: dict) -> Principal:
    roles = claims.get(ROLES_CLAIM)
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise Unauthenticated(f"the token's {ROLES_CLAIM} claim must be a list of roles")
    area = claims.get(AREA_CLAIM)
    if not isinstance(area, str) or not area:
        raise Unauthenticated(f"the token lacks the {AREA_CLAIM} claim")
    partner = claims.get(PARTNER_CLAIM)
    if partner is not None and (not isinstance(partner, str) or not partner):
        raise Unauthenticated(f"the token's {PARTNER_CLAIM} claim must name a partner system")
    return Principal(user_id=str(claims["sub"]), roles=frozenset(roles) & set(ROLES), area=area, partner=partner)


class LocalSigningKey:
    """The embedded default's ES256 key, created once and shared by every local service process."""

    def __init__(self, path: Path):
        self.path = path
        self._private = None
        self._public = None

    @property
    def private_key(self) -> ec.EllipticCurvePrivateKey:
        if self._private is None:
            # Five services starting at once agree on one key (key_files.create_once).
            pem = create_once(self.path, lambda: ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
            self._private = serialization.load_pem_private_key(pem, password=None)
        return self._private

    def public_key(self, _token: str) -> ec.EllipticCurvePublicKey:
        if self._public is None:
            self._public = self.private_key.public_key()
        return self._public


@cache
def local_signing_key(path: Path) -> LocalSigningKey:
    """One per file and process: the key is read from disk once, not per token."""
    return LocalSigningKey(path)


def verifier_from(settings: Settings) -> TokenVerifier:
    if settings.jwks_url:
        # The key set is kept for jwks_cache_s and fetched again for a key id it does not hold (the
        # provider rotated a key in), at most once per JWKS_REFETCH_COOLDOWN_S however many unknown ids
        # arrive. No per-key cache (cache_keys): PyJWT keeps those without a time limit, so a key the
        # provider withdrew would verify tokens for as long as the process runs.
        client = jwt.PyJWKClient(settings.jwks_url, cache_keys=False, lifespan=settings.jwks_cache_s, timeout=5,
                                 cooldown_duration=JWKS_REFETCH_COOLDOWN_S)
        return TokenVerifier(lambda token: client.get_signing_key_from_jwt(token).key, settings.jwt_issuer,
                             settings.jwt_audience, fetches_keys=True, leeway_s=settings.jwt_leeway_s)
    return TokenVerifier(local_signing_key(settings.resolved_signing_key_file).public_key, settings.jwt_issuer,
                         settings.jwt_audience, leeway_s=settings.jwt_leeway_s)


def issue_dev_token(settings: Settings, user_id: str, roles: list[str], area: str, ttl_s: int = 8 * 3600,
                    partner: str | None = None) -> str:
    """A token signed with the local key, for development and tests; production tokens come from the IdP."""
    if settings.jwks_url:
        raise RuntimeError("POLKU_JWKS_URL is set: tokens come from the identity provider, not from Polku")
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown role(s) {sorted(unknown)}; roles are {', '.join(ROLES)}")
    now = int(time.time())
    claims = {"sub": user_id, "iss": settings.jwt_issuer, "aud": settings.jwt_audience, "iat": now,
              "exp": now + ttl_s, ROLES_CLAIM: roles, AREA_CLAIM: area} | ({PARTNER_CLAIM: partner} if partner else {})
    return jwt.encode(claims, local_signing_key(settings.resolved_signing_key_file).private_key, algorithm="ES256")
