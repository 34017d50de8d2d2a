"""benchmarks/split_validation.py: an epoch picked on one half of the tiles is scored on the other."""

import pytest
from benchmark_scripts import load

split_validation = load("split_validation")


def _rows(kappas, half0, half1):
    return [{"epoch": str(e + 1), "val_kappa": str(k), "val_kappa_half0": str(a), "val_kappa_half1": str(b)}
            for e, (k, a, b) in enumerate(zip(kappas, half0, half1))]


def test_split_estimate_scores_each_pick_on_the_other_half():
    # half 0 peaks at epoch 2 by chance, half 1 at epoch 3: each pick is read off the other half
    rows = _rows([0.80, 0.85, 0.84, 0.70], [0.70, 0.95, 0.75, 0.60], [0.90, 0.75, 0.93, 0.80])
    got = split_validation.split_estimate(rows)
    assert (got["best"], got["best_epoch"]) == (0.85, 2)
    assert (got["picked_on_half0"], got["picked_on_half1"]) == (2, 3)
    assert (got["half1_at_half0_pick"], got["half0_at_half1_pick"]) == (0.75, 0.75)
    assert got["held_out"] == pytest.approx(0.75)  # below both halves' maxima: the selection's bias is gone


def test_run_without_half_scores_is_refused(tmp_path, capsys):
    run = tmp_path / "runs" / "old_s0"
    run.mkdir(parents=True)
    (run / "history.csv").write_text("epoch,val_kappa\n1,0.5\n")
    with pytest.raises(SystemExit) as stop:
        split_validation.main(["--bench-out", str(tmp_path), "--runs", "old", "--seeds", "0"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "history.csv" in err and "val_kappa_half0" in err and "\n" not in err.rstrip("\n")
    with pytest.raises(SystemExit) as stop:  # a run never trained: the same one-line error
        split_validation.main(["--bench-out", str(tmp_path), "--runs", "missing", "--seeds", "0"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "missing_s0/history.csv: not found" in err and "\n" not in err.rstrip("\n")


def test_markdown_table_per_run(tmp_path, capsys):
    for seed, shift in ((0, 0.0), (1, 0.01)):
        run = tmp_path / "runs" / f"a_s{seed}"
        run.mkdir(parents=True)
        rows = _rows([0.8 + shift, 0.9], [0.7, 0.8 + shift], [0.75, 0.6])
        (run / "history.csv").write_text("epoch,val_kappa,val_kappa_half0,val_kappa_half1\n" + "".join(
            f"{r['epoch']},{r['val_kappa']},{r['val_kappa_half0']},{r['val_kappa_half1']}\n" for r in rows))
    assert split_validation.main(["--bench-out", str(tmp_path), "--runs", "a", "--seeds", "0,1"]) == 0
    table = capsys.readouterr().out
    # half 0 picks epoch 2 (half 1 there: 0.6), half 1 picks epoch 1 (half 0 there: 0.7): 0.65 in both seeds
    assert "| a | 2 | 2 / 1, 2 / 1 | 0.6500 / 0.6500 | 0.6500 +- 0.0000 | 0.9000 |" in table
