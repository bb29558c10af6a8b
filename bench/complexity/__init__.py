"""Complexity analysis: parameters, FLOPs/MACs, activations and conv counts under every convention.

See :func:`measure_complexity` (``bench/complexity/measure.py``) for the conventions,
:mod:`bench.complexity.complete` for the complete count, :mod:`bench.complexity.crosscheck` for the
cross-checks and :mod:`bench.complexity.shape_only` for how counting avoids the arithmetic.
"""

from .complete import CompleteCount, complete_count
from .crosscheck import uncounted_convs
from .measure import HR_SIZE, NTIRE_LR, ComplexityRecord, lr_size_for_hr, measure_complexity
from .shape_only import DataDependentError, ShapeOnlyMode

__all__ = [
    "ComplexityRecord",
    "measure_complexity",
    "complete_count",
    "CompleteCount",
    "uncounted_convs",
    "lr_size_for_hr",
    "NTIRE_LR",
    "HR_SIZE",
    "ShapeOnlyMode",
    "DataDependentError",
]
