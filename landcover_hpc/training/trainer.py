"""Horovod-Keras data-parallel training of the models on class-balanced patches (``landcover-train``).

The paper's procedure (DESIGN-NOTES section 3), in Horovod's canonical order: ``hvd.init``, threads from
the allocation, the model, Adam (or SGD) wrapped in ``hvd.DistributedOptimizer`` (gradients averaged over
ranks), initial broadcast of weights and optimizer state from rank 0, the warm-up schedule per batch, metric
averaging, rank-0 checkpoints and logs.

``model.precision: bfloat16`` trains with the models' per-layer mixed_bfloat16 policy: bfloat16 compute,
float32 variables (so float32 gradients, allreduce, optimizer state, checkpoints and model files), softmax
and loss in float32. bfloat16 has float32's exponent range, so no loss scaling is needed (Keras adds none).

Distributed maths: the loss of a batch is normalised by the number of labelled pixels of the *global*
batch: before each step the ranks allreduce their labelled-pixel counts and each scales its loss (already
divided by its own count) by ``N * n_local / n_global``; the averaged gradient is then exactly the gradient of
the global batch's loss, as if one process had trained on all N x b patches.

Every step is a function of (seed, global step): the sampler's batches and augmentations, the learning
rate and the dropout masks (every random generator of the model is reseeded from (seed, rank, step) before
the step, :mod:`.rng`); with ``training.deterministic`` (default) TensorFlow's op determinism makes the
weights a function of them too, so two runs with the same config, ranks and threads on the same CPU give
identical weights. ``--resume`` restores weights, optimizer state and the step from the last checkpoint and
continues with the batches, rates and masks an uninterrupted run would have used: its weights are the
uninterrupted run's. Inside :func:`landcover_hpc.interrupt.stop_signals` (``landcover-train`` sets it up),
SIGTERM or SIGUSR1 on any rank stops every rank after the same batch: rank 0 writes a checkpoint of that
step (with the epoch's losses so far) and :class:`~landcover_hpc.interrupt.StopRequested` is raised.
Rank 0 writes into ``run_dir``: config.yaml (effective config), history.csv (one row per epoch), steps.csv
(one row per batch: rate, loss, digest of rank 0's batch), tensorboard/, checkpoint.h5 (every epoch and on a
stop signal), best_model.h5 (best validation kappa) and final_model.h5.
With ``training.patience`` the run stops early once the validation kappa (validation objects only, never
test ones) has not improved for that many epochs: the plateau.

The validation kappa that picks best_model.h5 and the plateau is that of the map the model will make
(``training.selection``): the network's argmax (``none``), or its posteriors moved to the training objects'
class mix (``global``) or to each validated tile's own (``tile``), as ``landcover-predict --prior-correction``
does. Picking the epoch on one map and then making another biases the comparison of the two: the best of 45
uncorrected kappas is an optimistic figure that a corrected map of that epoch does not share. history.csv
logs the three kappas of every epoch (``val_kappa``, ``val_kappa_prior``, ``val_kappa_prior_tile``; the last
only with ``validation: all_pixels``, whose windows know their tile) whatever the selection, and the best
epoch of each other map is kept too, as ``best_model_<setting>.h5`` (``none``, ``global``, ``tile``): the
setting can be chosen on validation after one training, each map made with the epoch picked on its own kappa.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import time
from pathlib import Path

import numpy as np
import yaml

import tensorflow as tf

from ..data.store import read_dataset_summary
from ..errors import InputFormatError, InputNotFoundError
from ..interrupt import StopRequested, received_signal_name, stop_requested
from ..io import atomic_path, remove_temporaries, write_text_atomic
from ..models import WeightedSparseCrossEntropy, model_spec
from ..models.registry import training_loss
from ..locks import locked_output
from ..parallel import launched_by_mpi, world
from .checkpoint import check_resumable, load_checkpoint, save_checkpoint
from .rng import generator_rng, random_generators, reseed
from ..config.train import Config
from .schedule import learning_rate

__all__ = ["train", "train_step", "validate", "ScaledLoss"]

log = logging.getLogger(__name__)

_HISTORY_FIELDS = ["epoch", "loss", "lr", "val_overall_accuracy", "val_kappa", "val_kappa_prior",
                   "val_kappa_prior_tile", "val_kappa_half0", "val_kappa_half1", "patches_per_second", "seconds"]
_KAPPA_OF = {"none": "val_kappa", "global": "val_kappa_prior", "tile": "val_kappa_prior_tile"}  # by selection
_STEP_FIELDS = ["step", "epoch", "lr", "loss", "batch_digest"]
_RUN_FILES = ("config.yaml", "history.csv", "steps.csv", "checkpoint.h5", "best_model.h5", "final_model.h5",
              *(f"best_model_{setting}.h5" for setting in _KAPPA_OF))


class ScaledLoss(WeightedSparseCrossEntropy):
    """The training loss of a model times a per-step factor (global normalisation, see above).

    Args:
        class_weights: ``(K,)`` class weights.
        architecture: the model's name: its loss is ``models.registry.training_loss(architecture, ...)`` (the
            weighted sparse cross-entropy unless the model's paper states another); None: the cross-entropy.
    """

    def __init__(self, class_weights, name: str = "weighted_crossentropy", architecture: str | None = None):
        super().__init__(class_weights, name=name)
        self.scale = tf.Variable(1.0, trainable=False, dtype=tf.float32, name="loss_scale")
        self.base = training_loss(architecture, class_weights) if architecture else None

    def call(self, y_true, y_pred):
        unscaled = self.base.call(y_true, y_pred) if self.base is not None else super().call(y_true, y_pred)
        return self.scale * unscaled


def _digest(x: np.ndarray, y: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(x).tobytes() + np.ascontiguousarray(y).tobytes()).hexdigest()[:16]


def _rewrite_csv(path: Path, fields: list[str], rows: list[dict]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def _read_csv(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def train(config: Config, resume: bool = False) -> dict:
    """Train ``config.model`` on ``config.data``; return the last epoch's metrics (on every rank).

    Runs as one process or under mpirun/srun (one Horovod rank per process). Rank 0 owns the run folder
    while it runs: a second run on it raises OutputBusyError on every rank (:mod:`landcover_hpc.locks`).
    """
    with locked_output(config.output.run_dir, "the training run", world()[0]) as lock:
        if lock is not None:  # the owner removes what a killed run's atomic writes left in the folder
            for name in _RUN_FILES:
                remove_temporaries(Path(config.output.run_dir) / name)
        return _train(config, resume)


def _train(config: Config, resume: bool) -> dict:
    """:func:`train` once this run owns its run folder."""
    from ..runtime import configure_horovod, configure_tensorflow, native_bfloat16

    comm = None
    if launched_by_mpi():
        from mpi4py import MPI

        comm = MPI.COMM_WORLD
    threads = configure_tensorflow(config.threads)
    configure_horovod()
    import horovod.tensorflow as hvd_tf
    import horovod.tensorflow.keras as hvd

    hvd.init()
    rank, size = hvd.rank(), hvd.size()
    say = log.info if rank == 0 else (lambda *a, **k: None)  # the ranks train together: one says how

    from ..models import ModelMetadata, class_weights, get_model, save_model
    from ..models.dates import date_options
    from ..models.names import PATCH_MODELS, S1_MODELS
    from ..sampling import PatchSampler, SamplerOptions
    from ..sampling.prior import prior_weights, reference_prior
    from ..sampling.transforms import INDEX_NAMES

    run_dir = Path(config.output.run_dir)
    store_dir = Path(config.data.store)
    if not (store_dir / "dataset.json").is_file():
        raise InputNotFoundError(f"{store_dir / 'dataset.json'} not found: run landcover-prepare --out {store_dir} "
                                 "or set data.store")
    dataset = read_dataset_summary(store_dir)
    n_dates, bands = len(dataset["dates"]), dataset["bands"]
    config.check_dates(n_dates)
    tcfg = config.training
    steps_per_epoch = tcfg.batches_per_epoch

    sampler = PatchSampler(store_dir, comm, SamplerOptions(batch_size=tcfg.batch_size, seed=tcfg.seed,
                                                          augment=config.data.augment, indices=config.data.indices,
                                                          balance=config.data.balance,
                                                          validation_balance=config.data.validation_balance,
                                                          memory_budget=config.data.memory_budget,
                                                          sentinel1=config.model.name in S1_MODELS),
                           tiles=config.data.tiles)
    validation = _validation_set(sampler, tcfg, comm)  # none: say so now, not after the first epoch
    tf.keras.utils.set_random_seed(tcfg.seed + rank)  # dropout masks differ per rank, weights come from rank 0
    if tcfg.deterministic:
        tf.config.experimental.enable_op_determinism()
    per_tile = {t["tile"]: t["train_pixels"] for t in dataset["tiles"]}  # written by landcover-prepare
    train_pixels = np.sum([per_tile[t] for t in sampler.tile_ids], axis=0)
    weights = (class_weights(train_pixels) if tcfg.class_weights == "inverse_frequency"
               else (train_pixels > 0).astype(np.float32))
    # the Sentinel-1 dates of the tiles trained on (dataset.json's s1_dates when they are all its tiles), checked
    # by the sampler to be the same on every tile; () for an S2-only model
    s1_dates = list(sampler.s1_dates)
    with generator_rng():  # the model's random state becomes resettable at every step (see .rng)
        model = get_model(config.model.name, n_dates, len(bands), len(sampler.class_codes),
                          n_groups=config.model.n_groups,
                          extra_channels_per_date=len(INDEX_NAMES) if config.data.indices else 0,
                          precision=config.model.precision, dropout=config.model.dropout, n_s1_dates=len(s1_dates),
                          **config.model.options,
                          **date_options(config.model.name, dataset["dates"], s1_dates, config.model.dates),
                          # a patch classifier's map slides patches of the size it was trained on
                          **({"patch_size": sampler.patch_size} if config.model.name in PATCH_MODELS else {}))
    base = (tf.keras.optimizers.legacy.Adam(tcfg.learning_rate) if tcfg.optimizer == "adam"
            else tf.keras.optimizers.legacy.SGD(tcfg.learning_rate))
    optimizer = hvd.DistributedOptimizer(base)
    loss = ScaledLoss(weights, architecture=config.model.name)
    model.compile(optimizer=optimizer, loss=loss)
    optimizer._create_all_weights(model.trainable_variables)  # slots exist before restore and broadcast
    spec = model_spec(model).to_dict()  # in every checkpoint: a resumed run must build the same network
    generators = random_generators(model)

    start_epoch, start_step, best_kappa, best_epoch = 0, 0, -np.inf, 0
    partial = {"losses": [], "seconds": 0.0}  # of the epoch a stop signal interrupted
    checkpoint_path = run_dir / "checkpoint.h5"
    if resume and checkpoint_path.is_file():
        model_weights, optimizer_weights, state = load_checkpoint(checkpoint_path)
        check_resumable(checkpoint_path, model_weights, state, model, config.model.name)
        model.set_weights(model_weights)
        optimizer.set_weights(optimizer_weights)
        sampler.load_state_dict(state["sampler"])
        start_step = state.get("step", (state["epoch"] + 1) * steps_per_epoch)
        start_epoch, best_kappa = start_step // steps_per_epoch, state["best_kappa"]
        if state.get("selection", "none") != tcfg.selection:  # best_kappa is another map's
            raise InputFormatError(f"{checkpoint_path}: this run picks its best epoch with training.selection "
                                   f"{state.get('selection', 'none')}, not {tcfg.selection}: resume with "
                                   f"training.selection={state.get('selection', 'none')}, or start a new run_dir")
        best_epoch = state.get("best_epoch", start_epoch)
        partial = state.get("partial_epoch", partial)
        if tcfg.patience is not None and start_epoch - best_epoch >= tcfg.patience:
            say(f"{checkpoint_path}: the run already stopped at its validation plateau (epoch {start_epoch}): "
                "nothing to do")
            start_epoch = tcfg.epochs  # a requeued or re-run job does not train past its early stop
        else:
            say(f"resuming from {checkpoint_path}: epoch {start_epoch + 1}, step {start_step}")
    elif resume:
        say(f"no checkpoint in {run_dir}: starting from scratch")
    hvd_tf.broadcast_variables(model.variables, root_rank=0)
    hvd_tf.broadcast_variables(optimizer.variables(), root_rank=0)
    sampler.seek(start_step)

    metadata = ModelMetadata(band_names=bands, class_codes=sampler.class_codes, percentiles=sampler.percentiles,
                             nomenclature=dataset["nomenclature"], dates=dataset["dates"],
                             s1_dates=sampler.s1_dates, s1_percentiles=sampler.s1_percentiles,
                             spectral_indices=INDEX_NAMES if config.data.indices else (),
                             extra={"config": config.to_dict(),
                                    # for landcover-predict --prior-correction (sampling/prior.py)
                                    "class_priors": {"training_patches": sampler.label_prior.tolist(),
                                                     "reference": reference_prior(train_pixels).tolist()}})
    global_weights = prior_weights(sampler.label_prior, reference_prior(train_pixels))
    settings = _validation_settings(sampler, global_weights, tcfg.validation)
    # every other tile in name order: the two halves of the validation objects (history.csv's val_kappa_half0/1)
    halves = ({tile: i % 2 for i, tile in enumerate(sorted(sampler.tile_ids))} if tcfg.validation == "all_pixels"
              else None)
    history, steps_log, writer = _open_logs(run_dir, config, start_epoch, start_step) if rank == 0 else ([], [], None)
    others = {setting: max((float(r[_KAPPA_OF[setting]]) for r in history if r.get(_KAPPA_OF[setting])),
                           default=-np.inf)
              for setting in settings if setting != tcfg.selection}  # best kappa of the other maps (rank 0's)
    say(f"training {config.model.name} ({model.count_params()} parameters) on {len(sampler.tile_ids)} tiles, "
        f"{size} rank(s) x {tcfg.batch_size} patches of {sampler.patch_size} px, {threads} thread(s) per rank, "
        f"{config.model.precision} (CPU {'with' if native_bfloat16() else 'without'} bfloat16 units), "
        f"{tcfg.epochs} epochs x {steps_per_epoch} batches; validation: {validation}")

    last = {}
    for epoch in range(start_epoch, tcfg.epochs):
        resumed = epoch == start_epoch and start_step > epoch * steps_per_epoch
        losses = list(partial["losses"]) if resumed else []
        t0 = time.perf_counter() - (partial["seconds"] if resumed else 0.0)
        for batch in range(start_step - epoch * steps_per_epoch if resumed else 0, steps_per_epoch):
            step = epoch * steps_per_epoch + batch
            lr = learning_rate(step, steps_per_epoch, tcfg.learning_rate, size, tcfg.warmup_epochs, tcfg.lr_decay,
                               tcfg.epochs)
            tf.keras.backend.set_value(optimizer.lr, lr)
            x, y = next(sampler)
            reseed(generators, tcfg.seed, rank, step)
            batch_loss = train_step(model, loss, x, y, comm, size)
            losses.append(batch_loss)
            if rank == 0:
                steps_log.append({"step": step, "epoch": epoch, "lr": f"{lr:.8g}", "loss": f"{batch_loss:.6f}",
                                  "batch_digest": _digest(x, y)})
                if (batch + 1) % config.output.log_every == 0 or batch + 1 == steps_per_epoch:
                    rate = size * tcfg.batch_size * (batch + 1) / (time.perf_counter() - t0)
                    say(f"epoch {epoch + 1}/{tcfg.epochs} batch {batch + 1}/{steps_per_epoch}: loss {batch_loss:.4f}, "
                        f"lr {lr:.2e}, {rate:.1f} patches/s")
            if batch + 1 < steps_per_epoch and stop_requested(comm):  # the epoch's last batch: stop after it
                if rank == 0:
                    _rewrite_csv(run_dir / "steps.csv", _STEP_FIELDS, steps_log)
                    save_checkpoint(checkpoint_path, model.get_weights(), optimizer.get_weights(),
                                    {"epoch": epoch - 1, "best_kappa": best_kappa, "best_epoch": best_epoch,
                                     "sampler": sampler.state_dict(), "step": step + 1, "selection": tcfg.selection,
                                     "spec": spec, "partial_epoch": {"losses": losses,
                                                                     "seconds": time.perf_counter() - t0}})
                _stop(comm, f"stopped by {received_signal_name()} after step {step + 1} (epoch {epoch + 1}, "
                      f"batch {batch + 1}/{steps_per_epoch}): {checkpoint_path} written; rerun with --resume")
        seconds = time.perf_counter() - t0
        batches = (sampler.validation_windows() if tcfg.validation == "all_pixels"
                   else ((x, y, None) for x, y in sampler.validation_batches(tcfg.validation_batches)))
        scores = validate(model, batches, len(sampler.class_codes), comm, settings, halves)
        oa, kappa = scores[tcfg.selection]
        row = {"epoch": epoch + 1, "loss": float(np.mean(losses)), "lr": lr, "val_overall_accuracy": oa,
               **{_KAPPA_OF[setting]: scores[setting][1] for setting in settings},
               **({f"val_kappa_half{h}": scores[f"{tcfg.selection}_half{h}"][1] for h in (0, 1)} if halves else {}),
               "patches_per_second": size * tcfg.batch_size * steps_per_epoch / seconds, "seconds": seconds}
        last = row
        say(f"epoch {epoch + 1}/{tcfg.epochs}: loss {row['loss']:.4f}, lr {lr:.2e}, "
            f"{row['patches_per_second']:.1f} patches/s, validation OA {oa:.3f} kappa {kappa:.3f}"
            + ("" if tcfg.selection == "none" else f" (prior-corrected, {tcfg.selection})"))
        improved = kappa > best_kappa  # the same on every rank: kappa comes from the summed confusion matrices
        if improved:
            best_kappa, best_epoch = kappa, epoch + 1
        plateau = tcfg.patience is not None and epoch + 1 - best_epoch >= tcfg.patience
        if rank == 0:
            history.append(row)
            _write_epoch(run_dir, history, steps_log, writer, row)
            epoch_meta = _with_extra(metadata, epoch=epoch + 1, val_kappa=kappa, val_overall_accuracy=oa,
                                     selection=tcfg.selection)
            if improved:
                save_model(run_dir / "best_model.h5", model, epoch_meta)
            for setting, best in others.items():
                if scores[setting][1] > best:
                    others[setting] = scores[setting][1]
                    save_model(run_dir / f"best_model_{setting}.h5", model,
                               _with_extra(metadata, epoch=epoch + 1, val_kappa=scores[setting][1],
                                           val_overall_accuracy=scores[setting][0], selection=setting))
            save_checkpoint(checkpoint_path, model.get_weights(), optimizer.get_weights(),
                            {"epoch": epoch, "best_kappa": best_kappa, "best_epoch": best_epoch,
                             "sampler": sampler.state_dict(), "step": (epoch + 1) * steps_per_epoch,
                             "selection": tcfg.selection, "spec": spec})
            if epoch + 1 == tcfg.epochs or plateau:
                save_model(run_dir / "final_model.h5", model, epoch_meta)
        if comm is not None:
            comm.Barrier()  # a checkpoint is complete before any rank goes on
        if plateau:
            say(f"validation kappa has not improved for {tcfg.patience} epochs: stopping at epoch {epoch + 1} "
                f"(best: epoch {best_epoch}, kappa {best_kappa:.3f})")
            break
        if epoch + 1 < tcfg.epochs and stop_requested(comm):
            _stop(comm, f"stopped by {received_signal_name()} after epoch {epoch + 1}: {checkpoint_path} written; "
                  "rerun with --resume")
    sampler.close()
    if writer is not None:
        writer.close()
    return last


def _stop(comm, message: str) -> None:
    """Raise StopRequested on every rank once rank 0's checkpoint is complete."""
    if comm is not None:
        comm.Barrier()
    raise StopRequested(message)


