"""Wallets: secp256k1 keys, DAG addresses as the platform derives them, ECDSA signatures with
deterministic (RFC 6979) nonces, and a store encrypted at rest (scrypt + AES-GCM).

A DAG address is "DAG" + a check digit + the last 36 characters of
base58(sha256(X.509 SubjectPublicKeyInfo prefix + uncompressed public key)); the check
digit is the sum of the decimal digits in those 36 characters, mod 9.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
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


class WalletError(ScenarioError):
    """Bad wallet input or a store that cannot be opened (exit code 2)."""


def base58(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def dag_address(public_hex: str) -> str:
    digest = hashlib.sha256(SPKI_PREFIX + bytes.fromhex(public_hex)).digest()
    tail = base58(digest)[-36:]
    check = sum(int(c) for c in tail if c.isdigit()) % 9
    return f"DAG{check}{tail}"


def canonical(message: Any) -> bytes:
    """The bytes that are signed: sorted-key, compact JSON."""
    return json.dumps(message, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Wallet:
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def from_secret(cls, secret: int) -> Wallet:
        if not 0 < secret < ORDER:
            raise WalletError("private key out of range for secp256k1")
        return cls(ec.derive_private_key(secret, CURVE))

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
        return cls(ec.generate_private_key(CURVE))

    @property
    def public_hex(self) -> str:
        raw = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return raw.hex()

    @property
    def address(self) -> str:
        return dag_address(self.public_hex)

    def secret_bytes(self) -> bytes:
        return self.key.private_numbers().private_value.to_bytes(32, "big")

    def sign(self, message: Any) -> dict[str, str]:
        """A proof: the signer's public key and a DER ECDSA signature (hex) over canonical JSON."""
        return {"id": self.public_hex, "signature": self.key.sign(canonical(message), SIGNING).hex()}


def verify(proof: dict[str, str], message: Any) -> str | None:
    """The signer's address when `proof` signs `message`, else None."""
    try:
        pub = ec.EllipticCurvePublicKey.from_encoded_point(CURVE, bytes.fromhex(proof["id"]))
        pub.verify(bytes.fromhex(proof["signature"]), canonical(message), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return None
    return dag_address(proof["id"])


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
        out = []
        for e in self.entries:
            try:
                secret = AESGCM(self.key).decrypt(
                    base64.b64decode(e["nonce"]), base64.b64decode(e["encryptedKey"]), e["address"].encode()
                )
            except InvalidTag:
                raise WalletError(f"{self.path}: wallet {e['id']} fails authentication (tampered?)") from None
            out.append(Wallet.from_secret(int.from_bytes(secret, "big")))
        return out

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
