"""The production chain on synthetic tiles at a given extent: time, throughput and peak memory per step, and
peak memory against the tile size.

    .venv/bin/python benchmarks/bench_scale.py --sizes 1024 4096 10980 [--tiles 2] [--dates 3]
        [--steps synth prepare sample predict mosaic] [--predict-windows 0] [--work DIR] [--json out.json]

Per tile size, the steps run one after the other, each in a child process of its own (this script with
``--child STEP``), so that its peak resident memory is the child's ``ru_maxrss`` (``os.wait4``) and one step's
memory is never counted in the next:

- synth: the tiles' inputs (stack.tif with T dates x 10 bands, reference.gpkg), in two UTM zones (T30TYN and
  T31TCJ overlap; ``--tiles`` up to 4). Up to ``--seed-size`` px (default 1024) by ``landcover-synth``
  (``synthesize_tile``, ~60 s and ~2 GB per 1024 px tile: it holds the whole landscape in memory, so it does
  not scale to 10980 px); above it, "tiled": the seed-size synth tile of the same id copied over the larger
  grid, stack written window by window, reference polygons shifted to each copy. The data is then periodic,
  which changes none of the timed work;
- prepare: ``prepare_dataset`` (paper options: 64 px patches, stride 16), every tile into its HDF5 store;
- sample: training patches read on demand from the stores (``PatchSampler``, ``memory_budget=0``, one
  process), ``--batches`` batches of b = 8 patches of 64 px;
- predict: an untrained FG-UNET for T dates (its speed does not depend on its weights), every window of every
  tile (512 px, 16 px overlap: 529 windows at 10980 px) through ``predict_tile``; ``--predict-windows N``:
  the model on the first N windows of each tile only (timed; tile px/s = computed px / overlap factor), the
  other windows given a constant class (untimed), so the maps are complete for the mosaic and the memory
  peak is still that of a whole pass over the tile;
- mosaic: ``mosaic_maps`` of the tiles' maps into EPSG:2154 at 10 m.

Reports a Markdown table (seconds inside the step, px, px/s, the child's CPU seconds (user + system: what the
step costs on a loaded machine) against its wall seconds, peak RSS, load average before and after) and a
table of peak RSS per step against the tile size, and writes everything to ``--json``. The machine may be
shared: the load average is in the table, and throughputs under load are lower bounds.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TILES = ("T30TYN", "T31TCJ", "T30TXN", "T31TDJ")  # two by two in UTM zones 30 and 31, overlapping
STEPS = ("synth", "prepare", "sample", "predict", "mosaic")
PATCH, STRIDE, BATCH = 64, 16, 8


def _rss_mb() -> float:
    """This process's resident memory now, MB (VmRSS)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _dirs(work: Path, size: int, dates: int) -> dict[str, Path]:
    base = work / f"{size}px_T{dates}"
    return {"inputs": base / "inputs", "stores": base / "stores", "maps": base / "maps", "mosaic": base / "mosaic",
            "seed": work / f"seed_T{dates}"}


def _shift(coords, dx: float, dy: float):
    if isinstance(coords[0], (int, float)):
        return (coords[0] + dx, coords[1] + dy)
    return [_shift(c, dx, dy) for c in coords]


