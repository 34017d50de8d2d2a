"""Compare methods over tiles like the paper: per-tile kappa bars (Figure 6), per-class F-score bars of a
tile (Figure 7), geometric precision bars per tile (Figure 20), Markdown tables, and the demo's final report.

Evaluations are grouped as ``{method: {tile: [evaluation dict, ...]}}``; several evaluations of one method
and tile are repeated runs (other seeds), drawn as the mean with a standard-deviation error bar. Geometric
precision results (``landcover-geometry``) are grouped as ``{tile: result}``, the maps of a result being
the methods; their error bars are the standard deviation over reference maps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..errors import ConfigError, InputNotFoundError
from ..io import save_figure, write_text_atomic
from ..nomenclature import Nomenclature
from .evaluate import load_evaluation
from .geometry import load_geometry

__all__ = ["Evaluations", "collect_evaluations", "load_evaluations", "mean_std", "kappa_table", "fscore_table",
           "plot_kappa_per_tile", "plot_fscore_per_class", "collect_geometry", "geometry_table",
           "plot_geometry_per_tile", "compare_methods", "write_report"]

Evaluations = dict[str, dict[str, list[dict]]]


def _tile_files(folder: str | Path, suffix: str, tool: str, tiles: Sequence[str] | None, what: str = "") -> list[Path]:
    """The ``<TILE><suffix>`` files of a result folder (of ``tiles`` only, if given); none is an error that
    names the folder and the ``tool`` that writes them."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputNotFoundError(f"result folder {folder}{what} not found: run {tool} --out {folder} first")
    files = [f for f in sorted(folder.glob(f"*{suffix}")) if not tiles or f.name[: -len(suffix)] in tiles]
    if not files:
        raise InputNotFoundError(f"no <TILE>{suffix} in {folder}{what}: run {tool} --out {folder} first")
    return files


def collect_evaluations(pairs: Sequence[tuple[str, str | Path]], tiles: Sequence[str] | None = None) -> Evaluations:
    """Read ``<TILE>_eval.json`` files of ``(method, folder)`` pairs; a method given several folders gets
    one repeat per folder."""
    out: Evaluations = {}
    for method, folder in pairs:
        for f in _tile_files(folder, "_eval.json", "landcover-evaluate", tiles, f" (method {method})"):
            result = load_evaluation(f)
            out.setdefault(method, {}).setdefault(result["tile"], []).append(result)
    return out


def load_evaluations(evaluations: Mapping[str, Mapping[str, str | Path | Sequence[str | Path]]]) -> Evaluations:
    """``{method: {tile: path or [paths]}}`` of eval JSONs -> loaded :data:`Evaluations`."""
    out: Evaluations = {}
    for method, by_tile in evaluations.items():
        for tile, paths in by_tile.items():
            paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
            out.setdefault(method, {})[tile] = [load_evaluation(p) for p in paths]
    return out


def _tiles(evals: Evaluations) -> list[str]:
    return sorted({t for by_tile in evals.values() for t in by_tile})


def mean_std(values: list[float | None]) -> tuple[float, float, int]:
    """Mean, sample standard deviation (0 for one value) and count of the values that are not None or NaN."""
    vals = np.array([v for v in values if v is not None and not np.isnan(v)], dtype=np.float64)
    if not len(vals):
        return float("nan"), float("nan"), 0
    return float(vals.mean()), float(vals.std(ddof=1)) if len(vals) > 1 else 0.0, len(vals)


def kappa_table(evals: Evaluations) -> dict[str, dict[str, tuple[float, float, int]]]:
    """``{method: {tile: (mean kappa, std, runs)}}``."""
    return {m: {t: mean_std([e["kappa"] for e in runs]) for t, runs in by_tile.items()}
            for m, by_tile in evals.items()}


def fscore_table(evals: Evaluations, tile: str) -> tuple[list[str], dict[str, list[tuple[float, float, int]]]]:
    """Classes present in the tile's test reference, and ``{method: [(mean F, std, runs) per class]}``."""
    names: list[str] = []
    for by_tile in evals.values():
        for e in by_tile.get(tile, []):
            for c in e["classes"]:
                if c["support"] > 0 and c["name"] not in names:
                    names.append(c["name"])
    order = {c["name"]: i for by_tile in evals.values() for e in by_tile.get(tile, [])
             for i, c in enumerate(e["classes"])}
    names.sort(key=lambda n: order[n])
    table = {}
    for method, by_tile in evals.items():
        runs = by_tile.get(tile, [])
        if runs:
            table[method] = [mean_std([next((c["f_score"] for c in e["classes"] if c["name"] == n), None)
                                        for e in runs]) for n in names]
    return names, table


