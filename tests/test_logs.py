"""The commands' log lines (landcover_hpc.logs): --log-level and --log-file on every console script, ISO
timestamp, level, rank and command on each line, progress lines through logging, rank 0 alone logging INFO
under mpirun (a log file per rank), and the one-line error kept on stderr and also logged to the file."""

import importlib
import itertools
import logging
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from landcover_hpc.logs import rank_log_file

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
# console script -> (subcommand, the config that --print-config loads: every command has required keys)
CONFIGS = {
    "landcover-synth": ([], "synth.yaml"), "landcover-prepare": ([], "prepare.yaml"),
    "landcover-gapfill": ([], "gapfill.yaml"), "landcover-worldcereal": ([], "worldcereal.yaml"),
    "landcover-train": ([], "demo.yaml"), "landcover-predict": ([], "predict.yaml"),
    "landcover-mosaic": ([], "mosaic.yaml"), "landcover-produce": ([], "production.yaml"),
    "landcover-rf": (["train"], "rf.yaml"), "landcover-evaluate": ([], "evaluate.yaml"),
    "landcover-compare": ([], "compare.yaml"), "landcover-geometry": ([], "geometry.yaml"),
}
TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d"  # ISO 8601, ms and UTC offset


def _main(script: str):
    module, function = SCRIPTS[script].split(":")
    return getattr(importlib.import_module(module), function)


def test_every_console_script_is_checked():
    assert set(CONFIGS) == set(SCRIPTS)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_every_command_takes_log_level_and_log_file(script, tmp_path, capsys):
    """--print-config with the log options: the YAML alone on stdout, the DEBUG start line in the file only
    (--log-level WARNING on stderr would hide it: the level is the same for both)."""
    sub, config = CONFIGS[script]
    log_file = tmp_path / "logs" / "run.log"  # its folder is made
    argv = [*sub, "--config", str(REPO / "configs" / config), "--print-config"]
    assert _main(script)([*argv, "--log-level", "DEBUG", "--log-file", str(log_file)]) == 0
    captured = capsys.readouterr()
    assert isinstance(yaml.safe_load(captured.out), dict)
    lines = log_file.read_text().splitlines()
    assert len(lines) == 1 and re.fullmatch(rf"{TIME} DEBUG rank 0 {script}: started on .* \(PID \d+\): "
                                            rf"{script} .*--print-config.*", lines[0]), lines
    assert captured.err.strip() == lines[0]  # the same line on stderr
    assert _main(script)([*argv, "--log-level", "WARNING", "--log-file", str(log_file)]) == 0
    assert capsys.readouterr().err == "" and log_file.read_text().splitlines() == lines  # appended: nothing new


def test_messages_are_timestamped_lines_with_rank_and_command_results_stay_on_stdout(tmp_path, capsys):
    from landcover_hpc.cli.synth import main

    log_file = tmp_path / "synth.log"
    assert main(["--out", str(tmp_path / "tiles"), "--tiles", "T31UDQ", "--size", "64", "--dates", "2",
                 "--log-file", str(log_file)]) == 0
    captured = capsys.readouterr()
    line = log_file.read_text()
    assert re.fullmatch(rf"{TIME} INFO rank 0 landcover-synth: T31UDQ: urban +64x64 px, EPSG:32631, .*"
                        rf"-> {tmp_path}/tiles/T31UDQ\n", line), line
    assert captured.err == line and captured.out == ""
    assert logging.getLogger("landcover_hpc").handlers == []  # the command's set-up is gone with it


def test_progress_lines_are_log_lines_that_warning_leaves_out(synth_root, tmp_path, capsys, monkeypatch):
    """landcover-prepare's progress lines (forced: 10 s pass at each clock reading) are INFO records: on
    stderr and in the log file at INFO, gone at WARNING; the summary on stdout is the same."""
    from landcover_hpc.cli.prepare import main

    monkeypatch.setattr("landcover_hpc.progress.time.perf_counter", itertools.count(0, 10).__next__)
    argv = ["--input", str(synth_root), "--tiles", "T31UDQ", "--patch-size", "32", "--stride", "16"]
    log_file = tmp_path / "prepare.log"
    assert main([*argv, "--out", str(tmp_path / "info"), "--log-file", str(log_file)]) == 0
    info = capsys.readouterr()
    progress = [line for line in info.err.splitlines() if " INFO rank 0 landcover-prepare: prepare T31UDQ: " in line]
    assert progress and progress[-1].endswith(tuple("0123456789")) and "100.0%" in progress[-1], info.err
    assert log_file.read_text().splitlines() == info.err.splitlines()  # the file has every line
    assert main([*argv, "--out", str(tmp_path / "warning"), "--log-level", "WARNING"]) == 0
    warning = capsys.readouterr()
    assert warning.err == "" and warning.out == info.out.replace(str(tmp_path / "info"), str(tmp_path / "warning"))