def _with_extra(metadata, **extra):
    import dataclasses

    return dataclasses.replace(metadata, extra={**metadata.extra, **extra})


def train_step(model, loss, x: np.ndarray, y: np.ndarray, comm, size: int) -> float:
    """One synchronous step on this rank's batch; returns the global batch's loss (same on every rank)."""
    n_local = int(np.count_nonzero(y))
    n_global = _allreduce(comm, np.array([n_local], np.int64))[0]
    loss.scale.assign(size * n_local / n_global if n_global else 0.0)
    value = float(model.train_on_batch(x, y))
    return float(_allreduce(comm, np.array([value]))[0] / size)


def _allreduce(comm, values: np.ndarray) -> np.ndarray:
    if comm is None:
        return values
    from mpi4py import MPI

    out = np.empty_like(values)
    comm.Allreduce(values, out, op=MPI.SUM)
    return out


def validate(model, batches, n_classes: int, comm, settings=None,
             halves: dict[str, int] | None = None) -> dict[str, tuple[float, float]]:
    """Overall accuracy and kappa of each map setting over the validation batches of all ranks (identical on
    every rank).

    Args:
        batches: (x, y, tile) with y the class indices 0..K (0: not scored) and ``tile`` the batch's
            :class:`~landcover_hpc.sampling.tiles.TilePatches` (None for patches of several tiles).
        settings: map setting -> None (the network's argmax) or a function of the batch's tile giving the (K,)
            prior-correction weights its posteriors are reweighed by (``sampling.prior.reweigh``) before the
            argmax; default: ``{"none": None}``. The same on every rank.
        halves: tile id -> 0 or 1 (batches with a tile only): each setting is also scored on the validation
            pixels of each half of the tiles, as ``"SETTING_half0"`` and ``"SETTING_half1"``; an epoch picked on
            one half and scored on the other is free of the selection's own upward bias.
    """
    from ..evaluation.metrics import confusion_matrix, scores_from_confusion
    from ..models import forward_function
    from ..sampling.prior import reweigh

    settings = settings or {"none": None}
    forward = forward_function(model)  # traced once, unlike predict_on_batch's dataset per call (1.6x faster)
    parts = 3 if halves else 1  # every tile, then each half
    cms = np.zeros((len(settings), parts, n_classes, n_classes), np.int64)
    for x, y, tile in batches:
        probabilities = np.asarray(forward(x), np.float32)
        for i, weights in enumerate(settings.values()):
            scores = probabilities if weights is None else reweigh(probabilities, weights(tile))
            cm = confusion_matrix(y, np.argmax(scores, axis=-1) + 1, n_classes)
            cms[i, 0] += cm
            if halves:
                cms[i, 1 + halves[tile.tile_id]] += cm
    cms = _allreduce(comm, cms)
    names = [[setting, f"{setting}_half0", f"{setting}_half1"][:parts] for setting in settings]
    return {name: (s["overall_accuracy"], s["kappa"])
            for setting_names, setting_cms in zip(names, cms)
            for name, s in zip(setting_names, map(scores_from_confusion, setting_cms))}


