"""``kiosk technician``: set-pin (typed twice, or from stdin), list, audit, remove."""

from __future__ import annotations

import getpass
import io
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.operations.technician import TechnicianAccess

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture()
def config(tmp_path: Path) -> Path:
    path = tmp_path / "kiosk.ini"
    path.write_text(f"[storage]\ndata_dir = {tmp_path / 'data'}\n", encoding="utf-8")
    return path


def database(config: Path) -> Path:
    return config.parent / "data" / "kiosk.db"


def test_set_pin_asks_twice_and_refuses_two_different_pins(config: Path, monkeypatch, capsys):
    typed = iter(["246810", "246810", "246810", "246811"])
    monkeypatch.setattr(getpass, "getpass", lambda _prompt="": next(typed))
    assert main(["--config", str(config), "technician", "set-pin", "wang.li"]) == 0
    assert "PIN set for wang.li" in capsys.readouterr().out
    assert TechnicianAccess(database(config)).enter("246810").who == "wang.li"
    assert main(["--config", str(config), "technician", "set-pin", "zhao"]) == 2
    assert "differ" in capsys.readouterr().err
    assert [who for who, _ in TechnicianAccess(database(config)).technicians()] == ["wang.li"]


def test_set_pin_from_stdin_refuses_a_trivial_pin(config: Path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("777777\n"))
    assert main(["--config", str(config), "technician", "set-pin", "wang.li",
                 "--pin-stdin"]) == 2
    error = capsys.readouterr().err
    assert "too easy" in error and "777777" not in error
    monkeypatch.setattr(sys, "stdin", io.StringIO("bad name\n"))
    assert main(["--config", str(config), "technician", "set-pin", "a b", "--pin-stdin"]) == 2


def test_list_audit_and_remove(config: Path, monkeypatch, capsys):
    assert main(["--config", str(config), "technician", "list"]) == 0
    assert "set-pin" in capsys.readouterr().out  # says how to set one
    monkeypatch.setattr(sys, "stdin", io.StringIO("246810\n"))
    main(["--config", str(config), "technician", "set-pin", "wang.li", "--pin-stdin"])
    TechnicianAccess(database(config)).enter("975310")
    capsys.readouterr()
    assert main(["--config", str(config), "technician", "list"]) == 0
    assert capsys.readouterr().out.startswith("wang.li  PIN set ")
    assert main(["--config", str(config), "technician", "audit", "--limit", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and "pin_wrong" in lines[0] and "975310" not in lines[0]
    assert main(["--config", str(config), "technician", "remove", "wang.li"]) == 0
    assert main(["--config", str(config), "technician", "remove", "wang.li"]) == 1
    assert "no technician wang.li" in capsys.readouterr().err
    assert main(["--config", str(config), "technician", "audit"]) == 0
    assert "pin_removed" in capsys.readouterr().out


def test_demo_pin_is_set_only_where_no_technician_has_one(config: Path):
    """What `make demo` runs, through the installed console script."""
    command = [str(REPO / ".venv" / "bin" / "kiosk"), "--config", str(config), "technician",
               "set-pin", "demo", "--pin-stdin", "--if-none"]
    first = subprocess.run(command, input="246810\n", text=True, capture_output=True,
                           timeout=60, check=False)
    assert first.returncode == 0, first.stderr
    assert TechnicianAccess(database(config)).enter("246810").who == "demo"
    TechnicianAccess(database(config)).set_pin("demo", "975310")  # the hall changed it
    again = subprocess.run(command, input="246810\n", text=True, capture_output=True,
                           timeout=60, check=False)
    assert again.returncode == 0 and "nothing changed" in again.stdout
    assert TechnicianAccess(database(config)).enter("975310").who == "demo"
