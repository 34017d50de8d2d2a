"""``landcover-compare``: several methods over several tiles: kappa per tile, F-score per class, Markdown."""

from __future__ import annotations

import argparse
import sys

from ..errors import ConfigError
from ._common import comma_list, name_value, run_cli

PROG = "landcover-compare"


method_folder = name_value("METHOD=DIR", "RF=out/rf_eval")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=(
        "Compare methods like the paper: Cohen's kappa per tile (Figure 6) and F-score per class of a tile "
        "(Figure 7) as PNG, with compare.md holding the tables; with --geometry also the geometric precision per "
        "tile (Figure 20). Give --eval once per method and folder of <TILE>_eval.json files; the same METHOD "
        "given several folders counts as repeated runs (error bars)."))
    p.add_argument("--eval", dest="evals", action="append", type=method_folder, required=True, metavar="METHOD=DIR",
                   help="evaluation folder of a method (repeatable)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--tiles", type=comma_list, default=None, help="only these tiles (default: all evaluated)")
    p.add_argument("--fscore-tiles", type=comma_list, default=None,
                   help="tiles with a per-class F-score figure (default: all)")
    p.add_argument("--title", default="Method comparison", help="title of compare.md")
    p.add_argument("--maps", dest="maps", action="append", type=method_folder, default=[], metavar="METHOD=DIR",
                   help="map folder of a method (repeatable): write report.md, with a quicklook of each map")
    p.add_argument("--nomenclature", default=None, help="nomenclature YAML of the maps (for --maps)")
    p.add_argument("--geometry", dest="geometry", action="append", default=[], metavar="DIR",
                   help="folder of landcover-geometry's <TILE>_geometry.json (repeatable): a geometric precision "
                        "section (Figure 20)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        from ..evaluation import collect_evaluations, collect_geometry, compare_methods

        evals = collect_evaluations(args.evals, args.tiles)
        geometry = collect_geometry(args.geometry, args.tiles) if args.geometry else None
        if args.tiles:
            missing = sorted(set(args.tiles) - {t for by_tile in evals.values() for t in by_tile})
            if missing:
                raise ConfigError(f"--tiles {', '.join(missing)}: no <TILE>_eval.json for them in any --eval folder")
        if args.maps:
            from pathlib import Path

            from ..evaluation import write_report
            from ..nomenclature import load_nomenclature

            maps = {method: {p.name[:-len("_classes.tif")]: p for p in sorted(Path(folder).glob("*_classes.tif"))
                             if not args.tiles or p.name[:-len("_classes.tif")] in args.tiles}
                    for method, folder in args.maps}
            paths = {}  # {method: {tile: [eval JSON of each folder]}}
            for method, folder in args.evals:
                for tile in evals[method]:
                    if (Path(folder) / f"{tile}_eval.json").is_file():
                        paths.setdefault(method, {}).setdefault(tile, []).append(Path(folder) / f"{tile}_eval.json")
            report = write_report(args.out, paths, maps, load_nomenclature(args.nomenclature), args.fscore_tiles,
                                  args.title, geometry)
            print(f"report written to {report}")
            return 0
        paths = compare_methods(evals, args.out, args.fscore_tiles, args.title, geometry)
        print(f"comparison written to {paths['markdown']} ({len(paths) - 1} figures)")
        return 0

    return run_cli(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
