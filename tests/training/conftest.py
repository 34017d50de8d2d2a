import pytest


@pytest.fixture(scope="session")
def train_store(tmp_path_factory, synth_root, nomenclature):
    """The stores of ``synth_root`` with the demo's 32 px patches (stride 8): validation objects, 10 % of the
    reference, hold few 64 px patch positions on 160 px tiles, but enough 32 px ones."""
    from landcover_hpc.data import PrepareOptions, prepare_dataset

    out = tmp_path_factory.mktemp("train_store")
    prepare_dataset(synth_root, out, nomenclature, PrepareOptions(patch_size=32, stride=8))
    return out
