"""The course masters, encrypted in the repository and opened with the teachers' secret.

What students must not read (the masters with their solutions and model answers, the hidden tests
``truth_*.py`` and the teacher's tests of those ``answers_*.py``) is kept in ``course/sealed/`` as
``<file>.sealed``: AES-256-GCM (the ``cryptography`` package) under a key derived from the secret by
scrypt, with the file's name as associated data, so a sealed file cannot be passed off as another.
``course/sealed/kdf.json`` holds the scrypt parameters, the salt and a sealed check word, which tells a
wrong secret from a damaged file.

The secret is read from the file named by ``REIDLIB_COURSE_SECRET_FILE``, else from
``../shared/course-secret.txt`` beside the checkout. Teachers ``unseal`` into ``_build/teacher/masters``
(never tracked), edit there, and ``seal`` again: only the files they changed are rewritten.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEALED = ROOT / "course" / "sealed"
OPENED = ROOT / "_build" / "teacher" / "masters"
MAGIC = b"reidlib-sealed-1\n"
CHECK = b"reidlib course masters"
SCRYPT = {"n": 2**15, "r": 8, "p": 1}
ENV = "REIDLIB_COURSE_SECRET_FILE"
LEDGER = ".unsealed.json"  # in OPENED: each file's digest when it was last unsealed or sealed


class SecretMissing(RuntimeError):
    """No secret file: the masters cannot be opened here."""


class WrongSecret(RuntimeError):
    """A secret that does not open the masters, or a damaged sealed file."""


def secret_file(root: Path = ROOT) -> Path:
    env = os.environ.get(ENV, "").strip()
    return Path(env).expanduser() if env else root.parent / "shared" / "course-secret.txt"


def read_secret(root: Path = ROOT) -> bytes:
    path = secret_file(root)
    if not path.is_file():
        raise SecretMissing(
            f"the course secret is not here: expected the file {path} (set {ENV} to its path). Teachers get "
            "it from the book's maintainers; without it the masters, hidden tests and solutions stay sealed"
        )
    secret = path.read_bytes().strip()
    if len(secret) < 16:
        raise WrongSecret(f"{path} holds {len(secret)} bytes; a course secret has at least 16")
    return secret


def have_secret(root: Path = ROOT) -> bool:
    return secret_file(root).is_file()


@functools.lru_cache(maxsize=4)
def _key(secret: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(secret)


def _encrypt(key: bytes, name: str, data: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = secrets.token_bytes(12)
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, data, name.encode())


def _decrypt(key: bytes, name: str, blob: bytes) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not blob.startswith(MAGIC):
        raise WrongSecret(f"{name}: not a sealed course file")
    body = blob[len(MAGIC) :]
    try:
        return AESGCM(key).decrypt(body[:12], body[12:], name.encode())
    except InvalidTag:
        raise WrongSecret(f"{name}: damaged, or sealed under another secret") from None


class Vault:
    """The sealed folder opened with one secret."""

    def __init__(self, sealed: Path = SEALED, secret: bytes | None = None, root: Path = ROOT):
        self.dir = sealed
        self.secret = read_secret(root) if secret is None else secret
        kdf = sealed / "kdf.json"
        if not kdf.exists():
            raise FileNotFoundError(f"{kdf} is missing: `python tools/course.py seal --new` makes a new vault")
        params = json.loads(kdf.read_text())
        self.key = _key(self.secret, bytes.fromhex(params["salt"]), params["n"], params["r"], params["p"])
        try:
            _decrypt(self.key, "check", bytes.fromhex(params["check"]))
        except WrongSecret:
            raise WrongSecret(
                f"the course secret does not open {sealed} (its check word stays sealed): is {secret_file(root)} "
                "the current secret? Ask the book's maintainers for it"
            ) from None

    @classmethod
    def create(cls, sealed: Path, secret: bytes) -> Vault:
        """A new, empty vault (new salt) for ``secret``."""
        sealed.mkdir(parents=True, exist_ok=True)
        salt = secrets.token_bytes(16)
        key = _key(secret, salt, **SCRYPT)
        params = {"format": MAGIC.decode().strip(), "kdf": "scrypt", **SCRYPT, "salt": salt.hex()}
        params["check"] = _encrypt(key, "check", CHECK).hex()
        (sealed / "kdf.json").write_text(json.dumps(params, indent=1) + "\n")
        return cls(sealed, secret)

    def names(self) -> list[str]:
        return sorted(p.name[: -len(".sealed")] for p in self.dir.glob("*.sealed"))

    def read(self, name: str) -> bytes:
        try:
            blob = (self.dir / f"{name}.sealed").read_bytes()
        except FileNotFoundError:
            raise FileNotFoundError(f"no sealed file {name} in {self.dir}") from None
        try:
            return _decrypt(self.key, name, blob)
        except WrongSecret as e:
            raise WrongSecret(f"{e} ({self.dir / (name + '.sealed')})") from None

    def write(self, name: str, data: bytes) -> bool:
        """Seal ``data`` as ``name``; False (nothing written) when the sealed file already holds it."""
        path = self.dir / f"{name}.sealed"
        if path.exists() and self.read(name) == data:
            return False
        _write(path, _encrypt(self.key, name, data))
        return True


def _write(path: Path, data: bytes) -> None:
    """Write atomically (a temporary file, then a rename): a reader never sees half a file, even while
    two processes (test workers) unseal at once."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _ledger(opened: Path) -> dict:
    path = opened / LEDGER
    return json.loads(path.read_text()) if path.exists() else {}


