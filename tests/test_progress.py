"""Progress bars: live on a terminal; in a log file, a line every 30 s of a long job."""

from __future__ import annotations

from miras.cli import main
from miras.progress import LOG_INTERVAL_S, advancer, progress_bar


def _lines(err: str, desc: str) -> int:
    return err.replace("\r", "\n").count(f"{desc}:")


def _run(updates: int) -> None:
    with progress_bar(updates, "work") as bar:
        advance = advancer(bar)
        for done in range(1, updates + 1):
            advance(done, updates)


def test_a_long_job_logs_a_line_per_interval_and_the_final_count(tqdm_clock, capsys):
    _run(3 * LOG_INTERVAL_S)  # ~90 s by tqdm's clock
    err = capsys.readouterr().err  # not a terminal, as when the output goes to a log
    assert 2 <= _lines(err, "work") <= 5, err  # not one per update
    assert f"{3 * LOG_INTERVAL_S}/{3 * LOG_INTERVAL_S}" in err


def test_a_short_job_leaves_the_log_clean(tqdm_clock, capsys):
    _run(LOG_INTERVAL_S // 3)
    assert capsys.readouterr().err == ""


def test_synth_logs_a_few_progress_lines_not_one_per_image(tqdm_clock, tmp_path, capsys):
    assert main(["synth", str(tmp_path / "data"), "--n", "40", "--seed", "1", "--size", "64"]) == 0
    err = capsys.readouterr().err
    assert 1 <= _lines(err, "synth") <= 3, err
    assert "40/40" in err
