"""GitHub App authentication: the app's RSA key, JWT checks, installation access tokens.

GitHub's rules, checked against the fake's clock:

* app endpoints take ``Authorization: Bearer <JWT>`` signed RS256 with the app's private key,
  ``iss`` the app id, ``iat`` not in the future (60 s of clock drift allowed), ``exp`` in the future
  and at most 10 minutes after ``iat``;
* everything else takes ``Authorization: token <installation token>`` (or ``bearer <token>``) of an
  unexpired token; tokens live one hour.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import jwt

from .state import Installation, Repository, World

DRIFT = 60
MAX_JWT_LIFETIME = 600
TOKEN_LIFETIME = timedelta(hours=1)


@functools.cache
def private_key_pem() -> str:
    """One RSA key per process, generated on first use (it takes a moment)."""
    return new_private_key_pem()


def new_private_key_pem() -> str:
    """A new RSA private key (PEM), as GitHub makes for an App."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


@functools.cache
def public_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(private_key_pem().encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


class AuthError(Exception):
    """Answered with 401 and GitHub's message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def make_jwt(app_id: int, now: datetime, *, lifetime: int = 540, backdate: int = 60) -> str:
    """A JWT as a well-behaved app makes it (for tests that talk to app endpoints directly)."""
    issued = int(now.timestamp()) - backdate
    payload = {"iat": issued, "exp": issued + backdate + lifetime, "iss": str(app_id)}
    return jwt.encode(payload, private_key_pem(), algorithm="RS256")


def verify_jwt(token: str, app_id: int, now: datetime) -> dict[str, Any]:
    """The claims of a valid app JWT, else :class:`AuthError` with GitHub's wording."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            public_key_pem(),
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.PyJWTError as exc:
        raise AuthError("A JSON web token could not be decoded") from exc
    stamp = now.timestamp()
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int | float) or iat > stamp + DRIFT:
        raise AuthError(
            "'Issued at' claim ('iat') must be an Integer representing the time that the "
            "assertion was issued."
        )
    if not isinstance(exp, int | float) or exp <= stamp:
        raise AuthError(
            "'Expiration time' claim ('exp') must be a numeric value representing the future "
            "time at which the assertion expires."
        )
    if exp - iat > MAX_JWT_LIFETIME:
        raise AuthError("'Expiration time' claim ('exp') is too far in the future.")
    if str(claims.get("iss")) != str(app_id):
        raise (
            AuthError("Integration not found")
            if claims.get("iss")
            else AuthError("'Issuer' claim ('iss') must be an Integer")
        )
    return claims


@dataclass
class AccessToken:
    token: str
    installation: Installation
    expires_at: datetime
    permissions: dict[str, str]
    repositories: list[Repository] | None = None  # None: all the installation covers

    def covers(self, repo: Repository) -> bool:
        if not self.installation.covers(repo):
            return False
        return self.repositories is None or repo in self.repositories


@dataclass
class TokenStore:
    world: World
    tokens: dict[str, AccessToken] = field(default_factory=dict)

    def issue(
        self,
        installation: Installation,
        *,
        repositories: list[Repository] | None = None,
        permissions: dict[str, str] | None = None,
    ) -> AccessToken:
        number = len(self.tokens) + 1
        token = AccessToken(
            token=f"ghs_{installation.id:08d}{number:028d}",
            installation=installation,
            expires_at=self.world.now() + TOKEN_LIFETIME,
            permissions=dict(permissions or installation.permissions),
            repositories=repositories,
        )
        self.tokens[token.token] = token
        return token

    def lookup(self, token: str) -> AccessToken:
        found = self.tokens.get(token)
        if found is None or found.expires_at <= self.world.now():
            raise AuthError("Bad credentials")
        if found.installation.id not in self.world.installations:
            raise AuthError("Bad credentials")
        return found


def parse_authorization(header: str | None) -> tuple[str, str] | None:
    """``("token"|"bearer", credential)`` from an Authorization header, lower-cased scheme."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if not value.strip():
        return None
    return scheme.lower(), value.strip()
