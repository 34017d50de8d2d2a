"""Date selection of the models that take a few dates, and the Sentinel-1 input contract of the registry."""

import pytest

from landcover_hpc.data.tiles import S1_POLARISATIONS
from landcover_hpc.errors import ConfigError
from landcover_hpc.models import names
from landcover_hpc.models.dates import closest_dates, date_options, select_dates

YEAR = [f"2019{m:02d}{d:02d}" for m in range(1, 13) for d in (5, 15, 25)][:33]  # 33 dates every ~10 days


def test_four_dates_fall_in_the_middle_of_each_quarter_of_the_series():
    chosen = select_dates(YEAR, 4)
    months = [int(YEAR[i][4:6]) for i in chosen]
    assert len(set(chosen)) == 4 and list(chosen) == sorted(chosen)
    assert months == [2, 5, 7, 10]  # the span 5 Jan - 5 Nov cut in four: middles mid-Feb, early May, Jul, Oct


def test_as_many_dates_as_the_series_takes_them_all_and_more_is_a_one_line_error():
    assert select_dates(YEAR[:3], 3) == (0, 1, 2)
    with pytest.raises(ConfigError, match="takes 4 dates, the store has only 3"):
        select_dates(YEAR[:3], 4)


def test_closest_dates_pairs_each_target_with_the_nearest_date_earlier_on_ties():
    s1 = ["20190101", "20190113", "20190125", "20190206"]
    assert closest_dates(["20190107", "20190112", "20190301"], s1) == (0, 1, 3)


def test_whole_series_models_take_no_date_options(monkeypatch):
    assert date_options("fgunet", YEAR) == {}
    monkeypatch.setitem(names.SELECTED_DATE_COUNTS, "fgunet", 2)
    assert date_options("fgunet", YEAR, chosen=[3, 30]) == {"date_indices": [3, 30]}
    with pytest.raises(ConfigError, match=r"model.dates=\[3, 33\]: model fgunet takes 2 date indices in 0..32"):
        date_options("fgunet", YEAR, chosen=[3, 33])


def test_s1_channels_per_date_are_the_stack_polarisations():
    assert names.S1_CHANNELS_PER_DATE == len(S1_POLARISATIONS)


def test_an_s2_model_refuses_sentinel1_dates():
    from landcover_hpc.models import get_model, model_spec

    with pytest.raises(ConfigError, match="takes Sentinel-2 only, not 4 Sentinel-1 dates"):
        get_model("mlp", 6, 4, 3, n_groups=3, n_s1_dates=4)
    spec = model_spec(get_model("mlp", 6, 4, 3, n_groups=3))
    assert spec.n_s1_dates == 0 and spec.input_channels == 24
