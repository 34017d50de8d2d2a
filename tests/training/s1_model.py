"""A tiny test-only Sentinel-1 model, registered in the running process only (never in the package).

``register()`` adds :data:`NAME` to the registry's builders and to ``models.names.MODEL_NAMES`` and
``S1_MODELS`` (and to the modules that imported them), before the training config, whose ``model.name``
choices are read from ``MODEL_NAMES`` at import, is imported. Run as a script under mpirun, it registers the
model and then runs ``landcover-train`` (argv ``train ...``) and/or ``landcover-predict`` (argv
``predict ...``), in one process (one start of TensorFlow and Horovod): ``train ARGS ::: predict ARGS``.
"""

from __future__ import annotations

import sys

NAME = "s1_test_pixel"


def build_s1_test_pixel(n_dates, n_bands, n_classes, n_groups=None, extra_channels_per_date=0,
                        precision="float32", dropout=0.0, n_s1_dates=0, **options):
    """(B, H, W, T*C' + T1*2) -> (B, H, W, K): a 1 x 1 convolution over every channel (S2 and S1), softmax."""
    import tensorflow as tf

    channels = n_dates * (n_bands + extra_channels_per_date) + 2 * n_s1_dates
    x = tf.keras.Input((None, None, channels))
    hidden = tf.keras.layers.Conv2D(8, 1, activation="relu")(x)
    return tf.keras.Model(x, tf.keras.layers.Conv2D(n_classes, 1, activation="softmax")(hidden), name=NAME)


def register(setattr_=setattr, setitem=None) -> None:
    """Register :data:`NAME` (``setattr_``/``setitem``: pytest's monkeypatch ones to undo it after a test)."""
    from landcover_hpc.models import dates, names, registry

    setitem = setitem or (lambda mapping, key, value: mapping.__setitem__(key, value))
    setitem(registry._BUILDERS, NAME, build_s1_test_pixel)
    for module in (names, registry, dates):
        for attribute in ("MODEL_NAMES", "S1_MODELS"):
            if hasattr(module, attribute) and NAME not in getattr(module, attribute):
                setattr_(module, attribute, getattr(module, attribute) + (NAME,))


if __name__ == "__main__":
    assert "landcover_hpc.config.train" not in sys.modules  # its model.name choices come from MODEL_NAMES
    register()
    from landcover_hpc.cli import predict, train

    commands = " ".join(sys.argv[1:]).split(" ::: ")
    for command, *argv in (c.split() for c in commands):
        code = {"train": train.main, "predict": predict.main}[command](argv)
        if code:
            sys.exit(code)
