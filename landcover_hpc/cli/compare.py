"""``landcover-compare``: several methods over several tiles: kappa per tile, F-score per class, Markdown."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config.compare import CompareConfig
from ..errors import ConfigError
from ._common import config_parser, run_config_command

PROG = "landcover-compare"


def build_parser() -> argparse.ArgumentParser:
    return config_parser(PROG, (
        "Compare methods like the paper: Cohen's kappa per tile (Figure 6) and F-score per class of a tile "
        "(Figure 7) as PNG, with compare.md holding the tables; with --geometry also the geometric precision per "
        "tile (Figure 20). Give --eval once per method and folder of <TILE>_eval.json files; the same METHOD "
        "given several folders counts as repeated runs (error bars)."), CompareConfig)


def main(argv: list[str] | None = None) -> int:
    return run_config_command(PROG, build_parser(), argv, CompareConfig, _compare)


def _compare(config: CompareConfig, _args: argparse.Namespace) -> int:
    from ..evaluation import collect_evaluations, collect_geometry, compare_methods

    folders = [(method, folder) for method, method_folders in config.evals.items() for folder in method_folders]
    evals = collect_evaluations(folders, config.tiles)
    geometry = collect_geometry(config.geometry, config.tiles) if config.geometry else None
    if config.tiles:
        missing = sorted(set(config.tiles) - {t for by_tile in evals.values() for t in by_tile})
        if missing:
            raise ConfigError(f"tiles {', '.join(missing)}: no <TILE>_eval.json for them in any evals folder")
    if config.maps:
        from ..evaluation import write_report
        from ..nomenclature import load_nomenclature

        paths = {}  # {method: {tile: [eval JSON of each folder]}}
        for method, folder in folders:
            for tile in evals[method]:
                if (Path(folder) / f"{tile}_eval.json").is_file():
                    paths.setdefault(method, {}).setdefault(tile, []).append(Path(folder) / f"{tile}_eval.json")
        report = write_report(config.out, paths, _class_maps(config), load_nomenclature(config.nomenclature),
                              config.fscore_tiles, config.title, geometry)
        print(f"report written to {report}")
        return 0
    paths = compare_methods(evals, config.out, config.fscore_tiles, config.title, geometry)
    print(f"comparison written to {paths['markdown']} ({len(paths) - 1} figures)")
    return 0


def _class_maps(config: CompareConfig) -> dict[str, dict[str, Path]]:
    """``{method: {tile: <TILE>_classes.tif}}`` of the map folders (only ``config.tiles`` if given)."""
    suffix = "_classes.tif"
    return {method: {p.name[:-len(suffix)]: p for p in sorted(Path(folder).glob(f"*{suffix}"))
                     if not config.tiles or p.name[:-len(suffix)] in config.tiles}
            for method, folder in config.maps.items()}


if __name__ == "__main__":
    sys.exit(main())
