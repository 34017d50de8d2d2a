"""One synchronous training step on 8 fixed patches, split over the ranks: ``python distributed_step.py OUT OPT``.

Run as one process (8 patches) and under ``mpirun -n 2`` (4 patches each) by test_training_distributed.py;
rank 0 saves the weights after the step to OUT (.npz).
"""

import sys

import numpy as np


def main(out: str, optimizer_name: str) -> None:
    from landcover_hpc.parallel import launched_by_mpi
    from landcover_hpc.runtime import configure_tensorflow

    configure_tensorflow(1)
    import horovod.tensorflow as hvd_tf
    import horovod.tensorflow.keras as hvd
    import tensorflow as tf

    from landcover_hpc.models import class_weights, get_model
    from landcover_hpc.training.trainer import ScaledLoss, train_step

    hvd.init()
    comm = None
    if launched_by_mpi():
        from mpi4py import MPI

        comm = MPI.COMM_WORLD
    rng = np.random.default_rng(0)
    x = rng.random((8, 16, 16, 6 * 4), dtype=np.float32)
    y = rng.integers(0, 6, (8, 16, 16)).astype(np.uint8)
    y[:2, :8] = 0  # uneven labelled pixels between the ranks' halves
    share = 8 // hvd.size()
    x, y = x[hvd.rank() * share:(hvd.rank() + 1) * share], y[hvd.rank() * share:(hvd.rank() + 1) * share]
    tf.keras.utils.set_random_seed(1)
    model = get_model("fgunet", 6, 4, 5, n_groups=3, dropout=0.0)
    opt = tf.keras.optimizers.legacy.SGD(0.5) if optimizer_name == "sgd" else tf.keras.optimizers.legacy.Adam(0.01)
    loss = ScaledLoss(class_weights([5, 1, 2, 8, 3]))
    model.compile(optimizer=hvd.DistributedOptimizer(opt), loss=loss)
    hvd_tf.broadcast_variables(model.variables, root_rank=0)
    value = train_step(model, loss, x, y, comm, hvd.size())
    if hvd.rank() == 0:
        np.savez(out, loss=value, *model.get_weights())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