def unseal(vault: Vault, opened: Path = OPENED, force: bool = False) -> list[str]:
    """Write every sealed file in clear into ``opened``; return the names written.

    A file the teacher edited there since it was unsealed is kept as it is (they are working on it);
    if its sealed version has changed too since then (a colleague sealed another edit), that is a
    conflict: an error names it, unless ``force``, which discards the local edit."""
    opened.mkdir(parents=True, exist_ok=True)
    ledger, written, edited = _ledger(opened), [], []
    for name in vault.names():
        data, path = vault.read(name), opened / name
        if path.exists() and not force:
            current = path.read_bytes()
            if current == data:
                ledger[name] = _digest(data)
                continue
            if _digest(current) != ledger.get(name):  # edited here
                if ledger.get(name) != _digest(data):  # ... and changed in the vault since
                    edited.append(name)
                continue
        _write(path, data)
        ledger[name] = _digest(data)
        written.append(name)
    _write(opened / LEDGER, (json.dumps(ledger, indent=1, sort_keys=True) + "\n").encode())
    if edited:
        raise RuntimeError(
            f"{', '.join(edited)} in {opened} changed since unsealed, and so did the sealed versions: keep a copy of "
            "your edits, take the sealed versions (`python tools/course.py unseal --force`), then redo the edits"
        )
    return written


def seal(vault: Vault, opened: Path = OPENED) -> list[str]:
    """Seal every file of ``opened`` that differs from its sealed version; return the names sealed."""
    if not opened.is_dir():
        raise FileNotFoundError(f"nothing to seal: {opened} does not exist (unseal first)")
    ledger, sealed = _ledger(opened), []
    for path in sorted(p for p in opened.iterdir() if p.is_file() and p.suffix in (".md", ".py")):
        data = path.read_bytes()
        if vault.write(path.name, data):
            sealed.append(path.name)
        ledger[path.name] = _digest(data)
    _write(opened / LEDGER, (json.dumps(ledger, indent=1, sort_keys=True) + "\n").encode())
    return sealed


def secret_problem(root: Path = ROOT) -> str | None:
    """Why the sealed masters cannot be opened here (None when they can): what tests say when they skip
    (or, under CI=true, fail)."""
    try:
        Vault(root=root)
    except (SecretMissing, WrongSecret, FileNotFoundError) as e:
        return f"COURSE SECRET MISSING OR WRONG, the sealed course tests do not run: {e}"
    return None
