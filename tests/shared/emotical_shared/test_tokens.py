"""Signed tokens: what an outsider can forge, replay or stretch, and what they get for it."""

from __future__ import annotations

import os
import stat

import pytest

from emotical_shared import tokens
from emotical_shared.tokens import SESSION, SHOPPER, SecretError, Signer, TokenError

SECRET = "s" * 40


def test_a_minted_session_token_verifies_to_its_ids():
    signer = Signer(SECRET)
    claims = signer.verify(signer.mint(SESSION, "shopper-1", "sess-1", now=1000.0), SESSION,
                           now=1001.0)
    assert (claims.kind, claims.shopper_id, claims.session_id) == (SESSION, "shopper-1", "sess-1")


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),   # signature changed
    lambda t: t.replace("v1.", "v2.", 1),                           # version changed
    lambda t: t + ".x",                                             # extra part
    lambda t: "",                                                   # nothing
    lambda t: "v1." + "A" * 2000 + ".x",                            # oversized
])
def test_tampered_or_malformed_tokens_are_refused(mangle):
    signer = Signer(SECRET)
    token = signer.mint(SESSION, "shopper-1", "sess-1")
    with pytest.raises(TokenError):
        signer.verify(mangle(token), SESSION)


def test_a_payload_rewritten_to_another_shopper_fails_the_signature():
    signer = Signer(SECRET)
    mine = signer.mint(SESSION, "attacker", "sess-a").split(".")
    victim = signer.mint(SESSION, "victim", "sess-v").split(".")
    forged = ".".join([mine[0], victim[1], mine[2]])
    with pytest.raises(TokenError, match="bad signature"):
        signer.verify(forged, SESSION)


def test_another_secret_kind_or_expiry_proves_nothing():
    token = Signer(SECRET).mint(SESSION, "u1", "s1", ttl_s=60, now=1000.0)
    with pytest.raises(TokenError, match="bad signature"):
        Signer("t" * 40).verify(token, SESSION, now=1001.0)
    with pytest.raises(TokenError, match="not a shopper token"):
        Signer(SECRET).verify(token, SHOPPER, now=1001.0)
    with pytest.raises(TokenError, match="expired"):
        Signer(SECRET).verify(token, SESSION, now=1061.0)


def test_rotation_accepts_tokens_of_the_previous_secret_and_signs_with_the_new():
    old = Signer(SECRET).mint(SHOPPER, "u1")
    rotated = Signer("n" * 40, previous=(SECRET,))
    assert rotated.verify(old, SHOPPER).shopper_id == "u1"
    with pytest.raises(TokenError):
        Signer(SECRET).verify(rotated.mint(SHOPPER, "u1"), SHOPPER)


def test_ids_that_do_not_fit_the_key_schema_cannot_be_minted():
    with pytest.raises(ValueError):
        Signer(SECRET).mint(SESSION, "u1", "bad id with spaces")
    with pytest.raises(SecretError):
        Signer("short")


def test_secret_file_is_created_once_with_mode_0600_and_refused_when_others_can_read(tmp_path):
    path = tmp_path / "var" / "secret"
    first = tokens.load_secret({}, path=path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert tokens.load_secret({}, path=path) == first, "a second start made a new secret"
    os.chmod(path, 0o644)
    with pytest.raises(SecretError, match="chmod 600"):
        tokens.load_secret({}, path=path)
    assert tokens.load_secret({"EMOTICAL_SECRET": SECRET}, path=path) == SECRET
    with pytest.raises(SecretError, match="at least"):
        tokens.load_secret({"EMOTICAL_SECRET": "short"}, path=path)
