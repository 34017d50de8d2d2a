"""Precision ``auto``: bfloat16 only on CPUs that compute it natively (emulated bfloat16 is ~9x slower)."""

import pytest

from landcover_hpc import runtime
from landcover_hpc.config.predict import PredictConfig
from landcover_hpc.config.train import Config

AVX2 = "processor\t: 0\nflags\t\t: fpu sse sse2 avx avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu sse sse2 avx avx2 fma\n"


@pytest.mark.parametrize("flags, native", [("avx2 fma", False), ("avx512f avx512_bf16", True),
                                           ("avx512f amx_tile amx_bf16", True), ("avx512_bf16x", False)])
def test_native_bfloat16_reads_the_cpu_flags(tmp_path, flags, native):
    (tmp_path / "cpuinfo").write_text(f"processor\t: 0\nmodel name\t: x amx_bf16 in a name\nflags\t\t: {flags}\n")
    assert runtime.native_bfloat16(tmp_path / "cpuinfo") is native


def test_no_cpuinfo_means_no_bfloat16_units(tmp_path):
    assert runtime.native_bfloat16(tmp_path / "missing") is False
    (tmp_path / "avx2").write_text(AVX2)
    assert runtime.native_bfloat16(tmp_path / "avx2") is False


@pytest.mark.parametrize("native, expected", [(True, "bfloat16"), (False, "float32")])
def test_auto_resolves_in_the_configs_and_explicit_values_stay(monkeypatch, native, expected):
    monkeypatch.setattr(runtime, "native_bfloat16", lambda: native)
    assert Config.model_validate({"model": {"precision": "auto"}}).model.precision == expected
    assert Config.model_validate({"model": {"precision": "bfloat16"}}).model.precision == "bfloat16"
    assert Config.model_validate({}).model.precision == "float32"
    assert PredictConfig.model_validate({"tiles": ["T31UDQ"], "precision": "auto"}).precision == expected
    assert PredictConfig.model_validate({"tiles": ["T31UDQ"]}).precision is None  # the model's own


def test_the_demo_config_asks_for_auto():
    import yaml
    from pathlib import Path

    demo = yaml.safe_load((Path(__file__).parents[1] / "configs" / "demo.yaml").read_text())
    assert demo["model"]["precision"] == "auto"


def test_auto_resolves_in_the_production_configs_predict_section(monkeypatch):
    from landcover_hpc.config.production import PredictSection

    monkeypatch.setattr(runtime, "native_bfloat16", lambda: False)
    assert PredictSection.model_validate({"precision": "auto"}).precision == "float32"