def tiled_copy(seed_dir: Path, out_dir: Path, size: int, block: int = 512, compress: bool = True) -> None:
    """Write ``out_dir`` (stack.tif, reference.gpkg) as copies of the smaller tile ``seed_dir`` over a
    ``size`` px grid with the same origin, block by block (memory: the seed's stack and one block); the
    stack DEFLATE level 1 (as the gap-filling writer's) or, ``compress`` False, uncompressed."""
    import fiona
    import rasterio
    from rasterio.windows import Window

    from landcover_hpc.io import atomic_path

    out_dir.mkdir(parents=True, exist_ok=True)
    with rasterio.open(seed_dir / "stack.tif") as src:
        seed, profile, descriptions = src.read(), src.profile, src.descriptions
        transform = src.transform
    s = seed.shape[1]
    # DEFLATE level 1, as the gap-filling writer's stacks (landcover-synth's default level is 6: 3x slower)
    profile.update(width=size, height=size, blockxsize=block, blockysize=block, BIGTIFF="YES", zlevel=1)
    if not compress:
        for key in ("compress", "predictor", "zlevel"):
            profile.pop(key, None)
    with atomic_path(out_dir / "stack.tif") as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            for i, d in enumerate(descriptions):
                dst.set_band_description(i + 1, d)
            for r0 in range(0, size, block):
                rows = np.arange(r0, min(size, r0 + block)) % s
                for c0 in range(0, size, block):
                    cols = np.arange(c0, min(size, c0 + block)) % s
                    dst.write(seed[:, rows][:, :, cols], window=Window(c0, r0, len(cols), len(rows)))
    copies = range((size + s - 1) // s)
    with fiona.open(seed_dir / "reference.gpkg") as src:
        schema, crs_wkt = src.schema, src.crs_wkt
        features = [(f["geometry"]["type"], f["geometry"]["coordinates"], dict(f["properties"])) for f in src]
    n_objects = max(p["object"] for _, _, p in features) + 1
    with atomic_path(out_dir / "reference.gpkg") as tmp:
        tmp.unlink(missing_ok=True)  # the GPKG driver will not write over a file
        with fiona.open(tmp, "w", driver="GPKG", schema=schema, crs_wkt=crs_wkt, layer="reference") as dst:
            for i in copies:
                for j in copies:
                    dx, dy, k = j * s * transform.a, i * s * transform.e, i * len(copies) + j
                    dst.writerecords({"geometry": {"type": kind, "coordinates": _shift(coords, dx, dy)},
                                      "properties": {**props, "object": props["object"] + k * n_objects}}
                                     for kind, coords, props in features)


def step_synth(args, d: dict[str, Path], tiles: list[str]) -> dict:
    from landcover_hpc.nomenclature import load_nomenclature
    from landcover_hpc.synth import SynthOptions, synthesize_tile

    nomenclature = load_nomenclature()
    options = lambda size: SynthOptions(size=size, n_dates=args.dates, sentinel1=False, seed=1)  # noqa: E731
    seeds = 0.0
    method = "landcover-synth" if args.size <= args.seed_size else \
        f"tiled copies of a {args.seed_size} px synth tile, stack {'DEFLATE 1' if args.compress_inputs else 'raw'}"
    start = time.perf_counter()
    for tile in tiles:
        if args.size <= args.seed_size:
            synthesize_tile(d["inputs"], tile, nomenclature, options(args.size))
            continue
        if not (d["seed"] / tile / "stack.tif").is_file():
            t0 = time.perf_counter()
            synthesize_tile(d["seed"], tile, nomenclature, options(args.seed_size))
            seeds += time.perf_counter() - t0
        tiled_copy(d["seed"] / tile, d["inputs"] / tile, args.size, compress=args.compress_inputs)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "pixels": args.size**2 * len(tiles), "method": method,
            "note": f"of which {seeds:.0f} s synthesising the seed tiles" if seeds else ""}


def step_prepare(args, d: dict[str, Path], tiles: list[str]) -> dict:
    from landcover_hpc.data import PrepareOptions, prepare_dataset
    from landcover_hpc.nomenclature import load_nomenclature

    start = time.perf_counter()
    prepare_dataset(d["inputs"], d["stores"], load_nomenclature(), PrepareOptions(patch_size=PATCH, stride=STRIDE),
                    tiles=tiles, force=True)
    seconds = time.perf_counter() - start
    store_bytes = sum((d["stores"] / f"{t}.h5").stat().st_size for t in tiles)
    return {"seconds": seconds, "pixels": args.size**2 * len(tiles), "note": f"stores {store_bytes / 1e9:.2f} GB"}


def step_sample(args, d: dict[str, Path], tiles: list[str]) -> dict:
    from landcover_hpc.sampling import PatchSampler, SamplerOptions

    with PatchSampler(d["stores"], None, SamplerOptions(batch_size=BATCH, memory_budget=0), tiles=tiles) as sampler:
        on_demand = not any(t.in_memory for t in sampler.local.values())
        sampler.batch(0)  # opens the stores' datasets
        start = time.perf_counter()
        for i in range(1, args.batches + 1):
            sampler.batch(i)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "pixels": args.batches * BATCH * PATCH**2,
            "note": f"{args.batches} batches of {BATCH} x {PATCH} px, {1e3 * seconds / args.batches:.0f} ms/batch, "
                    f"{'read on demand' if on_demand else 'IN MEMORY'}"}


def _model(path: Path, store_path: Path) -> Path:
    """An untrained FG-UNET for the stores' dates and bands (cached); its speed does not depend on its weights."""
    if path.is_file():
        return path
    from landcover_hpc.data import TileStore
    from landcover_hpc.data.prepare import dataset_percentiles
    from landcover_hpc.models import ModelMetadata, get_model, save_model

    with TileStore(store_path) as store:
        # the paper's groups of 3 dates (11 groups for 33 dates)
        groups = store.n_dates // 3 if store.n_dates % 3 == 0 else 1
        model = get_model("fgunet", store.n_dates, store.n_bands, len(store.class_codes), n_groups=groups)
        meta = ModelMetadata(band_names=store.bands, class_codes=store.class_codes,
                             percentiles=dataset_percentiles([store]), nomenclature=store.nomenclature.to_dict(),
                             dates=store.dates)
    save_model(path, model, meta)
    return path


