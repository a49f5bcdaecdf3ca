"""Lab passwords at rest: sealed under secrets.key with the seat as associated data."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from onetui.errors import UserError
from onetui.store import Store
from onetui.store.secrets import PREFIX, SecretBox

SEAT1, SEAT2 = "lab 1 seat 1", "lab 1 seat 2"
PASSWORD = "Tr0ub4dor&3-xyzzy"


@pytest.fixture
def box(tmp_path: Path) -> SecretBox:
    return SecretBox(tmp_path / "secrets.key")


def test_a_sealed_password_opens_again_and_hides_the_text(box: SecretBox) -> None:
    sealed = box.seal(PASSWORD, SEAT1)
    assert sealed.startswith(PREFIX)
    assert PASSWORD not in sealed
    assert box.seal(PASSWORD, SEAT1) != sealed  # a fresh nonce each time
    assert box.open(sealed, SEAT1) == PASSWORD
    assert box.open(box.seal("", SEAT1), SEAT1) == ""


def test_a_password_moved_to_another_seat_does_not_open(box: SecretBox) -> None:
    sealed = box.seal(PASSWORD, SEAT1)
    with pytest.raises(UserError, match="lab 1 seat 2: the stored password cannot be opened"):
        box.open(sealed, SEAT2)


def test_the_key_file_is_made_0600_and_serves_the_next_process(tmp_path: Path) -> None:
    key = tmp_path / "secrets.key"
    assert not key.exists()
    sealed = SecretBox(key).seal(PASSWORD, SEAT1)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(key.read_bytes()) == 32
    assert SecretBox(key).open(sealed, SEAT1) == PASSWORD
    with pytest.raises(UserError, match="a different key"):
        SecretBox(tmp_path / "other.key").open(sealed, SEAT1)


def test_a_key_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "secrets.key"
    key.write_bytes(b"too short")
    with pytest.raises(UserError, match="expected a 32-byte key, found 9 bytes"):
        SecretBox(key).seal(PASSWORD, SEAT1)


def test_a_tampered_or_unknown_value_is_refused(box: SecretBox) -> None:
    raw = bytearray(base64.b64decode(box.seal(PASSWORD, SEAT1)[len(PREFIX):]))
    raw[20] ^= 0x01
    with pytest.raises(UserError, match="cannot be opened"):
        box.open(PREFIX + base64.b64encode(bytes(raw)).decode(), SEAT1)
    with pytest.raises(UserError, match="not in a known format"):
        box.open(PASSWORD, SEAT1)
    assert box.open("", SEAT1) == ""  # a wiped password


def _lab(store: Store, passwords: list[str]) -> int:
    net = store.networks.add("labnet", "10.1.1.10", "10.1.1.20")
    seats = [{"name": f"os1-{n}", "body": "CPU=1\nMEMORY=512\n", "username": f"student0{n}",
              "password": pw, "port": 22} for n, pw in enumerate(passwords, start=1)]
    return store.labs.create("os1", None, net, seats, "student%02i", None, {}).id


def test_the_store_file_never_holds_a_password_in_clear(store: Store, state_dir: Path) -> None:
    lab_id = _lab(store, [PASSWORD, "second-Secret-42"])
    assert store.labs.passwords(lab_id) == {1: PASSWORD, 2: "second-Secret-42"}
    assert all(s.has_password for s in store.labs.seats(lab_id))
    (sealed,) = store.db.read("SELECT password FROM seats WHERE seat = 1")[0]

    def stored() -> bytes:  # the store file and, while open, its WAL
        return b"".join(p.read_bytes() for p in state_dir.iterdir() if p.name != "secrets.key")

    for when in ("open", "closed"):
        if when == "closed":
            store.close()
        data = stored()
        assert sealed.encode() in data, when  # we are reading where the seats live
        assert PASSWORD.encode() not in data and b"second-Secret-42" not in data, when
    with Store.open(state_dir) as again:
        assert again.labs.password(lab_id, 1) == PASSWORD


def test_a_seat_row_given_another_seats_password_refuses_it(store: Store) -> None:
    lab_id = _lab(store, [PASSWORD, "second-Secret-42"])
    with store.db.transaction() as cur:  # a row copied by hand (or by a bug)
        cur.execute("UPDATE seats SET password = (SELECT password FROM seats WHERE seat = 1) "
                    "WHERE seat = 2")
    assert store.labs.password(lab_id, 1) == PASSWORD
    with pytest.raises(UserError, match=f"lab {lab_id} seat 2"):
        store.labs.password(lab_id, 2)
    store.labs.set_password(lab_id, 2, "reset-Secret-7")
    assert store.labs.password(lab_id, 2) == "reset-Secret-7"


def test_a_damaged_sealed_value_asks_for_a_reset(box: SecretBox) -> None:
    sealed = box.seal(PASSWORD, SEAT1)
    for damaged in (sealed[:-7], f"{PREFIX}!!!notb64", f"{PREFIX}QUJD"):  # cut, garbled, short
        with pytest.raises(UserError, match="the stored password is damaged; reset"):
            box.open(damaged, SEAT1)


def test_two_processes_making_the_key_at_once_share_one(tmp_path: Path) -> None:
    """The key appears whole (linked into place): whoever reads it finds 32 bytes, and two
    boxes that each had to make it end up with the same key."""
    import multiprocessing

    key = tmp_path / "secrets.key"
    with multiprocessing.get_context("fork").Pool(4) as pool:
        sealed = pool.map(_seal_with_fresh_box, [str(key)] * 8)
    assert all(SecretBox(key).open(s, SEAT1) == PASSWORD for s in sealed)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secrets.key"]  # no temporaries


def _seal_with_fresh_box(key: str) -> str:
    return SecretBox(Path(key)).seal(PASSWORD, SEAT1)
