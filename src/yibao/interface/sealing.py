"""Gateway secrets sealed at rest with SM4 (GB/T 32907), under a master key kept outside the
database.

The gateway must recompute each request's HMAC, so it needs the institution's secret itself,
not a hash of it. The secret is therefore stored encrypted: SM4-CBC with a random IV, then an
HMAC-SM3 tag over IV and ciphertext (encrypt-then-MAC), as ``sm4:<base64(iv ‖ ciphertext ‖
tag)>``. A copy of the database (a backup, a replica, an export) then carries no usable secret.

The 32-byte master key (16 for SM4, 16 for the tag) comes from ``YIBAO_GATEWAY_MASTER_KEY`` (64
hex digits, e.g. from the host's secret store) or else from ``<data dir>/gateway-master.key``,
made on first use and readable by its owner only. Every worker and every ``yibao serve keys``
command of one installation must see the same one. Secrets stored before sealing existed (plain
text) are still accepted; ``yibao serve keys seal`` seals them.

Example::

    box = SecretBox.of(Path("yibao-data"))
    stored = box.seal("s3cr3t")          # 'sm4:…'
    assert box.open(stored) == "s3cr3t"
"""

from __future__ import annotations

import base64
import hmac
import os
import secrets
from pathlib import Path

PREFIX = "sm4:"
ENV = "YIBAO_GATEWAY_MASTER_KEY"
FILE_NAME = "gateway-master.key"
_BLOCK = 16
_TAG = 32


def _sm3(data: bytes) -> bytes:
    from gmssl import sm3

    return bytes.fromhex(sm3.sm3_hash(list(data)))


def hmac_sm3(key: bytes, message: bytes) -> bytes:
    """HMAC (RFC 2104) over SM3, whose block is 64 bytes like SHA-1's: the gateway's HMAC-SM3
    signatures and the tag of a sealed secret."""
    block = 64
    if len(key) > block:
        key = _sm3(key)
    key = key.ljust(block, b"\0")
    inner = _sm3(bytes(b ^ 0x36 for b in key) + message)
    return _sm3(bytes(b ^ 0x5C for b in key) + inner)


class SealError(ValueError):
    """A stored secret that cannot be opened with this master key."""


class SecretBox:
    def __init__(self, master: bytes) -> None:
        if len(master) != 32:
            raise ValueError("the gateway master key must be 32 bytes (64 hex digits)")
        self._enc_key, self._mac_key = master[:16], master[16:]
        self._opened: dict[str, str] = {}

    @classmethod
    def of(cls, data_dir: Path | None) -> "SecretBox":
        """The installation's box: ``YIBAO_GATEWAY_MASTER_KEY``, else ``<data_dir>/gateway-master.key``
        (made on first use; ``data_dir`` defaults to ``YIBAO_DATA_DIR`` or ``./yibao-data``)."""
        env = os.environ.get(ENV, "").strip()
        if env:
            try:
                return cls(bytes.fromhex(env))
            except ValueError:
                raise SealError(f"{ENV} 应为 64 位十六进制数（32 字节）") from None
        folder = data_dir if data_dir is not None else Path(os.environ.get("YIBAO_DATA_DIR", "yibao-data"))
        return cls(bytes.fromhex(_master_file(folder / FILE_NAME)))

    def seal(self, secret: str) -> str:
        from gmssl.sm4 import SM4_ENCRYPT, CryptSM4

        iv = secrets.token_bytes(_BLOCK)
        cipher = CryptSM4()  # PKCS#7 padding
        cipher.set_key(self._enc_key, SM4_ENCRYPT)
        body = iv + cipher.crypt_cbc(iv, secret.encode("utf-8"))
        return PREFIX + base64.b64encode(body + self._tag(body)).decode("ascii")

    def open(self, stored: str) -> str:
        """The secret of a stored value; a value without the ``sm4:`` prefix is a secret stored
        before sealing and is returned as it is."""
        if not stored.startswith(PREFIX):
            return stored
        hit = self._opened.get(stored)
        if hit is not None:
            return hit
        from gmssl.sm4 import SM4_DECRYPT, CryptSM4

        try:
            raw = base64.b64decode(stored[len(PREFIX):], validate=True)
        except ValueError:
            raise SealError("网关密钥的密文格式错误") from None
        body, tag = raw[:-_TAG], raw[-_TAG:]
        if len(body) < 2 * _BLOCK or len(body) % _BLOCK or not hmac.compare_digest(tag, self._tag(body)):
            raise SealError(
                "网关密钥无法解密：主密钥与签发该密钥时的不同"
                f"（检查 {ENV} 或数据目录中的 {FILE_NAME}，或为该机构重新签发密钥）"
            )
        cipher = CryptSM4()
        cipher.set_key(self._enc_key, SM4_DECRYPT)
        secret = cipher.crypt_cbc(body[:_BLOCK], body[_BLOCK:]).decode("utf-8")
        if len(self._opened) > 10_000:
            self._opened.clear()
        self._opened[stored] = secret
        return secret

    def _tag(self, body: bytes) -> bytes:
        return hmac_sm3(self._mac_key, body)


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def _master_file(path: Path) -> str:
    if not path.exists():
        # Written aside and linked into place, so that a worker starting at the same moment
        # finds either no file or the whole key, never half of one.
        path.parent.mkdir(parents=True, exist_ok=True)
        aside = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            aside.unlink()
    text = path.read_text().strip()
    if len(text) != 64:
        raise SealError(f"{path} 应包含 64 位十六进制数的网关主密钥")
    return text