def _grouped_bars(groups: list[str], series: dict[str, list[tuple[float, float, int]]], ylabel: str, title: str,
                  out_png: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = max(len(series), 1)
    width = 0.8 / n
    x = np.arange(len(groups))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.55 * len(groups) * n + 2), 4.2), dpi=110)
    for i, (method, values) in enumerate(series.items()):
        mean = np.array([v[0] for v in values])
        std = np.array([v[1] if v[2] > 1 else 0.0 for v in values])
        has_err = any(v[2] > 1 for v in values)
        ax.bar(x + (i - (n - 1) / 2) * width, np.nan_to_num(mean), width, label=method,
               yerr=std if has_err else None, capsize=2 if has_err else 0)
    ax.set_xticks(x, groups, rotation=45 if len(groups) > 6 else 0, ha="right" if len(groups) > 6 else "center")
    ax.set_ylim(0, 1)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, out_png)


def plot_kappa_per_tile(evals: Evaluations, out_png: str | Path, tiles: Sequence[str] | None = None) -> Path:
    """Figure 6: Cohen's kappa per tile, one bar per method (mean and std over repeated runs)."""
    tiles = list(tiles) if tiles else _tiles(evals)
    table = kappa_table(evals)
    nan = (float("nan"), 0.0, 0)
    series = {m: [table[m].get(t, nan) for t in tiles] for m in evals}
    return _grouped_bars(tiles, series, "Cohen's kappa", "Kappa per tile", out_png)


def plot_fscore_per_class(evals: Evaluations, tile: str, out_png: str | Path) -> Path:
    """Figure 7: F-score per class of one tile, one bar per method (mean and std over repeated runs)."""
    names, table = fscore_table(evals, tile)
    if not table:
        raise ConfigError(f"no evaluation of tile {tile}: evaluate maps of {tile} or pick another tile")
    return _grouped_bars(names, table, "F-score", f"F-score per class, tile {tile}", out_png)


def _fmt(value: tuple[float, float, int]) -> str:
    mean, std, runs = value
    if runs == 0:
        return "-"
    return f"{mean:.3f} ± {std:.3f}" if runs > 1 else f"{mean:.3f}"


