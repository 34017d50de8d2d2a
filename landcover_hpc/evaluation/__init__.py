"""Evaluation of land-cover maps, whoever made them (paper 4.3, 5): accuracy metrics on test polygons,
method comparisons and figures (Figures 6, 7), geometric precision from corners (Figure 20),
leave-one-tile-out transferability (5.3) and the demo's final report.

- ``metrics``: confusion matrix, overall accuracy, kappa, per-class precision/recall/F-score;
- ``evaluate``: a map of a tile against the store's test pixels -> JSON, CSV, PNG;
- ``compare``: several methods over several tiles -> kappa, F-score and geometric precision bar
  charts, Markdown, report;
- ``geometry``: corners from line segments and their matching, per tile -> JSON;
- ``transfer``: leave-one-tile-out runs for any method (methods pass their own train-and-predict).
"""

from .compare import collect_evaluations, collect_geometry, compare_methods, load_evaluations, write_report
from .evaluate import evaluate_map, load_evaluation
from .geometry import (CornerParams, evaluate_geometry, geometric_precision, geometric_precision_files,
                       load_geometry, map_corners)
from .metrics import confusion_matrix, scores_from_confusion
from .transfer import leave_one_tile_out

__all__ = ["collect_evaluations", "collect_geometry", "compare_methods", "load_evaluations", "write_report",
           "evaluate_map", "load_evaluation", "CornerParams", "evaluate_geometry", "geometric_precision", "geometric_precision_files",
           "load_geometry", "map_corners", "confusion_matrix", "scores_from_confusion", "leave_one_tile_out"]