def test_the_error_line_stays_on_stderr_with_its_exit_code_and_is_logged(tmp_path, capsys):
    from landcover_hpc.cli.prepare import main

    log_file = tmp_path / "prepare.log"
    assert main(["--input", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"), "--log-file",
                 str(log_file)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"landcover-prepare: error: input folder {tmp_path}/nowhere "
                                                   "not found"), err
    logged = log_file.read_text()
    assert re.fullmatch(rf"{TIME} ERROR rank 0 {re.escape(err.rstrip())} \(exit code 2\)\n", logged), logged


def test_a_log_file_that_cannot_be_written_is_a_one_line_error(tmp_path, capsys):
    from landcover_hpc.cli.synth import main

    (tmp_path / "taken").write_text("a file, not a folder")
    assert main(["--out", str(tmp_path / "tiles"), "--log-file", str(tmp_path / "taken" / "synth.log"),
                 "--print-config"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("landcover-synth: error: ") and "taken" in err, err


def test_rank_log_files():
    assert rank_log_file("logs/produce.log", 0) == Path("logs/produce.log")
    assert rank_log_file("logs/produce.log", 2) == Path("logs/produce.rank2.log")
    assert rank_log_file("run", 1) == Path("run.rank1")


def _mpirun(*ranks: list[str]) -> subprocess.CompletedProcess:
    """One MPI job of ``len(ranks)`` ranks, rank i running ``python -m <ranks[i]>`` (MPMD: one argv each)."""
    from landcover_hpc.parallel import launch_environment

    cmd = ["mpirun", "--oversubscribe", "--allow-run-as-root", "--bind-to", "none"]
    for i, argv in enumerate(ranks):
        cmd += ([":"] if i else []) + ["-n", "1", sys.executable, "-m", *argv]
    return subprocess.run(cmd, capture_output=True, text=True, env=launch_environment(), timeout=300)


def test_under_mpirun_rank_0_alone_logs_info_and_each_rank_has_its_log_file(tmp_path):
    """Two ranks each synthesise a tile (into their own folder) and log it at INFO: rank 0's line alone
    appears, on stderr and in the log file; rank 1, with nothing at WARNING or above, leaves no file."""
    log_file = tmp_path / "synth.log"
    done = _mpirun(*(["landcover_hpc.cli.synth", "--out", str(tmp_path / f"rank{r}"), "--tiles", "T31UDQ",
                      "--size", "64", "--dates", "2", "--log-file", str(log_file)] for r in range(2)))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "rank1" / "T31UDQ" / "stack.tif").is_file()  # rank 1 worked, silently
    ours = [line for line in done.stderr.splitlines() if "landcover-synth" in line]
    assert len(ours) == 1 and re.match(rf"{TIME} INFO rank 0 landcover-synth: T31UDQ: .*rank0/T31UDQ$", ours[0])
    assert log_file.read_text().splitlines() == ours
    assert sorted(p.name for p in tmp_path.glob("*.log")) == ["synth.log"]


def test_under_mpirun_each_rank_logs_its_error_line_to_its_own_file(tmp_path):
    """landcover-produce refuses several ranks, on every rank (no MPI abort cuts a rank short)."""
    log_file = tmp_path / "produce.log"
    argv = ["landcover_hpc.cli.produce", "--config", str(REPO / "configs" / "production.yaml"), "--tiles", "T31UDQ",
            "--out", str(tmp_path / "out"), "--log-file", str(log_file)]
    done = _mpirun(argv, argv)
    assert done.returncode == 2, done.stderr
    line = "landcover-produce: error: landcover-produce runs as one process: start it without mpirun"
    assert done.stderr.count(line) == 2, done.stderr
    for rank in (0, 1):
        logged = rank_log_file(log_file, rank).read_text()
        assert re.fullmatch(rf"{TIME} ERROR rank {rank} {re.escape(line)}.* \(exit code 2\)\n", logged), logged