class _FirstWindows:
    """The model for the first ``n`` windows of a tile (``--predict-windows``), then a constant class, so that
    the tile's maps are complete (the mosaic's input) while only the model's windows are timed; the memory
    peak is still that of the whole tile's pass (reading, writing every window)."""

    def __init__(self, classifier, n: int) -> None:
        self._classifier, self._left, self.stopped_at = classifier, n, None

    def __getattr__(self, name):
        return getattr(self._classifier, name)

    def classify(self, prepared):
        from landcover_hpc.prediction.produce import maps_from_probabilities

        if self._left > 0:
            self._left -= 1
            return self._classifier.classify(prepared)
        if self.stopped_at is None:
            self.stopped_at = time.perf_counter()
        x, valid = prepared
        probs = np.zeros((*valid.shape, len(self.meta.class_codes)), np.float32)
        probs[..., 0] = 1.0
        return maps_from_probabilities(probs, valid, self.meta.class_codes)


def step_predict(args, d: dict[str, Path], tiles: list[str]) -> dict:
    from landcover_hpc.data import TileStore
    from landcover_hpc.models import load_model
    from landcover_hpc.prediction import PredictOptions, plan_windows, predict_tile
    from landcover_hpc.prediction.predictor import KerasClassifier
    from landcover_hpc.prediction.produce import produce_maps

    model_path = _model(args.work / f"fgunet_T{args.dates}.h5", d["stores"] / f"{tiles[0]}.h5")
    options = PredictOptions(precision=args.precision, force=True, quicklook=False)
    windows = plan_windows(args.size, args.size, options.window, options.overlap)
    factor = sum(w.height * w.width for w in windows) / args.size**2
    loaded = load_model(model_path, precision=args.precision)
    n = args.predict_windows if 0 < args.predict_windows < len(windows) else 0
    seconds, whole = 0.0, 0.0
    for tile in tiles:
        start = time.perf_counter()
        if not n:
            predict_tile(d["stores"] / f"{tile}.h5", model_path, d["maps"], options, loaded=loaded)
            seconds += time.perf_counter() - start
            continue
        with TileStore(d["stores"] / f"{tile}.h5") as store:
            classifier = _FirstWindows(KerasClassifier(*loaded, args.precision), n)
            produce_maps(store, classifier, model_path, d["maps"], options, show_progress=False)
        seconds += classifier.stopped_at - start
        whole += time.perf_counter() - start
    done = n or len(windows)
    computed = sum(w.height * w.width for w in windows[:done]) * len(tiles)
    return {"seconds": seconds, "pixels": computed / factor,
            "note": f"{done} of {len(windows)} windows x {len(tiles)} tiles, {args.precision}, {factor:.3f} computed "
                    "px per tile px" + ("" if not n else f"; model on the first {n} windows of each tile, the rest "
                                        f"a constant class: whole pass {whole:.0f} s")}


def step_mosaic(args, d: dict[str, Path], tiles: list[str]) -> dict:
    from landcover_hpc.nomenclature import load_nomenclature
    from landcover_hpc.prediction.mosaic import mosaic_maps

    maps = [d["maps"] / f"{t}_classes.tif" for t in tiles]
    start = time.perf_counter()
    out = mosaic_maps(maps, d["mosaic"] / "mosaic", load_nomenclature(), crs="EPSG:2154", show_progress=False)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "pixels": out["height"] * out["width"],
            "note": f"EPSG:2154 mosaic {out['width']} x {out['height']} px (px/s: mosaic px)"}


def child(args) -> None:
    d = _dirs(args.work, args.size, args.dates)
    tiles = list(TILES[:args.tiles])
    result = {"rss_after_imports_mb": 0.0}
    import numpy  # noqa: F401  the baseline: what every step imports anyway
    import rasterio  # noqa: F401

    result["rss_after_imports_mb"] = _rss_mb()
    result.update(globals()[f"step_{args.child}"](args, d, tiles))
    print(json.dumps(result), flush=True)