def _validation_settings(sampler, global_weights: np.ndarray, validation: str) -> dict:
    """:func:`validate`'s settings: the map as trained, at the training objects' mix (``global_weights``) and,
    when the batches know their tile (``validation`` all_pixels), at each tile's own (``sampling.prior``)."""
    from ..sampling.prior import prior_weights, tile_reference_prior

    settings = {"none": None, "global": lambda tile: global_weights}
    if validation == "all_pixels":
        per_tile = {}  # tile id -> weights, computed at the tile's first batch

        def tile_weights(tile) -> np.ndarray:
            if tile.tile_id not in per_tile:
                try:
                    reference = tile_reference_prior(tile.store, sampler.class_codes)
                except InputFormatError:  # every object of the tile went to validation: map it at the global mix
                    per_tile[tile.tile_id] = global_weights  # (not raised: the other ranks would wait for this one)
                else:
                    per_tile[tile.tile_id] = prior_weights(sampler.label_prior, reference)
            return per_tile[tile.tile_id]

        settings["tile"] = tile_weights
    return settings


def _validation_set(sampler, tcfg, comm) -> str:
    """What the per-epoch validation scores, in words; raises InputFormatError on every rank when it would
    score nothing."""
    if tcfg.validation == "patches":
        sampler.plan(0, validation=True)  # raises on every rank without a validation position anywhere
        return f"{tcfg.validation_batches} batches of patches per rank from the validation objects"
    windows = int(_allreduce(comm, np.array([sampler.n_validation_windows()], np.int64))[0])
    if windows == 0:
        raise InputFormatError(f"{sampler.store_dir}: no validation pixel in any tile: validation is impossible; "
                               "prepare with a larger --val-fraction")
    return (f"every validation pixel, {windows} windows of {sampler.patch_size} px "
            f"({windows * sampler.patch_size ** 2 / 1e6:.2f} M px) per epoch")


def _open_logs(run_dir: Path, config: Config, start_epoch: int, start_step: int):
    """(history rows of the epochs before ``start_epoch``, steps.csv rows before ``start_step``, writer)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(run_dir / "config.yaml", yaml.safe_dump(config.to_dict(), sort_keys=False))
    history = [r for r in _read_csv(run_dir / "history.csv") if int(r["epoch"]) <= start_epoch]
    steps = [r for r in _read_csv(run_dir / "steps.csv") if int(r["step"]) < start_step]
    return history, steps, tf.summary.create_file_writer(str(run_dir / "tensorboard"))


def _write_epoch(run_dir: Path, history: list[dict], steps: list[dict], writer, row: dict) -> None:
    _rewrite_csv(run_dir / "history.csv", _HISTORY_FIELDS, history)
    _rewrite_csv(run_dir / "steps.csv", _STEP_FIELDS, steps)
    with writer.as_default():
        for key in ("loss", "lr", "val_overall_accuracy", "val_kappa", "val_kappa_prior", "val_kappa_prior_tile",
                    "patches_per_second"):
            if key in row:
                tf.summary.scalar(key, row[key], step=row["epoch"])
    writer.flush()
