"""Every miras-al command answers --help; the loop's modules pull in no napari or Qt."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from active_learning.cli import SUBCOMMANDS, main

UI_MODULES = ("napari", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "magicgui", "vispy")


@pytest.mark.parametrize("command", list(SUBCOMMANDS))
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert f"miras-al {command}" in capsys.readouterr().out


def test_the_cli_and_every_command_pull_in_no_ui_and_no_torch():
    modules = ", ".join(["active_learning.cli", *SUBCOMMANDS.values()])
    code = (f"import importlib, json, sys; [importlib.import_module(m) for m in '{modules}'"
            ".split(', ')]; from active_learning.cli import build_parser; build_parser(); "
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert not {m for m in loaded if m.split(".")[0] in UI_MODULES}
    assert "torch" not in loaded  # `miras-al --help` answers without loading the model stack


def test_errors_are_one_line_with_exit_code_2(tmp_path, capsys):
    assert main(["rollback", "--registry", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("miras-al rollback: error: ") and err.count("\n") == 1


@pytest.mark.parametrize("argv", [["next", "--k", "1"],
                                  ["release", "--sample", "s1", "--annotator", "me"],
                                  ["retrain", "--registry", "reg"], ["score"]])
def test_commands_that_read_a_store_do_not_create_one_on_a_typo(argv, tmp_path, capsys):
    typo = tmp_path / "corections.zarr"
    assert main([*argv, "--store", str(typo)]) == 2
    assert f"no napari-miras store at {typo}" in capsys.readouterr().err
    assert not typo.exists()


def test_a_file_where_a_folder_should_be_is_a_one_line_error(tmp_path, capsys):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a registry")
    assert main(["rollback", "--registry", str(a_file)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("miras-al rollback: error: Not a directory") and err.count("\n") == 1


def test_fsck_reports_an_unfinished_sample_and_repairs_it(store, monkeypatch, capsys):
    from .conftest import add_easy

    add_easy(store, [1])

    def killed(group, attrs):
        raise RuntimeError("killed before the sample was committed")

    monkeypatch.setattr(store, "_commit", killed)
    with pytest.raises(RuntimeError):
        add_easy(store, [2])
    assert main(["fsck", "--store", store.where, "--json"]) == 1  # found, left in place
    assert len(json.loads(capsys.readouterr().out)["incomplete"]) == 1
    assert main(["fsck", "--store", store.where, "--repair", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["removed"]) == 1
    assert store.counts()["curated"] == 1
