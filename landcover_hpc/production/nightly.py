"""One production run over a list of tiles, into one output root (see :func:`run_production`).

Layout of the output root ``OUT``::

    store/<TILE>.h5                 tile stores (landcover-prepare)
    maps/<TILE>_classes.tif ...     tile maps and quicklooks (landcover-predict)
    eval/<TILE>_eval.json ...       scores on the tile's test objects (landcover-evaluate)
    mosaic/<NAME>_classes.tif ...   the mosaic in the target CRS (landcover-mosaic)
    report/<NAME>_quicklook.png     the mosaic's quicklook with its legend
    manifest.json                   inputs, versions, per-tile status and timings, peak memory
    report.md                       the run report

A run owns ``OUT`` (the lock of ``OUT/manifest.json``) from start to end. A run with ``mosaic=False`` (a
task of slurm/nightly.sh's tile array) runs only its tiles' steps: it takes no lock of ``OUT`` and writes no
mosaic, manifest or report, since each step locks its own output (the tile's store, its maps); tasks on other
tiles run beside it, and the run after them (``mosaic=True``) owns ``OUT``, skips their up-to-date steps and
reports. Each step decides itself whether it is up to date (a store whose inputs and options did not change,
a map whose signature matches); the run adds the decisions no single command takes: gap-fill only when a
tile's acquisitions are newer than its stack, evaluate only a new map, mosaic only when a tile map changed,
and the whole run does nothing when its fingerprint (every input's size and modification time, the model's
SHA-256, the settings, the software version) equals that of the last complete run. A tile that fails is
recorded with its one-line error and the run goes on with the others.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .. import __version__
from ..data.prepare import PrepareOptions
from ..errors import InputNotFoundError
from ..gapfill.tile import GapfillOptions
from ..interrupt import StopRequested
from ..io import file_sha256, read_json_file, write_json_atomic, write_text_atomic
from ..locks import locked_output
from ..nomenclature import Nomenclature
from ..prediction.predictor import PredictOptions
from ..progress import Progress, format_duration

__all__ = ["ProductionJob", "run_production", "production_paths", "production_tiles", "software_versions",
           "MANIFEST_FORMAT"]

MANIFEST_FORMAT = "landcover_hpc.production_manifest"
MANIFEST_VERSION = 1
DONE, SKIPPED, FAILED = "done", "skipped-up-to-date", "failed"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProductionJob:
    """What one production run makes, in plain values (``landcover-produce`` builds it from its config).

    Attributes:
        tiles: tile ids, in order; each is ``input_dir/<TILE>/`` (stack.tif + reference).
        acquisitions: ``<TILE>/YYYYMMDD/`` L2A acquisition folders to gap-fill from, or None.
        settings: the run's settings as plain values (part of the fingerprint and the manifest).
        input_files: other files the run reads (nomenclature, tile list), recorded in the manifest.
        mosaic: False: only the tiles' steps, without the lock of ``out_dir``, mosaic, manifest or report.
    """

    tiles: tuple[str, ...]
    input_dir: Path
    model: Path
    out_dir: Path
    nomenclature: Nomenclature
    prepare: PrepareOptions = PrepareOptions()
    predict: PredictOptions = PredictOptions()
    gapfill: GapfillOptions = GapfillOptions()
    acquisitions: Path | None = None
    crs: str | None = None
    resolution: float | None = None
    name: str = "mosaic"
    evaluate: bool = True
    mosaic: bool = True
    force: bool = False
    threads: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    input_files: dict[str, str] = field(default_factory=dict)


def production_paths(out_dir: str | Path, name: str = "mosaic") -> dict[str, Path]:
    """The folders and files of an output root (module docstring)."""
    out = Path(out_dir)
    return {"store": out / "store", "maps": out / "maps", "eval": out / "eval", "mosaic": out / "mosaic" / name,
            "mosaic_classes": out / "mosaic" / f"{name}_classes.tif", "manifest": out / "manifest.json",
            "report": out / "report.md", "quicklook": out / "report" / f"{name}_quicklook.png"}


def production_tiles(tiles: list[str] | None, tile_list: str | Path | None, input_dir: str | Path) -> tuple[str, ...]:
    """The tiles to produce: ``tiles``, else the ids of ``tile_list`` (one per line, ``#`` comments), else
    every tile folder of ``input_dir``; in order, each once."""
    from ..data.tiles import find_tiles
    from ..errors import ConfigError

    if tiles:
        found = list(tiles)
    elif tile_list is not None:
        path = Path(tile_list)
        if not path.is_file():
            raise InputNotFoundError(f"tile list {path} not found: give a text file of tile ids, one per line")
        found = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
        found = [t for t in found if t]
        if not found:
            raise ConfigError(f"tile list {path} names no tile: write one tile id per line")
    else:
        found = [p.name for p in find_tiles(input_dir)]
    return tuple(dict.fromkeys(found))


def software_versions() -> dict[str, str | None]:
    """Versions of the software that makes the maps (None: not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    import h5py
    import rasterio

    versions: dict[str, str | None] = {"landcover_hpc": __version__, "python": platform.python_version()}
    for name, distributions in (("tensorflow", ("tensorflow", "tensorflow-cpu")), ("numpy", ("numpy",)),
                                ("rasterio", ("rasterio",)), ("h5py", ("h5py",)), ("mpi4py", ("mpi4py",)),
                                ("horovod", ("horovod",))):
        versions[name] = None
        for distribution in distributions:
            try:
                versions[name] = version(distribution)
                break
            except PackageNotFoundError:
                continue
    versions["gdal"] = rasterio.__gdal_version__
    versions["hdf5"] = h5py.version.hdf5_version
    return versions


def _file_record(path: Path) -> dict[str, Any]:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return {"path": str(path), "missing": True}
    return {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _tree_record(folder: Path) -> dict[str, Any]:
    """Files, total size and newest modification time under ``folder``."""
    files, size, newest = 0, 0, 0
    for root, _, names in os.walk(folder):
        for name in names:
            stat = os.stat(os.path.join(root, name))
            files, size, newest = files + 1, size + stat.st_size, max(newest, stat.st_mtime_ns)
    return {"path": str(folder), "files": files, "size": size, "mtime_ns": newest}


def _inputs(job: ProductionJob) -> dict[str, Any]:
    """Every input of the run with its size and modification time (the model also with its SHA-256)."""
    tiles = {}
    for tile in job.tiles:
        folder = job.input_dir / tile
        files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")) \
            if folder.is_dir() else []
        tiles[tile] = [_file_record(p) for p in files] or [{"path": str(folder), "missing": True}]
    acquisitions = {}
    if job.acquisitions is not None:
        acquisitions = {t: _tree_record(job.acquisitions / t) for t in job.tiles if (job.acquisitions / t).is_dir()}
    return {"model": {**_file_record(job.model), "sha256": file_sha256(job.model)}, "tiles": tiles,
            "acquisitions": acquisitions, "files": {k: _file_record(Path(v)) for k, v in job.input_files.items()}}


def _fingerprint(inputs: dict[str, Any], job: ProductionJob) -> str:
    return hashlib.sha256(json.dumps([inputs, job.settings, list(job.tiles), __version__],
                                     sort_keys=True).encode()).hexdigest()


def _previous_manifest(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        manifest = read_json_file(path, "manifest", "it is rewritten by this run")
    except Exception:  # noqa: BLE001 - a damaged manifest only means the run does not know what was done
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("format") == MANIFEST_FORMAT else None


def run_production(job: ProductionJob, describe_error: Callable[[BaseException], str] | None = None) -> dict:
    """Produce the maps, mosaic, manifest and report of ``job`` in ``job.out_dir`` (module docstring).

    Args:
        describe_error: the one line recorded for a failed tile or mosaic (default: type and message).
    Returns:
        the manifest written (``result``: ``complete`` or ``partial``, ``failed``: the failed tiles), or
        ``{"result": "up-to-date", ...}`` when the run had nothing to do (nothing is written then); with
        ``job.mosaic`` False: ``{"result", "failed", "tiles"}`` (nothing written but the tiles' outputs).
    Raises:
        OutputBusyError: another run owns ``job.out_dir``; InputNotFoundError: no model file;
        StopRequested: a stop signal came during a prediction (rerun to resume).
    """
    describe = describe_error or (lambda exc: f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}")
    if not job.model.is_file():
        raise InputNotFoundError(f"model {job.model} not found: train one with landcover-train and give its "
                                 "best_model.h5 as model")
    paths = production_paths(job.out_dir, job.name)
    if not job.mosaic:
        tiles = _produce_tiles(job, paths, describe)
        failed = [t for t, r in tiles.items() if r["status"] == FAILED]
        result = "partial" if failed else "complete"
        log.info(f"{result} (tiles only): " + ", ".join(f"{t} {r['status']}" for t, r in tiles.items()))
        return {"result": result, "failed": failed, "tiles": tiles}
    with locked_output(paths["manifest"], f"the production run of {job.out_dir}"):
        previous = _previous_manifest(paths["manifest"])
        if previous is not None and not job.force and _up_to_date(previous, _fingerprint(_inputs(job), job), paths):
            log.info(f"up to date, nothing to do: {len(job.tiles)} tiles, inputs, model and settings unchanged since "
                     f"the run of {previous['finished']} (manifest {paths['manifest']}; force=true recomputes)")
            return {"result": "up-to-date", "failed": [], "manifest": str(paths["manifest"])}
        return _run(job, paths, previous, describe)


def _up_to_date(previous: dict, fingerprint: str, paths: dict[str, Path]) -> bool:
    return (previous.get("fingerprint") == fingerprint and previous.get("result") == "complete"
            and all(paths[k].is_file() for k in ("mosaic_classes", "report", "quicklook")))


def _run(job: ProductionJob, paths: dict[str, Path], previous: dict | None,
         describe: Callable[[BaseException], str]) -> dict:
    started, start = time.strftime("%Y-%m-%dT%H:%M:%S%z"), time.perf_counter()
    tiles = _produce_tiles(job, paths, describe)
    failed = [t for t, r in tiles.items() if r["status"] == FAILED]
    mosaic = _mosaic(job, paths, tiles, previous, describe)
    result = "partial" if failed or mosaic["status"] == FAILED else "complete"
    inputs = _inputs(job)  # after gap-filling: the stacks it wrote are the inputs the next run compares
    usage_self, usage_children = (resource.getrusage(w).ru_maxrss for w in
                                  (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    manifest = {
        "format": MANIFEST_FORMAT, "format_version": MANIFEST_VERSION, "started": started,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seconds": round(time.perf_counter() - start, 3),
        "result": result, "failed": failed, "fingerprint": _fingerprint(inputs, job),
        "settings": job.settings, "inputs": inputs, "software": software_versions(),
        # ru_maxrss is in KiB on Linux
        "peak_memory_mib": {"process": round(usage_self / 1024, 1), "children": round(usage_children / 1024, 1)},
        "tiles": tiles, "mosaic": mosaic, "report": str(paths["report"]),
    }
    write_text_atomic(paths["report"], _report(job, manifest, paths))
    write_json_atomic(paths["manifest"], manifest)
    counts = {s: sum(r["status"] == s for r in tiles.values()) for s in (DONE, SKIPPED, FAILED)}
    log.info(f"{result}: {counts[DONE]} tiles done, {counts[SKIPPED]} up to date, {counts[FAILED]} failed"
             f"{' (' + ', '.join(failed) + ')' if failed else ''}; mosaic {mosaic['status']}; "
             f"report {paths['report']}, manifest {paths['manifest']}")
    return manifest


def _produce_tiles(job: ProductionJob, paths: dict[str, Path], describe: Callable[[BaseException], str]) -> dict:
    """Each tile's steps, in order: ``{tile: record}`` (a failed tile is recorded, not raised)."""
    log.info(f"production of {len(job.tiles)} tiles into {job.out_dir} with model {job.model}"
             f"{'' if job.mosaic else ' (tiles only: no mosaic, manifest or report)'}")
    model = _ModelLoader(job)
    progress = Progress("produce", len(job.tiles), "tiles", interval=0.0, logger=log)
    tiles: dict[str, dict] = {}
    for tile in job.tiles:
        tiles[tile] = _produce_tile(job, tile, paths, model, describe)
        progress.update()
    return tiles


class _ModelLoader:
    """The model, loaded once, by the first tile that reaches prediction (none: TensorFlow is not even imported)."""

    def __init__(self, job: ProductionJob) -> None:
        self.job, self._loaded = job, None

    def __call__(self):
        if self._loaded is None:
            from ..models import load_model
            from ..runtime import configure_tensorflow

            configure_tensorflow(self.job.threads)
            self._loaded = load_model(self.job.model, precision=self.job.predict.precision)
        return self._loaded


def _produce_tile(job: ProductionJob, tile: str, paths: dict[str, Path], model: _ModelLoader,
                  describe: Callable[[BaseException], str]) -> dict:
    """Run a tile's steps; a failure is recorded (status failed, its one-line error) instead of raised."""
    record: dict[str, Any] = {"status": FAILED, "error": None, "steps": {}}
    step = "gapfill"
    try:
        for step, run_step in (("gapfill", _gapfill), ("prepare", _prepare), ("predict", _predict),
                               ("evaluate", _evaluate)):
            t0 = time.perf_counter()
            outcome = run_step(job, tile, paths, model, record)
            if outcome is not None:
                record["steps"][step] = {**outcome, "seconds": round(time.perf_counter() - t0, 3)}
                log.info(f"{tile} {step}: {outcome['status']} in {format_duration(time.perf_counter() - t0)}")
    except StopRequested:
        raise
    except Exception as exc:  # noqa: BLE001 - one tile's failure must not stop the others
        record["error"] = describe(exc)
        record["failed_step"] = step
        log.error(f"{tile} {step} failed: {record['error']}")
        return record
    record["status"] = DONE if any(s["status"] == DONE for s in record["steps"].values()) else SKIPPED
    return record


def _gapfill(job: ProductionJob, tile: str, paths, model, record) -> dict | None:
    if job.acquisitions is None or not (job.acquisitions / tile).is_dir():
        return None
    from ..gapfill.tile import gapfill_tile

    acquisitions, stack = job.acquisitions / tile, job.input_dir / tile / "stack.tif"
    if not job.force and stack.is_file() and _tree_record(acquisitions)["mtime_ns"] <= stack.stat().st_mtime_ns:
        return {"status": SKIPPED}
    summary = gapfill_tile(acquisitions, job.input_dir / tile, job.gapfill, show_progress=True)
    return {"status": DONE, "acquisitions": summary["acquisitions"], "dates": len(summary["dates"])}


def _prepare(job: ProductionJob, tile: str, paths, model, record) -> dict:
    from ..data.prepare import prepare_tile

    summary = prepare_tile(job.input_dir / tile, paths["store"] / f"{tile}.h5", job.nomenclature, job.prepare,
                           force=job.force, show_progress=True)
    return {"status": SKIPPED if summary["skipped"] else DONE, "store": summary["path"]}


def _predict(job: ProductionJob, tile: str, paths, model, record) -> dict:
    from ..prediction.predictor import predict_tile

    summary = predict_tile(paths["store"] / f"{tile}.h5", job.model, paths["maps"], job.predict, loaded=model())
    record["classes"] = summary["classes"]
    return {"status": SKIPPED if summary["skipped"] else DONE, "classes": summary["classes"]}


def _evaluate(job: ProductionJob, tile: str, paths, model, record) -> dict | None:
    """Scores on the tile's test objects; kept from the last run when the map did not change."""
    if not job.evaluate:
        return None
    from ..data.store import TileStore
    from ..evaluation import evaluate_map
    from ..evaluation.evaluate import evaluation_paths, load_evaluation

    with TileStore(paths["store"] / f"{tile}.h5") as store:
        test_pixels = int(store.class_counts("test").sum())
    if test_pixels == 0:
        return {"status": "not-applicable", "reason": "no test objects"}
    classes, result_path = Path(record["classes"]), evaluation_paths(paths["eval"], tile)["json"]
    map_unchanged = record["steps"]["predict"]["status"] == SKIPPED
    if map_unchanged and not job.force and result_path.is_file() \
            and result_path.stat().st_mtime_ns >= classes.stat().st_mtime_ns:
        result, status = load_evaluation(result_path), SKIPPED
    else:
        result, status = evaluate_map(classes, paths["store"], tile, paths["eval"]), DONE
    record.update(kappa=result["kappa"], overall_accuracy=result["overall_accuracy"])
    return {"status": status, "kappa": result["kappa"], "overall_accuracy": result["overall_accuracy"],
            "test_pixels": result["n_pixels"], "result": str(result_path)}


def _mosaic(job: ProductionJob, paths: dict[str, Path], tiles: dict[str, dict], previous: dict | None,
            describe: Callable[[BaseException], str]) -> dict:
    """The mosaic of the tiles that have a map, and its quicklook; kept when no tile map changed."""
    from ..maps import quicklook
    from ..prediction.mosaic import mosaic_maps

    mapped = [t for t, r in tiles.items() if r["status"] != FAILED]
    record: dict[str, Any] = {"status": FAILED, "tiles": mapped, "error": None, "crs": job.crs}
    t0 = time.perf_counter()
    try:
        if not mapped:
            raise InputNotFoundError("no tile has a map: nothing to mosaic (see the tiles' errors)")
        unchanged = (not job.force and all(tiles[t]["status"] == SKIPPED for t in mapped) and previous is not None
                     and previous.get("mosaic", {}).get("status") in (DONE, SKIPPED)
                     and previous["mosaic"].get("tiles") == mapped and paths["mosaic_classes"].is_file())
        if unchanged:
            record.update({k: previous["mosaic"].get(k) for k in ("classes", "confidence", "vrt", "width", "height")},
                          status=SKIPPED)
        else:
            summary = mosaic_maps([tiles[t]["classes"] for t in mapped], paths["mosaic"], job.nomenclature,
                                  crs=job.crs, resolution=job.resolution)
            record.update({k: summary[k] for k in ("classes", "confidence", "vrt", "width", "height")}, status=DONE)
        if record["status"] == DONE or not paths["quicklook"].is_file():
            quicklook(record["classes"], paths["quicklook"], job.nomenclature,
                      title=f"{job.name}: {len(mapped)} tiles")
        record["quicklook"] = str(paths["quicklook"])
    except StopRequested:
        raise
    except Exception as exc:  # noqa: BLE001 - recorded in the manifest and report; the run ends partial
        record["error"] = describe(exc)
        log.error(f"mosaic failed: {record['error']}")
    record["seconds"] = round(time.perf_counter() - t0, 3)
    log.info(f"mosaic: {record['status']} ({len(mapped)} tiles) in {format_duration(record['seconds'])}")
    return record


def _report(job: ProductionJob, manifest: dict, paths: dict[str, Path]) -> str:
    """The Markdown run report: mosaic quicklook and legend, per-tile status and kappa, failures, run facts."""
    tiles, mosaic = manifest["tiles"], manifest["mosaic"]
    counts = {s: sum(r["status"] == s for r in tiles.values()) for s in (DONE, SKIPPED, FAILED)}
    model = manifest["inputs"]["model"]
    lines = [f"# Land-cover production: {job.out_dir.name}", "",
             f"Run of {manifest['started']} to {manifest['finished']} ({format_duration(manifest['seconds'])}): "
             f"**{manifest['result']}**; {len(tiles)} tiles: {counts[DONE]} done, {counts[SKIPPED]} up to date, "
             f"{counts[FAILED]} failed.", "",
             f"Model `{job.model}` (SHA-256 `{model['sha256'][:16]}...`); software landcover_hpc "
             f"{manifest['software']['landcover_hpc']}; manifest `{paths['manifest'].name}`.", "", "## Mosaic", ""]
    if mosaic["status"] == FAILED:
        lines += [f"No mosaic: {mosaic['error']}", ""]
    else:
        quicklook_link = paths["quicklook"].relative_to(job.out_dir)
        lines += [f"![mosaic]({quicklook_link})", "",
                  f"`mosaic/{Path(mosaic['classes']).name}` ({mosaic['width']} x {mosaic['height']} px, "
                  f"CRS {job.crs or 'of the first map'}), {len(mosaic['tiles'])} tiles; {mosaic['status']}.", ""]
    lines += ["Legend:", "", "| code | class | colour |", "|---:|---|---|"]
    lines += [f"| {c.code} | {c.name} {c.long_name} | `#{''.join(f'{v:02x}' for v in c.rgb)}` |"
              for c in job.nomenclature.classes]
    lines += ["", "## Tiles", "", "| tile | status | kappa | OA | seconds per step | error |",
              "|---|---|---:|---:|---|---|"]
    for tile, r in tiles.items():
        steps = ", ".join(f"{k} {v['seconds']:.1f}" for k, v in r["steps"].items())
        kappa = f"{r['kappa']:.4f}" if r.get("kappa") is not None else ""
        accuracy = f"{r['overall_accuracy']:.4f}" if r.get("overall_accuracy") is not None else ""
        error = f"{r.get('failed_step')}: {r['error']}" if r["error"] else ""
        lines.append(f"| {tile} | {r['status']} | {kappa} | {accuracy} | {steps} | {error.replace('|', '/')} |")
    if manifest["failed"]:
        lines += ["", "## Failed tiles", ""] + [f"- {t}: {tiles[t]['error']}" for t in manifest["failed"]]
    memory = manifest["peak_memory_mib"]
    lines += ["", "## Run", "", f"- peak memory: {memory['process']:.0f} MiB (process), {memory['children']:.0f} MiB "
              "(largest child process)",
              "- software: " + ", ".join(f"{k} {v}" for k, v in manifest["software"].items() if v is not None), ""]
    return "\n".join(lines)
