"""No secret at rest: a password planted in the storage URL appears in no file a study writes
(study.json, .lock, tables, checkpoints, Ray's files, the Optuna database) and in nothing it
prints; credentials in a --storage-path URI are refused, masked."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from search.core.masking import mask_password
from search.run import main

PLANTED = "Pl4nted-s3cret"


def files_holding(root: Path, text: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and text.encode() in p.read_bytes()]


@pytest.mark.e2e
def test_a_planted_password_is_in_no_file_the_study_writes_nor_in_its_output(ray_session, tmp_path, capsys):
    # SQLite ignores URI parameters it does not know: a password Optuna's storage carries, like a server's
    storage = f"sqlite:///file:{tmp_path}/db/optuna.db?password={PLANTED}&uri=true"
    (tmp_path / "db").mkdir()
    common = ["--name", "s", "--results-dir", str(tmp_path / "results"), "--storage", storage,
              "--storage-path", str(tmp_path / "shared"), "--epochs", "1", "--budget-mmacs", "0.3"]
    assert main(common + ["--trials", "1"]) == 0
    assert main(common + ["--trials", "2", "--resume"]) == 0  # resumed with the URL given again
    assert main(common[:4] + ["--trials", "2", "--resume"]) == 2  # without it: refused, masked
    out = capsys.readouterr()
    assert PLANTED not in out.out + out.err and "password=***" in out.err
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "study.json" for p in written) and any("ray" in p.parts for p in written)
    assert files_holding(tmp_path, PLANTED) == []  # the database included
    config = tmp_path / "results" / "s" / "study.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600 and mask_password(storage) in config.read_text()


@pytest.mark.parametrize("uri", [f"s3://AKIA:{PLANTED}@bucket/x", f"s3://bucket/x?secret_key={PLANTED}",
                                 f"gs://bucket/x?token={PLANTED}"])
def test_credentials_in_a_storage_path_uri_are_refused_masked(tmp_path, capsys, uri):
    code = main(["--trials", "1", "--storage-path", uri, "--results-dir", str(tmp_path / "results")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "through the environment" in err
    assert PLANTED not in err and "***" in err and not (tmp_path / "results").exists()
