"""API keys: from the environment and a keys file, refused when malformed or absent, and a
development run's local keys (made once, shared by a server's workers, kept across restarts)."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from classifier.api.app import load_keys
from classifier.api.auth import ROLES, dev_keys
from classifier.settings import Settings
from tests.conftest import ROOT

GOOD = "intake:intake-key-0123456789,admin:admin-key-0123456789"


def test_keys_from_the_environment_and_a_file_together(tmp_path):
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("# ours\nanalyst:analyst-key-0123456789\n", encoding="utf-8")
    ring = load_keys(Settings(data_dir=tmp_path, api_keys=GOOD, api_keys_file=keys_file))
    assert ring.role_of("intake-key-0123456789") == "intake"
    assert ring.role_of("analyst-key-0123456789") == "analyst"
    assert ring.role_of("analyst-key-012345678") is None


@pytest.mark.parametrize(
    ("keys", "message"),
    [("boss:boss-key-0123456789", "expected role:key"), ("intake:short", "16 characters")],
)
def test_a_malformed_key_is_refused_with_its_source(tmp_path, keys, message):
    with pytest.raises(ValueError, match=message) as raised:
        load_keys(Settings(data_dir=tmp_path, api_keys=keys))
    assert "CLASSIFIER_API_KEYS" in str(raised.value)


def test_no_keys_is_refused_unless_a_development_run(tmp_path):
    with pytest.raises(RuntimeError, match="no API keys configured"):
        load_keys(Settings(data_dir=tmp_path))
    ring = load_keys(Settings(data_dir=tmp_path, dev=True))
    written = (tmp_path / "dev-keys.txt").read_text(encoding="utf-8")
    assert {line.split(":")[0] for line in written.splitlines()[1:]} == set(ROLES)
    key = written.splitlines()[1].split(":", 1)[1]
    assert ring.role_of(key) == "intake"
    # a restart keeps them
    again = load_keys(Settings(data_dir=tmp_path, dev=True))
    assert again.role_of(key) == "intake"
    assert oct((tmp_path / "dev-keys.txt").stat().st_mode & 0o777) == "0o600"


def _keys_of(path: str) -> list[tuple[str, str]]:
    return [(k.role, k.key) for k in dev_keys(Path(path))]


def test_workers_starting_together_share_one_set_of_dev_keys(tmp_path):
    path = tmp_path / "var" / "dev-keys.txt"
    with ProcessPoolExecutor(4) as pool:
        found = list(pool.map(_keys_of, [str(path)] * 8))
    assert all(keys == found[0] for keys in found)
    assert [line for line in path.read_text().splitlines() if not line.startswith("#")] == [
        f"{role}:{key}" for role, key in found[0]
    ]
    assert list(path.parent.iterdir()) == [path]  # no draft left behind


def test_serve_without_keys_refuses_to_start(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "CLASSIFIER_DATA_DIR": str(tmp_path), "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "classifier.cli", "serve", "--port", "1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env=env,
    )
    assert result.returncode == 2
    assert "no API keys configured" in result.stderr and "Traceback" not in result.stderr
