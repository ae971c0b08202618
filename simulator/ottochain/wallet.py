"""Wallets: secp256k1 keys, DAG addresses as the platform derives them, ECDSA signatures with
deterministic (RFC 6979) nonces, and a store encrypted at rest (scrypt + AES-GCM).

Signing and verifying run on libsecp256k1 (`coincurve`), about ten times faster than
OpenSSL through `cryptography`, with the same bytes: libsecp256k1 always returns the low-S
form of a signature, OpenSSL the raw s = k^-1 (z + r d) mod n, so `sign` recovers that s
from the RFC 6979 nonce k (which libsecp256k1's own nonce function hands back through a C
callback; `rfc6979_nonce` computes the same in Python) and the r it found. `verify` accepts both
forms, as OpenSSL does; anything libsecp256k1 refuses is judged by `cryptography` instead,
so the answers are OpenSSL's. `cryptography` still derives keys and runs the encrypted store.

Every signature `sign` makes is remembered with its key and signed bytes (`SIGNED`, the last
8,192: about three generations of a 200-agent traffic run, a few MB). `verify` answers a
proof that matches one exactly from that memo, since the answer is known (a valid signature,
made here), and checks every other proof on the curve. A memo of answers, as Bitcoin Core's
signature cache is: the same answer for every input (tested), at a dictionary look-up
instead of an ECDSA verification for the simulation's own signatures.

A DAG address is "DAG" + a check digit + the last 36 characters of
base58(sha256(X.509 SubjectPublicKeyInfo prefix + uncompressed public key)); the check
digit is the sum of the decimal digits in those 36 characters, mod 9.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import coincurve
from coincurve._libsecp256k1 import ffi as _ffi
from coincurve._libsecp256k1 import lib as _lib
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ..scenario import ScenarioError

SPKI_PREFIX = bytes.fromhex("3056301006072a8648ce3d020106052b8104000a034200")
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
CURVE = ec.SECP256K1()
ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SIGNING = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
PASSPHRASE_ENV = "SIMULATOR_WALLET_PASSPHRASE"
CHECK_PLAINTEXT = b"ottochain wallet store v1"
SIGNED_MAX = 8192
SIGNED: OrderedDict[str, tuple[str, bytes]] = OrderedDict()  # signature hex -> (public key hex, bytes)


class WalletError(ScenarioError):
    """Bad wallet input or a store that cannot be opened (exit code 2)."""


def base58(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


@lru_cache(maxsize=65536)
def dag_address(public_hex: str) -> str:
    digest = hashlib.sha256(SPKI_PREFIX + bytes.fromhex(public_hex)).digest()
    tail = base58(digest)[-36:]
    check = sum(int(c) for c in tail if c.isdigit()) % 9
    return f"DAG{check}{tail}"


def canonical(message: Any) -> bytes:
    """The bytes that are signed: sorted-key, compact JSON."""
    return json.dumps(message, sort_keys=True, separators=(",", ":")).encode()


def rfc6979_nonce(secret: int, digest: bytes) -> int:
    """The deterministic nonce k of RFC 6979 section 3.2 for secp256k1 with HMAC-SHA256."""
    x = secret.to_bytes(32, "big")
    h = (int.from_bytes(digest, "big") % ORDER).to_bytes(32, "big")
    v, k = b"\x01" * 32, b"\x00" * 32
    k = hmac.digest(k, v + b"\x00" + x + h, "sha256")
    v = hmac.digest(k, v, "sha256")
    k = hmac.digest(k, v + b"\x01" + x + h, "sha256")
    v = hmac.digest(k, v, "sha256")
    while True:
        v = hmac.digest(k, v, "sha256")
        nonce = int.from_bytes(v, "big")
        if 0 < nonce < ORDER:
            return nonce
        k = hmac.digest(k, v + b"\x00", "sha256")
        v = hmac.digest(k, v, "sha256")


def _rfc6979_kept(nonce32: Any, msg32: Any, key32: Any, algo16: Any, kept: Any, attempt: int) -> int:
    """libsecp256k1's own RFC 6979 nonce function, which also copies the nonce into `kept`
    (the caller's 32 bytes): `sign` learns k without computing the HMACs again in Python."""
    ok = _lib.secp256k1_nonce_function_rfc6979(nonce32, msg32, key32, algo16, _ffi.NULL, attempt)
    _ffi.memmove(kept, nonce32, 32)
    return ok


try:  # a C callback; where cffi cannot make one, `sign` computes k in Python (`rfc6979_nonce`)
    NONCE_CAPTURE: Any = _ffi.callback(
        "int(unsigned char *, const unsigned char *, const unsigned char *, const unsigned char *,"
        " void *, unsigned int)",
        _rfc6979_kept,
    )
except Exception:  # pragma: no cover - cffi without callbacks (W^X systems)
    NONCE_CAPTURE = None


@dataclass(frozen=True)
class Wallet:
    """A secp256k1 private key. The OpenSSL key object (`key`) is made on first use: the
    public key comes from libsecp256k1, in a small fraction of the time."""

    secret: int = field(repr=False)

    @classmethod
    def from_secret(cls, secret: int) -> Wallet:
        if not 0 < secret < ORDER:
            raise WalletError("private key out of range for secp256k1")
        return cls(secret)

    @classmethod
    def from_hex(cls, text: str) -> Wallet:
        text = text.strip().lower().removeprefix("0x")
        if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
            raise WalletError("a private key is 64 hex digits")
        return cls.from_secret(int(text, 16))

    @classmethod
    def from_seed_bytes(cls, seed: bytes) -> Wallet:
        """A deterministic key from seed bytes (for seeded populations)."""
        return cls.from_secret(int.from_bytes(hashlib.sha256(seed).digest(), "big") % (ORDER - 1) + 1)

    @classmethod
    def generate(cls) -> Wallet:
        return cls(ec.generate_private_key(CURVE).private_numbers().private_value)

    @cached_property
    def key(self) -> ec.EllipticCurvePrivateKey:
        return ec.derive_private_key(self.secret, CURVE)

    @cached_property
    def public_hex(self) -> str:
        """The uncompressed point (X9.62: 04 || X || Y), as OpenSSL encodes it."""
        return self._signer.public_key.format(compressed=False).hex()

    @cached_property
    def address(self) -> str:
        return dag_address(self.public_hex)

    @property
    def _secret(self) -> int:
        return self.secret

    @cached_property
    def _signer(self) -> coincurve.PrivateKey:
        return coincurve.PrivateKey(self.secret_bytes())

    def secret_bytes(self) -> bytes:
        return self._secret.to_bytes(32, "big")

    def sign(self, message: Any) -> dict[str, str]:
        """A proof: the signer's public key and a DER ECDSA signature (hex) over canonical JSON,
        byte for byte what OpenSSL's deterministic ECDSA gives (see the module's note)."""
        data = canonical(message)
        digest = hashlib.sha256(data).digest()
        if NONCE_CAPTURE is not None:  # libsecp256k1 hands back the RFC 6979 nonce it used
            kept = _ffi.new("unsigned char[32]")
            r, low = decode_dss_signature(
                self._signer.sign(digest, hasher=None, custom_nonce=(NONCE_CAPTURE, kept))
            )
            k = int.from_bytes(_ffi.buffer(kept), "big")
        else:
            r, low = decode_dss_signature(self._signer.sign(digest, hasher=None))
            k = rfc6979_nonce(self._secret, digest)
        zrd = (int.from_bytes(digest, "big") + r * self._secret) % ORDER  # s = zrd / k
        if low * k % ORDER == zrd:
            s = low
        elif (ORDER - low) * k % ORDER == zrd:
            s = ORDER - low
        else:  # cannot happen: the same k gives the same r
            raise AssertionError("libsecp256k1 and RFC 6979 disagree on the nonce")
        signature = encode_dss_signature(r, s).hex()
        SIGNED[signature] = (self.public_hex, data)
        if len(SIGNED) > SIGNED_MAX:
            SIGNED.popitem(last=False)  # the oldest
        return {"id": self.public_hex, "signature": signature}


def verify(proof: dict[str, str], message: Any, data: bytes | None = None) -> str | None:
    """The signer's address when `proof` signs `message`, else None. `data`: the message's
    canonical bytes when the caller has them (one message, several proofs). A proof `sign`
    made for these bytes is answered from its memo (`SIGNED`)."""
    try:
        key_hex, signature_hex = proof["id"], proof["signature"]
        data = canonical(message) if data is None else data
        if SIGNED.get(signature_hex) == (key_hex, data):
            return dag_address(key_hex)
        key, signature = bytes.fromhex(key_hex), bytes.fromhex(signature_hex)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if not _fast_verify(key, signature, data) and not _openssl_verify(key, signature, data):
        return None  # what libsecp256k1 refuses, OpenSSL judges: the answers are OpenSSL's
    return dag_address(proof["id"])


def openssl_sign(wallet: Wallet, message: Any) -> dict[str, str]:
    """`Wallet.sign` through OpenSSL (`cryptography`): the reference, and the baseline the
    benchmark measures against."""
    return {"id": wallet.public_hex, "signature": wallet.key.sign(canonical(message), SIGNING).hex()}


def openssl_verify(proof: dict[str, str], message: Any, data: bytes | None = None) -> str | None:
    """`verify` through OpenSSL alone (the reference)."""
    try:
        key, signature = bytes.fromhex(proof["id"]), bytes.fromhex(proof["signature"])
        data = canonical(message) if data is None else data
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return dag_address(proof["id"]) if _openssl_verify(key, signature, data) else None


def _openssl_verify(key: bytes, signature: bytes, data: bytes) -> bool:
    try:
        pub = ec.EllipticCurvePublicKey.from_encoded_point(CURVE, key)
        pub.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _fast_verify(key: bytes, signature: bytes, data: bytes) -> bool:
    """libsecp256k1's check, after turning a high-S signature into its low-S twin (OpenSSL
    accepts both forms, libsecp256k1 only the low one). Only the point encodings OpenSSL
    reads (compressed, uncompressed): libsecp256k1 also reads the hybrid 06/07 form."""
    if key[:1] not in (b"\x02", b"\x03", b"\x04"):
        return False
    try:
        r, s = decode_dss_signature(signature)
        if s > ORDER // 2:
            signature = encode_dss_signature(r, ORDER - s)
        return _public_key(key).verify(signature, data)
    except (ValueError, TypeError):
        return False


@lru_cache(maxsize=65536)
def _public_key(key: bytes) -> coincurve.PublicKey:
    return coincurve.PublicKey(key)


# -- the encrypted store ------------------------------------------------------------------------
def _kdf(passphrase: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(passphrase.encode())


def passphrase_from_env_or_prompt(confirm: bool = False) -> str:
    value = os.environ.get(PASSPHRASE_ENV)
    if value:
        return value
    import getpass

    try:  # prompt on the terminal only: standard input may carry private keys (`wallet import`)
        with open("/dev/tty"):
            pass
    except OSError:
        raise WalletError(f"no passphrase: set {PASSPHRASE_ENV} or run in a terminal") from None
    try:
        value = getpass.getpass("wallet passphrase: ")
        if confirm and getpass.getpass("again: ") != value:
            raise WalletError("the passphrases differ")
    except (EOFError, OSError):
        raise WalletError(f"no passphrase: set {PASSPHRASE_ENV} or run in a terminal") from None
    if not value:
        raise WalletError("an empty passphrase is not allowed")
    return value


class Store:
    """Wallets encrypted at rest: one scrypt-derived key, AES-GCM per private key, the address
    as associated data. Public keys and addresses are kept in clear for listing."""

    def __init__(self, path: str | Path, passphrase: str) -> None:
        self.path = Path(path)
        self.entries: list[dict[str, str]] = []
        if self.path.exists():
            self._open(passphrase)
        else:
            self.salt = os.urandom(16)
            self.key = _kdf(passphrase, self.salt)

    def _open(self, passphrase: str) -> None:
        try:
            doc = json.loads(self.path.read_text())
            self.salt = base64.b64decode(doc["kdf"]["salt"])
            check = doc["check"]
            self.entries = list(doc["wallets"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise WalletError(f"{self.path}: not a wallet store ({exc})") from None
        self.key = _kdf(passphrase, self.salt)
        try:
            AESGCM(self.key).decrypt(
                base64.b64decode(check["nonce"]), base64.b64decode(check["data"]), b"check"
            )
        except InvalidTag:
            raise WalletError(f"{self.path}: wrong passphrase (the store could not be decrypted)") from None

    def add(self, wallet: Wallet) -> bool:
        """Add a wallet; False when its address is already in the store."""
        if any(e["address"] == wallet.address for e in self.entries):
            return False
        nonce = os.urandom(12)
        data = AESGCM(self.key).encrypt(nonce, wallet.secret_bytes(), wallet.address.encode())
        self.entries.append(
            {
                "id": f"agent_{len(self.entries) + 1:03d}",
                "address": wallet.address,
                "publicKey": wallet.public_hex,
                "nonce": base64.b64encode(nonce).decode(),
                "encryptedKey": base64.b64encode(data).decode(),
            }
        )
        return True

    def wallets(self) -> list[Wallet]:
        return [self.wallet_at(i) for i in range(len(self.entries))]

    def wallet_at(self, index: int) -> Wallet:
        """The wallet of entry `index`, decrypted."""
        e = self.entries[index]
        try:
            secret = AESGCM(self.key).decrypt(
                base64.b64decode(e["nonce"]), base64.b64decode(e["encryptedKey"]), e["address"].encode()
            )
        except InvalidTag:
            raise WalletError(f"{self.path}: wallet {e['id']} fails authentication (tampered?)") from None
        return Wallet.from_secret(int.from_bytes(secret, "big"))

    def save(self) -> None:
        nonce = os.urandom(12)
        doc = {
            "version": 1,
            "kdf": {
                "name": "scrypt",
                "n": 2**14,
                "r": 8,
                "p": 1,
                "salt": base64.b64encode(self.salt).decode(),
            },
            "cipher": "AES-256-GCM",
            "check": {
                "nonce": base64.b64encode(nonce).decode(),
                "data": base64.b64encode(AESGCM(self.key).encrypt(nonce, CHECK_PLAINTEXT, b"check")).decode(),
            },
            "wallets": self.entries,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(doc, indent=2) + "\n")
        os.replace(tmp, self.path)


def genesis_csv(entries: list[dict[str, str]], balance: str) -> str:
    """`address,balance` lines; the balance in OTTO becomes the smallest unit (8 decimals)."""
    from decimal import Decimal, InvalidOperation

    try:
        amount = Decimal(balance)
    except InvalidOperation:
        raise WalletError(f"--balance {balance!r}: expected an amount in OTTO, e.g. 10000") from None
    units = amount * 100_000_000
    if amount < 0 or units != units.to_integral_value():
        raise WalletError(f"--balance {balance!r}: must be >= 0 with at most 8 decimals")
    return "".join(f"{e['address']},{int(units)}\n" for e in entries)