def kappa_markdown(evals: Evaluations, tiles: Sequence[str] | None = None) -> str:
    tiles = list(tiles) if tiles else _tiles(evals)
    table = kappa_table(evals)
    methods = list(evals)
    lines = ["| tile | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for t in tiles:
        lines.append(f"| {t} | " + " | ".join(_fmt(table[m].get(t, (0, 0, 0))) for m in methods) + " |")
    means = [mean_std([v[0] for v in table[m].values()]) for m in methods]
    lines.append("| mean over tiles | " + " | ".join(f"{v[0]:.3f}" if v[2] else "-" for v in means) + " |")
    return "\n".join(lines)


def fscore_markdown(evals: Evaluations, tile: str) -> str:
    names, table = fscore_table(evals, tile)
    methods = list(table)
    lines = ["| class | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for i, n in enumerate(names):
        lines.append(f"| {n} | " + " | ".join(_fmt(table[m][i]) for m in methods) + " |")
    return "\n".join(lines)


def collect_geometry(folders: Sequence[str | Path], tiles: Sequence[str] | None = None) -> dict[str, dict]:
    """Read the ``<TILE>_geometry.json`` files of ``folders`` -> ``{tile: result}``; the maps of one tile
    found in several folders (e.g. one run per method) are pooled, a map name given twice is an error."""
    out: dict[str, dict] = {}
    for folder in folders:
        for f in _tile_files(folder, "_geometry.json", "landcover-geometry", tiles):
            result = load_geometry(f)
            pooled = out.setdefault(result["tile"], {**result, "maps": {}})
            twice = sorted(set(pooled["maps"]) & set(result["maps"]))
            if twice:
                raise ConfigError(f"tile {result['tile']}: map(s) {', '.join(twice)} in more than one geometry "
                                  f"folder ({f}): give each folder once")
            pooled["maps"].update(result["maps"])
    return out


def geometry_table(geometry: Mapping[str, dict]) -> dict[str, dict[str, tuple[float, float, int]]]:
    """``{method: {tile: (mean ratio, std over references, references used)}}``, methods in order of
    appearance."""
    table: dict[str, dict[str, tuple[float, float, int]]] = {}
    for tile in sorted(geometry):
        for method, m in geometry[tile]["maps"].items():
            mean = float("nan") if m["mean"] is None else m["mean"]
            table.setdefault(method, {})[tile] = (mean, m["std"] or 0.0, m["references_used"])
    return table


def plot_geometry_per_tile(geometry: Mapping[str, dict], out_png: str | Path) -> Path:
    """Figure 20: share of the reference maps' corners found, per tile, one bar per map (method), error
    bars: std over the reference maps."""
    tiles = sorted(geometry)
    table = geometry_table(geometry)
    nan = (float("nan"), 0.0, 0)
    series = {m: [by_tile.get(t, nan) for t in tiles] for m, by_tile in table.items()}
    return _grouped_bars(tiles, series, "reference corners found", "Geometric precision per tile", out_png)


def geometry_markdown(geometry: Mapping[str, dict]) -> str:
    tiles = sorted(geometry)
    table = geometry_table(geometry)
    methods = list(table)
    lines = ["| tile | " + " | ".join(methods) + " | references |", "|---|" + "---|" * (len(methods) + 1)]
    for t in tiles:
        refs = len(geometry[t]["references"])
        lines.append(f"| {t} | " + " | ".join(_fmt(table[m].get(t, (0, 0, 0))) for m in methods) + f" | {refs} |")
    means = [mean_std([v[0] for v in table[m].values()]) for m in methods]
    lines.append("| mean over tiles | " + " | ".join(f"{v[0]:.3f}" if v[2] else "-" for v in means) + " | |")
    return "\n".join(lines)


def _geometry_section(geometry: Mapping[str, dict], out_dir: Path) -> tuple[dict[str, Path], list[str]]:
    png = plot_geometry_per_tile(geometry, out_dir / "geometry_per_tile.png")
    radius = {g["params"]["radius"] for g in geometry.values()}
    lines = ["", "## Geometric precision", "",
             "Share of the corners of pixel-based reference maps (RF maps from different training subsets) that "
             f"a map keeps within {', '.join(f'{r:g}' for r in sorted(radius))} px (paper 4.3, Figure 20): mean "
             "± standard deviation over the reference maps; a map that is itself a reference is measured "
             "against the others (the pixel-based level).", "",
             "![geometric precision per tile](geometry_per_tile.png)", "", geometry_markdown(geometry)]
    table = geometry_table(geometry)
    if len(table) >= 2:
        (a, by_a), (b, by_b) = list(table.items())[:2]
        common = [t for t in sorted(geometry) if t in by_a and t in by_b]
        mean_a = mean_std([by_a[t][0] for t in common])[0]
        mean_b = mean_std([by_b[t][0] for t in common])[0]
        if common and mean_b > 0:
            lines += ["", f"Over {len(common)} tile(s), {a} keeps {mean_a / mean_b:.2f} times the share of "
                          f"reference corners that {b} keeps ({mean_a:.3f} vs {mean_b:.3f})."]
    return {"geometry_png": png}, lines


def _figures_and_markdown(evals: Evaluations, out_dir: Path, fscore_tiles: Sequence[str] | None,
                          intro: str) -> tuple[dict[str, Path], list[str]]:
    if not evals:
        raise ConfigError("nothing to compare: give at least one METHOD=DIR evaluation folder")
    tiles = _tiles(evals)
    fscore_tiles = list(fscore_tiles) if fscore_tiles else tiles
    unknown = [t for t in fscore_tiles if t not in tiles]
    if unknown:
        raise ConfigError(f"F-score tile(s) {', '.join(unknown)}: no evaluation of them (have {', '.join(tiles)})")
    paths = {"kappa_png": plot_kappa_per_tile(evals, out_dir / "kappa_per_tile.png", tiles)}
    runs = {m: max(len(r) for r in by_tile.values()) for m, by_tile in evals.items()}
    lines = [intro, "", "Metrics on test-polygon pixels (polygons never used for training nor for model selection). "
             + ", ".join(f"{m}: {n} run(s)" for m, n in runs.items())
             + "; with several runs, values are mean ± standard deviation (error bars).", "",
             "## Cohen's kappa per tile", "", "![kappa per tile](kappa_per_tile.png)", "", kappa_markdown(evals, tiles)]
    for t in fscore_tiles:
        paths[f"fscore_{t}_png"] = plot_fscore_per_class(evals, t, out_dir / f"fscore_{t}.png")
        lines += ["", f"## F-score per class, tile {t}", "", f"![F-score {t}](fscore_{t}.png)", "",
                  fscore_markdown(evals, t)]
    return paths, lines


def compare_methods(evals: Evaluations, out_dir: str | Path, fscore_tiles: Sequence[str] | None = None,
                    title: str = "Method comparison",
                    geometry: Mapping[str, dict] | None = None) -> dict[str, Path]:
    """Write ``kappa_per_tile.png``, ``fscore_<TILE>.png`` per tile of ``fscore_tiles`` (default all),
    ``geometry_per_tile.png`` with ``geometry`` (``{tile: landcover-geometry result}``, see
    :func:`collect_geometry`) and ``compare.md`` with the tables; returns their paths."""
    out_dir = Path(out_dir)
    paths, lines = _figures_and_markdown(evals, out_dir, fscore_tiles, f"# {title}")
    if geometry:
        geometry_paths, geometry_lines = _geometry_section(geometry, out_dir)
        paths.update(geometry_paths)
        lines += geometry_lines
    paths["markdown"] = out_dir / "compare.md"
    write_text_atomic(paths["markdown"], "\n".join(lines) + "\n")
    return paths


def write_report(out_dir: str | Path, evaluations: Mapping[str, Mapping[str, str | Path | Sequence[str | Path]]],
                 maps: Mapping[str, Mapping[str, str | Path]], nomenclature: Nomenclature,
                 fscore_tiles: Sequence[str] | None = None, title: str = "Land-cover demo report",
                 geometry: Mapping[str, dict] | None = None) -> Path:
    """The demo's final report: ``<out_dir>/report.md`` with its PNG figures beside it.

    Args:
        evaluations: ``{method: {tile: eval JSON path (or list of paths for repeated runs)}}``, e.g.
            ``{"FG-UNET": {...}, "RF": {...}}`` (RF alone works too).
        maps: ``{method: {tile: class map path}}``; each map gets a quicklook with the legend.
        nomenclature: classes, names and colours of the maps.
        fscore_tiles: tiles with a per-class F-score figure (default: T30TWT and T31UDQ when evaluated,
            else every tile).
        geometry: ``{tile: landcover-geometry result}`` (see :func:`collect_geometry`): a "Geometric
            precision" section with its bar chart.
    """
    from ..data.tiles import open_class_map
    from ..maps import quicklook

    out_dir = Path(out_dir)
    evals = load_evaluations(evaluations)
    for by_tile in maps.values():  # every input checked before the first figure is written
        for map_path in by_tile.values():
            open_class_map(map_path).close()
    tiles = _tiles(evals)
    if fscore_tiles is None:
        fscore_tiles = [t for t in ("T30TWT", "T31UDQ") if t in tiles] or tiles
    methods = list(evals)
    _, body = _figures_and_markdown(evals, out_dir, fscore_tiles,
                                    f"# {title}\n\nMethods: {', '.join(methods)}; tiles: {', '.join(tiles)}.")
    if len(methods) >= 2:
        table = kappa_table(evals)
        a, b = methods[0], methods[1]
        common = [t for t in tiles if t in table[a] and t in table[b]]
        wins = [t for t in common if table[a][t][0] > table[b][t][0]]
        body += ["", f"{a} has a higher kappa than {b} on {len(wins)} of {len(common)} tiles"
                 + (f" ({', '.join(wins)})." if wins else ".")]
    if geometry:
        body += _geometry_section(geometry, out_dir)[1]
    if maps:
        body += ["", "## Maps", ""]
        for method, by_tile in maps.items():
            for tile, map_path in sorted(by_tile.items()):
                png = out_dir / f"quicklook_{_slug(method)}_{tile}.png"
                quicklook(map_path, png, nomenclature, title=f"{tile} ({method})")
                body += [f"### {tile}, {method}", "", f"![{tile} {method}]({png.name})", ""]
    report = out_dir / "report.md"
    write_text_atomic(report, "\n".join(body).rstrip() + "\n")
    return report


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text)
