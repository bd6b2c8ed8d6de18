"""Measure a GPU on the catalog's workloads and write catalog rows marked as measured by us.

``python -m explorer.measure --out DIR`` on a machine with an NVIDIA GPU and PyTorch
(``pip install 'accel-explorer[measure]'``). The package imports no torch until a measurement starts:
``explorer.measure.power`` (the nvidia-smi sampler) and ``explorer.measure.rows`` work without it.
"""

from __future__ import annotations