def run_step(args, step: str, size: int) -> dict:
    """Run one step in a child process; its result with the child's peak RSS and the load average."""
    command = [args.python, __file__, "--child", step, "--size", str(size), "--tiles", str(args.tiles),
               "--dates", str(args.dates), "--work", str(args.work), "--batches", str(args.batches),
               "--precision", args.precision, "--predict-windows", str(args.predict_windows),
               "--seed-size", str(args.seed_size)] + ([] if args.compress_inputs else ["--raw-inputs"])
    print(f"$ {' '.join(map(shlex.quote, command))}", file=sys.stderr, flush=True)
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(command, stdout=out, stderr=err if args.quiet else None, text=True)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage, not the maximum over all children
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        lines, errors = out.read().strip().splitlines(), err.read()
    row = {"size": size, "step": step, "tiles": args.tiles, "dates": args.dates, "wall_s": time.perf_counter() - start,
           "peak_rss_mb": usage.ru_maxrss / 1024, "cpu_s": usage.ru_utime + usage.ru_stime, "load_before": load_before, "load_after": os.getloadavg()[0],
           "returncode": proc.returncode}
    if proc.returncode != 0 or not lines:
        row["error"] = errors[-2000:] or f"exit {proc.returncode}"
        return row
    row.update(json.loads(lines[-1]))
    row["px_per_s"] = row["pixels"] / row["seconds"] if row["seconds"] > 0 else 0.0
    return row


def report(rows: list[dict], args) -> str:
    lines = ["| size px | step | tiles | s (in step) | px | px/s | child CPU s / wall s | peak RSS MB | load 1 min "
             "before/after | notes |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['size']} | {r['step']} | {r['tiles']} | failed | | | | {r['peak_rss_mb']:,.0f} | "
                         f"{r['load_before']:.1f}/{r['load_after']:.1f} | {r['error'].splitlines()[-1][:200]} |")
            continue
        note = "; ".join(x for x in (r.get("method", ""), r.get("note", "")) if x)
        cpu = f"{r['cpu_s']:.0f}" if "cpu_s" in r else "n/a"
        lines.append(f"| {r['size']} | {r['step']} | {r['tiles']} | {r['seconds']:.1f} | {r['pixels']:,.0f} | "
                     f"{r['px_per_s']:,.0f} | {cpu} / {r['wall_s']:.0f} | "
                     f"{r['peak_rss_mb']:,.0f} | {r['load_before']:.1f}/{r['load_after']:.1f} "
                     f"| {note} |")
    sizes = sorted({r["size"] for r in rows})
    steps = [s for s in STEPS if any(r["step"] == s for r in rows)]
    peak = {(r["size"], r["step"]): r for r in rows}
    lines += ["", "Peak resident memory per step (MB) against the tile size:", "",
              "| step | " + " | ".join(f"{s} px" for s in sizes) + " |", "|---|" + "---|" * len(sizes)]
    for step in steps:
        cells = []
        for s in sizes:
            r = peak.get((s, step))
            cells.append("" if r is None else f"{r['peak_rss_mb']:,.0f}" + (" (failed)" if "error" in r else ""))
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096])
    p.add_argument("--tiles", type=int, default=2, choices=range(1, len(TILES) + 1),
                   help="tiles per size (T30TYN, T31TCJ, T30TXN, T31TDJ: zones 30 and 31 alternate)")
    p.add_argument("--dates", type=int, default=3, help="T: Sentinel-2 dates (10 bands each)")
    p.add_argument("--steps", nargs="+", default=list(STEPS), choices=STEPS)
    p.add_argument("--batches", type=int, default=20, help="sampler batches timed")
    p.add_argument("--precision", default="bfloat16", choices=("float32", "bfloat16"))
    p.add_argument("--predict-windows", type=int, default=0, help="windows predicted per tile (0: all)")
    p.add_argument("--seed-size", type=int, default=1024, help="largest size made by landcover-synth itself")
    p.add_argument("--raw-inputs", dest="compress_inputs", action="store_false",
                   help="tiled stacks uncompressed (faster to write and to prepare; default DEFLATE level 1)")
    p.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "landcover_bench_scale")
    p.add_argument("--json", type=Path, default=None, help="write the rows here (default: WORK/bench_scale.json)")
    p.add_argument("--quiet", action="store_true", help="keep the steps' stderr (progress) off the console")
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--child", choices=STEPS, help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args)
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in args.sizes:
        for step in [s for s in STEPS if s in args.steps]:
            rows.append(run_step(args, step, size))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    table = report(rows, args)
    print(f"\n`{' '.join(map(shlex.quote, sys.argv))}` ({os.cpu_count()} cores)\n\n{table}")
    from landcover_hpc.io import write_json_atomic

    write_json_atomic(args.json or args.work / "bench_scale.json",
                      {"command": sys.argv, "cores": os.cpu_count(), "rows": rows})
    return 0 if all("error" not in r for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
