"""The sealing of the course masters (tools/grading/sealed.py), with a secret made up for the test: what
is sealed cannot be read without the secret, opens with it, and the teacher's round (unseal, edit,
seal) rewrites only what changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.grading import sealed

pytestmark = pytest.mark.course  # the course's grading: left out of make test-fast

SECRET = b"a made-up course secret for the tests"
MASTER = b"def cmc(distmat):\n    # BEGIN SOLUTION\n    return distmat.argsort(1)  # the answer\n"


@pytest.fixture
def vault(tmp_path) -> sealed.Vault:
    v = sealed.Vault.create(tmp_path / "sealed", SECRET)
    v.write("a9_test.md", MASTER)
    v.write("truth_a9.py", b"assert cmc(d) == truth\n")
    return v


def test_a_sealed_file_holds_nothing_in_clear_and_opens_with_the_secret(vault):
    blob = (vault.dir / "a9_test.md.sealed").read_bytes()
    assert blob.startswith(sealed.MAGIC) and b"argsort" not in blob and b"SOLUTION" not in blob
    assert sealed.Vault(vault.dir, SECRET).read("a9_test.md") == MASTER
    params = json.loads((vault.dir / "kdf.json").read_text())
    assert params["kdf"] == "scrypt" and params["n"] >= 2**15 and len(bytes.fromhex(params["salt"])) == 16
    assert SECRET.hex() not in (vault.dir / "kdf.json").read_text()


def test_a_wrong_secret_or_a_damaged_or_renamed_file_is_refused(vault):
    with pytest.raises(sealed.WrongSecret, match="the course secret does not open .* check word stays sealed"):
        sealed.Vault(vault.dir, b"another secret, sixteen bytes or more")
    path = vault.dir / "a9_test.md.sealed"
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(sealed.WrongSecret, match=r"a9_test.md: damaged, or sealed under another secret"):
        vault.read("a9_test.md")
    (vault.dir / "truth_a9.py.sealed").rename(vault.dir / "truth_a8.py.sealed")  # passed off as another file
    with pytest.raises(sealed.WrongSecret, match="truth_a8.py"):
        vault.read("truth_a8.py")


def test_the_teachers_round_rewrites_only_what_changed(vault, tmp_path):
    opened = tmp_path / "teacher" / "masters"
    assert sorted(sealed.unseal(vault, opened)) == ["a9_test.md", "truth_a9.py"]
    assert (opened / "a9_test.md").read_bytes() == MASTER
    before = {p.name: p.read_bytes() for p in vault.dir.glob("*.sealed")}
    assert sealed.seal(vault, opened) == []  # nothing changed: nothing rewritten
    assert {p.name: p.read_bytes() for p in vault.dir.glob("*.sealed")} == before
    (opened / "truth_a9.py").write_bytes(b"assert cmc(d) == better_truth\n")
    assert sealed.seal(vault, opened) == ["truth_a9.py"]
    after = {p.name: p.read_bytes() for p in vault.dir.glob("*.sealed")}
    assert after["a9_test.md.sealed"] == before["a9_test.md.sealed"]
    assert after["truth_a9.py.sealed"] != before["truth_a9.py.sealed"]
    assert vault.read("truth_a9.py") == b"assert cmc(d) == better_truth\n"


def test_unseal_keeps_an_edit_that_was_not_sealed(vault, tmp_path):
    opened = tmp_path / "masters"
    sealed.unseal(vault, opened)
    (opened / "a9_test.md").write_bytes(b"my unsaved edit\n")
    assert sealed.unseal(vault, opened) == []  # building or grading meanwhile keeps the edit
    assert (opened / "a9_test.md").read_bytes() == b"my unsaved edit\n"
    vault.write("truth_a9.py", b"assert cmc(d) == newer_truth\n")  # sealed by a colleague, not edited here
    assert sealed.unseal(vault, opened) == ["truth_a9.py"]
    vault.write("a9_test.md", MASTER + b"# a colleague's change\n")  # edited both here and there
    with pytest.raises(RuntimeError, match="a9_test.md .* changed since unsealed, and so did the sealed versions"):
        sealed.unseal(vault, opened)
    assert (opened / "a9_test.md").read_bytes() == b"my unsaved edit\n"
    sealed.unseal(vault, opened, force=True)
    assert (opened / "a9_test.md").read_bytes().endswith(b"# a colleague's change\n")


def test_the_secret_is_read_from_the_variable_or_beside_the_checkout(tmp_path, monkeypatch):
    monkeypatch.delenv(sealed.ENV, raising=False)
    root = tmp_path / "checkout"
    root.mkdir()
    assert sealed.secret_file(root) == tmp_path / "shared" / "course-secret.txt"
    with pytest.raises(sealed.SecretMissing, match="REIDLIB_COURSE_SECRET_FILE"):
        sealed.read_secret(root)
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "course-secret.txt").write_bytes(SECRET + b"\n")
    assert sealed.read_secret(root) == SECRET
    elsewhere = tmp_path / "mine.txt"
    elsewhere.write_bytes(b"short")
    monkeypatch.setenv(sealed.ENV, str(elsewhere))
    with pytest.raises(sealed.WrongSecret, match="at least 16"):
        sealed.read_secret(root)


def test_without_the_secret_the_course_tests_say_so(tmp_path, monkeypatch):
    monkeypatch.setenv(sealed.ENV, str(tmp_path / "nowhere.txt"))
    why = sealed.secret_problem()
    assert why.startswith("COURSE SECRET MISSING OR WRONG") and "nowhere.txt" in why


def test_the_repositorys_vault_is_sealed_files_only():
    names = {p.name for p in sealed.SEALED.iterdir()}
    assert "kdf.json" in names and all(n.endswith(".sealed") for n in names - {"kdf.json"})
    for path in sealed.SEALED.glob("*.sealed"):
        assert path.read_bytes().startswith(sealed.MAGIC)
    assert not [p for p in Path(sealed.ROOT / "course").glob("*.md")]  # no master in clear beside them
