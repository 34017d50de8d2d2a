"""What FG-UNET's context branch adds to its maps: each branch's share of the logits, and the maps' speckle.

FG-UNET's logits are one linear 1x1 layer over the concatenation, in each temporal group, of its U-Net body
(the context branch, 32 features) and its 1x1 path (the per-pixel branch, 50 features). For each ``--model``,
the model runs in float32 on one window of a tile of the store (the whole tile up to ``--window`` px, from its
top-left corner) and the script prints, per branch:
- ``first layer dead``: the channels of its first layer (the 3 x 3 or 1 x 1 convolution over a group's dates
  and bands) that are zero on every pixel of the window (ReLUs that never fire);
- ``dead``: its output channels that are zero on every pixel of the window;
- ``logit sd``: the standard deviation over the pixels of the branch's contribution to the logits (its
  features times its rows of the logits' weights, summed over the groups), mean over the classes. A branch
  whose contribution does not vary from pixel to pixel does not move the map.
For each ``--map``, the share of the map's interior pixels whose class differs from all four neighbours
(isolated pixels: the speckle a per-pixel classifier leaves).

    .venv/bin/python benchmarks/fgunet_branches.py --store benchmark_output/store --tile T31UDQ \\
        --model s0=benchmark_output/runs/fgunet_s0/best_model.h5 \\
        --map FG-UNET=benchmark_output/maps/fgunet_s0/T31UDQ_classes.tif
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from landcover_hpc.config.flags import name_value


def isolated_share(classes: np.ndarray) -> tuple[float, int]:
    """Share and count of the interior pixels of a class map that differ from their 4 neighbours."""
    core = classes[1:-1, 1:-1]
    isolated = ((core != classes[:-2, 1:-1]) & (core != classes[2:, 1:-1])
                & (core != classes[1:-1, :-2]) & (core != classes[1:-1, 2:]))
    return float(isolated.mean()), int(isolated.sum())


def branch_contributions(model_path: Path, store, window: int) -> dict:
    """Dead channels and logit sd of the U-Net body and the 1x1 path of an FG-UNET file on one window."""
    import tensorflow as tf

    from landcover_hpc.models import load_model
    from landcover_hpc.models.architectures import POINTWISE_FILTERS, UNET_FILTERS
    from landcover_hpc.prediction.predictor import KerasClassifier
    from landcover_hpc.prediction.produce import read_padded
    from landcover_hpc.prediction.windows import PredictionWindow

    model, meta = load_model(model_path, precision="float32")
    if meta.spec is None or meta.spec.architecture != "fgunet":
        raise SystemExit(f"{model_path}: not an FG-UNET model file (architecture "
                         f"{meta.spec.architecture if meta.spec else None!r})")
    height, width = min(window, store.height), min(window, store.width)
    height, width = height - height % 4, width - width % 4  # the U-Net's two poolings
    area = PredictionWindow(index=0, row=0, col=0, height=height, width=width, core_row=0, core_col=0,
                            core_height=height, core_width=width)
    classifier = KerasClassifier(model, meta)
    x, _ = classifier.prepare(*read_padded(store, area), 0)
    groups = tf.keras.Model(model.input, model.get_layer("temporal_groups").output)(x[None])
    body = model.get_layer("group_body")
    branches = tf.keras.Model(body.input, [body.get_layer(name).output for name in (
        "unet_up0_b", f"pointwise{len(POINTWISE_FILTERS) - 1}", "unet_down0_a", "pointwise0")])
    # (G, h, w, 32), (G, h, w, 50), and the first layers' (G, h, w, 32), (G, h, w, 200)
    unet, pointwise, unet_first, pointwise_first = (t.numpy() for t in branches(groups, training=False))
    n_groups, n_unet = unet.shape[0], UNET_FILTERS[0]
    weights = model.get_layer("logits").get_weights()[0][0, 0]  # (G * 82, K), group-major
    weights = weights.reshape(n_groups, n_unet + POINTWISE_FILTERS[-1], -1)
    result = {"groups": n_groups}
    for name, features, first, rows in (("unet", unet, unet_first, weights[:, :n_unet]),
                                        ("pointwise", pointwise, pointwise_first, weights[:, n_unet:])):
        contribution = np.einsum("ghwf,gfk->hwk", features, rows).reshape(-1, rows.shape[-1])
        result[name] = {"channels": features.shape[0] * features.shape[-1], "dead": _dead(features),
                        "first_channels": first.shape[0] * first.shape[-1], "first_dead": _dead(first),
                        "logit_sd": float(contribution.std(axis=0).mean())}
    return result


def _dead(features: np.ndarray) -> int:
    """Channels of ``(G, h, w, F)`` ReLU outputs that are zero on every pixel, counted in every group."""
    return int((features.reshape(features.shape[0], -1, features.shape[-1]).max(axis=1) == 0).sum())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, help="the tile stores (landcover-prepare's --out), for --model")
    parser.add_argument("--tile", default="T31UDQ", help="the tile the models run on (default: T31UDQ)")
    parser.add_argument("--window", type=int, default=512, help="px, the window's side at most (default 512)")
    parser.add_argument("--model", action="append", default=[], metavar="NAME=PATH",
                        type=name_value("NAME=PATH", "s0=runs/fgunet_s0/best_model.h5"),
                        help="an FG-UNET model file")
    parser.add_argument("--map", action="append", default=[], metavar="NAME=PATH",
                        type=name_value("NAME=PATH", "s0=maps/fgunet_s0/T31UDQ_classes.tif"),
                        help="a *_classes.tif map")
    args = parser.parse_args(argv)
    models = [(name, Path(path)) for name, path in args.model]
    maps = [(name, Path(path)) for name, path in args.map]
    if not models and not maps:
        parser.error("give at least one --model or --map")
    if models:
        from landcover_hpc.data.store import TileStore

        if args.store is None:
            parser.error("--model needs --store")
        store = TileStore(args.store / f"{args.tile}.h5")
        print(f"| model ({args.tile}) | groups | U-Net body: first layer dead | dead channels | logit sd "
              "| 1x1 path: first layer dead | dead channels | logit sd |\n|---|---|---|---|---|---|---|---|")
        for name, path in models:
            r = branch_contributions(path, store, args.window)
            print(f"| {name} | {r['groups']} | "
                  + " | ".join(f"{b['first_dead']} of {b['first_channels']} | {b['dead']} of {b['channels']} | "
                               f"{b['logit_sd']:.2f}" for b in (r["unet"], r["pointwise"])) + " |")
    if maps:
        import rasterio

        print("\n| map | isolated pixels |\n|---|---|")
        for name, path in maps:
            with rasterio.open(path) as src:
                share, count = isolated_share(src.read(1))
            print(f"| {name} | {100 * share:.2f} % ({count} px) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
