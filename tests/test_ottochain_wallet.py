"""Wallets: the platform's DAG addresses, deterministic signatures, an encrypted store."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.cli import main
from simulator.ottochain.wallet import Wallet, dag_address, verify

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "ottochain"
VECTORS = SHARED / "wallet-vectors.json"


@pytest.mark.skipif(not VECTORS.is_file(), reason=f"{VECTORS} is absent")
def test_addresses_of_the_wallet_vectors_are_reproduced_from_their_keys():
    vectors = json.loads(VECTORS.read_text())["vectors"]
    assert len(vectors) == 5
    for v in vectors:
        w = Wallet.from_hex(v["privateKey"])
        assert w.public_hex == v["publicKey"]
        assert w.address == v["address"] == dag_address(v["publicKey"])


def test_signatures_are_deterministic_and_verify():
    w = Wallet.from_seed_bytes(b"alice")
    msg = {"fiberId": "f1", "eventName": "accept", "payload": {"x": 1}}
    p1, p2 = w.sign(msg), w.sign(dict(reversed(list(msg.items()))))
    assert p1 == p2  # RFC 6979 nonces over canonical JSON
    assert verify(p1, msg) == w.address
    assert verify(p1, {**msg, "eventName": "reject"}) is None
    other = Wallet.from_seed_bytes(b"bob")
    assert verify({"id": other.public_hex, "signature": p1["signature"]}, msg) is None


def _leaks(secret: bytes) -> list[str]:
    return [
        secret.hex(),
        secret.hex().upper(),
        base64.b64encode(secret).decode(),
        base64.urlsafe_b64encode(secret).decode(),
        base64.b64encode(secret).decode().rstrip("="),
    ]


def test_store_never_writes_private_keys_and_rejects_a_wrong_passphrase(tmp_path, monkeypatch, capsys):
    store = tmp_path / "wallets.json"
    monkeypatch.setenv("SIMULATOR_WALLET_PASSPHRASE", "correct horse")
    assert main(["wallet", "generate", "--count", "3", "--store", str(store)]) == 0
    keys = [Wallet.from_seed_bytes(b"k1"), Wallet.from_seed_bytes(b"k2")]
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(k.secret_bytes().hex() + "\n" for k in keys)))
    assert main(["wallet", "import", "--store", str(store)]) == 0
    genesis = tmp_path / "genesis.csv"
    assert (
        main(["wallet", "export-genesis", "--store", str(store), "--balance", "10000", "--out", str(genesis)])
        == 0
    )
    assert main(["wallet", "list", "--store", str(store), "--json"]) == 0
    out = capsys.readouterr().out
    listed = json.loads(out[out.index("[") :])
    assert len(listed) == 5 and {k.address for k in keys} <= {r["address"] for r in listed}
    rows = genesis.read_text().splitlines()
    assert len(rows) == 5 and all(r.endswith(",1000000000000") for r in rows)

    from simulator.ottochain.wallet import Store

    secrets = [w.secret_bytes() for w in Store(store, "correct horse").wallets()]
    assert len(secrets) == 5 and {k.secret_bytes() for k in keys} <= set(secrets)
    written = "".join(p.read_text() for p in tmp_path.iterdir()) + out
    for secret in secrets:
        for form in _leaks(secret):
            assert form not in written

    monkeypatch.setenv("SIMULATOR_WALLET_PASSPHRASE", "wrong")
    before = store.read_bytes()
    assert main(["wallet", "list", "--store", str(store)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {store}: wrong passphrase (the store could not be decrypted)"
    assert main(["wallet", "generate", "--count", "1", "--store", str(store)]) == 2
    assert store.read_bytes() == before


def test_bad_private_key_on_stdin_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SIMULATOR_WALLET_PASSPHRASE", "pw")
    monkeypatch.setattr("sys.stdin", io.StringIO("abc\n"))
    assert main(["wallet", "import", "--store", str(tmp_path / "w.json")]) == 2
    assert capsys.readouterr().err.strip() == "error: <stdin> line 1: a private key is 64 hex digits"
    assert not (tmp_path / "w.json").exists()


def test_no_passphrase_and_no_terminal_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("SIMULATOR_WALLET_PASSPHRASE", raising=False)
    monkeypatch.setattr("builtins.open", _no_tty(open))
    assert main(["wallet", "generate", "--count", "1", "--store", str(tmp_path / "w.json")]) == 2
    assert "set SIMULATOR_WALLET_PASSPHRASE" in capsys.readouterr().err
    assert not (tmp_path / "w.json").exists()


def _no_tty(real_open):
    def fake(path, *args, **kwargs):
        if path == "/dev/tty":
            raise OSError("no terminal")
        return real_open(path, *args, **kwargs)

    return fake


def test_libsecp256k1_signatures_are_byte_identical_to_openssl_and_verify_as_openssl_does():
    """`sign` runs on coincurve; its DER bytes equal OpenSSL's deterministic ECDSA (raw s, not
    normalised to low-S); `verify` gives OpenSSL's answer for a signature, its low/high-S twin,
    a wrong message, a wrong key and damaged signatures."""
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

    from simulator.ottochain.wallet import ORDER, openssl_sign, openssl_verify

    forms = set()
    stranger = Wallet.from_seed_bytes(b"x").public_hex
    for i in range(60):
        w = Wallet.from_seed_bytes(f"key-{i}".encode())
        msg = {"kind": "event", "fiberId": f"f-{i}", "payload": {"n": i, "s": "x" * (i % 5)}}
        proof = w.sign(msg)
        assert proof == openssl_sign(w, msg)
        r, s = decode_dss_signature(bytes.fromhex(proof["signature"]))
        forms.add(s > ORDER // 2)
        twin = {"id": proof["id"], "signature": encode_dss_signature(r, ORDER - s).hex()}
        sig = proof["signature"]
        hybrid = ("07" if int(proof["id"][-2:], 16) % 2 else "06") + proof["id"][2:]
        cases = [
            (proof, msg),
            (twin, msg),
            (twin, {**msg, "fiberId": "other"}),
            ({"id": stranger, "signature": sig}, msg),
            ({"id": proof["id"], "signature": sig[:-2] + ("00" if sig[-2:] != "00" else "01")}, msg),
            ({"id": proof["id"], "signature": sig[:20]}, msg),
            ({"id": proof["id"][:-2], "signature": sig}, msg),
            ({"id": hybrid, "signature": sig}, msg),  # 06/07 point form: libsecp256k1 only
        ]
        answers = [verify(p, m) for p, m in cases]
        assert answers == [openssl_verify(p, m) for p, m in cases]
        assert answers == [w.address, w.address, None, None, None, None, None, None]
    assert forms == {True, False}  # both high-S and low-S signatures were exercised
    assert verify({"id": "zz", "signature": "00"}, {}) is None
    assert verify({"signature": "00"}, {}) is None


def test_public_key_from_libsecp256k1_is_openssls():
    from cryptography.hazmat.primitives import serialization

    for i in range(20):
        w = Wallet.from_seed_bytes(f"pub/{i}".encode())
        raw = w.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        assert w.public_hex == raw.hex()
    g = Wallet.generate()
    assert Wallet.from_secret(g.secret).address == g.address and "secret" not in repr(g)


# -- the memo of the signatures `sign` made ------------------------------------------------------
_messages = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None)
@given(key=st.integers(0, 20), msg=_messages, other=_messages, bit=st.integers(0, 255))
def test_the_memo_gives_the_curves_answer_for_every_proof(key, msg, other, bit):
    """With the memo full (just signed) or empty, `verify` answers as OpenSSL does: the proof,
    the same proof over another message, under another key, and with one bit of it flipped."""
    from simulator.ottochain import wallet as wallet_mod
    from simulator.ottochain.wallet import openssl_verify

    w = Wallet.from_seed_bytes(f"memo-{key}".encode())
    proof = w.sign(msg)
    sig = bytes.fromhex(proof["signature"])
    flipped = sig[: bit % len(sig)] + bytes([sig[bit % len(sig)] ^ 1]) + sig[bit % len(sig) + 1 :]
    stranger = Wallet.from_seed_bytes(f"memo-{key + 1}".encode()).public_hex
    cases = [
        (proof, msg),
        (proof, other),
        ({"id": stranger, "signature": proof["signature"]}, msg),
        ({"id": proof["id"], "signature": flipped.hex()}, msg),
    ]
    remembered = [verify(p, m) for p, m in cases]
    wallet_mod.SIGNED.clear()
    assert remembered == [verify(p, m) for p, m in cases] == [openssl_verify(p, m) for p, m in cases]
    assert remembered[0] == w.address


def test_a_proof_sign_made_is_answered_without_the_curve(monkeypatch):
    """The memo is what saves the work: a fresh proof verifies with the curve switched off; a
    proof the memo does not hold still goes to the curve."""
    from simulator.ottochain import wallet as wallet_mod

    w = Wallet.from_seed_bytes(b"memo")
    msg = {"kind": "event", "fiberId": "f", "eventName": "go", "payload": {"n": 1}}
    proof = w.sign(msg)
    assert wallet_mod.SIGNED[proof["signature"]] == (w.public_hex, wallet_mod.canonical(msg))

    def curve(*args):
        raise AssertionError("went to the curve")

    monkeypatch.setattr(wallet_mod, "_fast_verify", curve)
    monkeypatch.setattr(wallet_mod, "_openssl_verify", curve)
    assert verify(proof, msg) == w.address
    assert verify(dict(proof), dict(reversed(list(msg.items())))) == w.address  # same bytes
    wallet_mod.SIGNED.clear()
    with pytest.raises(AssertionError, match="went to the curve"):
        verify(proof, msg)


def test_the_memo_is_bounded(monkeypatch):
    from simulator.ottochain import wallet as wallet_mod

    monkeypatch.setattr(wallet_mod, "SIGNED_MAX", 3)
    wallet_mod.SIGNED.clear()
    w = Wallet.from_seed_bytes(b"bounded")
    proofs = [w.sign({"n": i}) for i in range(7)]
    assert list(wallet_mod.SIGNED) == [p["signature"] for p in proofs[-3:]]  # the last 3
    assert all(verify(p, {"n": i}) == w.address for i, p in enumerate(proofs))


def test_the_nonce_libsecp256k1_hands_back_is_rfc6979s(monkeypatch):
    """`sign` takes k from libsecp256k1's own RFC 6979 function (no Python HMACs), and gives
    the bytes the Python nonce and OpenSSL give."""
    import hashlib

    from simulator.ottochain import wallet as wallet_mod
    from simulator.ottochain.wallet import openssl_sign, rfc6979_nonce

    assert wallet_mod.NONCE_CAPTURE is not None  # cffi callbacks work here
    wallets = [Wallet.from_seed_bytes(f"nonce-{i}".encode()) for i in range(30)]
    messages = [{"n": i, "pad": "y" * (i % 7)} for i in range(30)]

    def no_python_nonce(*args):
        raise AssertionError("computed k in Python")

    monkeypatch.setattr(wallet_mod, "rfc6979_nonce", no_python_nonce)
    captured = [w.sign(m) for w, m in zip(wallets, messages, strict=True)]
    monkeypatch.setattr(wallet_mod, "rfc6979_nonce", rfc6979_nonce)
    monkeypatch.setattr(wallet_mod, "NONCE_CAPTURE", None)
    computed = [w.sign(m) for w, m in zip(wallets, messages, strict=True)]
    assert captured == computed == [openssl_sign(w, m) for w, m in zip(wallets, messages, strict=True)]
    monkeypatch.undo()
    kept = wallet_mod._ffi.new("unsigned char[32]")
    digest = hashlib.sha256(b"x").digest()
    wallets[0]._signer.sign(digest, hasher=None, custom_nonce=(wallet_mod.NONCE_CAPTURE, kept))
    assert int.from_bytes(wallet_mod._ffi.buffer(kept), "big") == rfc6979_nonce(wallets[0].secret, digest)
