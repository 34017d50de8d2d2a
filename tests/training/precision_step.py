"""One training step of a model in float32 and in bfloat16 from the same weights on the same batch:
``python precision_step.py OUT NAME [NAME ...]``.

Run by test_training_precision.py; for each NAME writes OUT/NAME.npz with the two losses, the weight
updates of the two SGD steps (-lr x gradient) and the dtypes of the bfloat16 model's variables.
"""

import sys
from pathlib import Path

import numpy as np


def main(out: str, names: list[str]) -> None:
    from landcover_hpc.runtime import configure_tensorflow

    configure_tensorflow(2)
    import horovod.tensorflow.keras as hvd
    import tensorflow as tf

    from landcover_hpc.models import class_weights, get_model
    from landcover_hpc.training.trainer import ScaledLoss, train_step

    hvd.init()
    rng = np.random.default_rng(0)
    x = rng.random((2, 16, 16, 6 * 4), dtype=np.float32)
    y = rng.integers(0, 6, (2, 16, 16)).astype(np.uint8)
    for name in names:
        tf.keras.utils.set_random_seed(1)
        models = {p: get_model(name, 6, 4, 5, n_groups=3, dropout=0.0, precision=p) for p in ("float32", "bfloat16")}
        initial = models["float32"].get_weights()
        models["bfloat16"].set_weights(initial)
        result = {}
        for precision, model in models.items():
            loss = ScaledLoss(class_weights([5, 1, 2, 8, 3]))
            model.compile(optimizer=hvd.DistributedOptimizer(tf.keras.optimizers.legacy.SGD(0.1)), loss=loss)
            result[f"loss_{precision}"] = train_step(model, loss, x, y, None, 1)
            result[f"update_{precision}"] = np.concatenate(
                [(w - w0).ravel() for w, w0 in zip(model.get_weights(), initial)])
        mixed = models["bfloat16"]
        result["compute_dtype"] = next(layer for layer in mixed.layers if layer.name.startswith("logits")).compute_dtype
        result["weight_dtypes"] = sorted({w.dtype.name for w in mixed.get_weights()})
        result["loss_scaled"] = isinstance(mixed.optimizer, tf.keras.mixed_precision.LossScaleOptimizer)
        np.savez(Path(out) / f"{name}.npz", **result)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
