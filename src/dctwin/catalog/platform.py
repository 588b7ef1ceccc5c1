"""One rack or server type of the hardware catalog, as plain frozen values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

__all__ = ["PowerPart", "Platform"]


@dataclass(frozen=True)
class PowerPart:
    """A power-drawing part of a unit: ``count`` copies from ``idle_w`` to ``max_w`` each [W]."""

    name: str
    count: int
    idle_w: float
    max_w: float


@dataclass(frozen=True)
class Platform:
    """A rack (``kind='rack'``) or server (``kind='server'``) of GPUs.

    Per-GPU figures are per GPU package; FLOP/s are dense (no sparsity).
    ``fp4_dense_tflops`` is ``None`` where the GPU has no FP4 support.
    """

    id: str
    name: str
    kind: str
    year: int
    gpu_name: str
    gpus_per_unit: int
    cpus_per_unit: int
    scale_up_domain_gpus: int          # GPUs in one NVLink domain
    scale_up_bandwidth_gb_s: float     # NVLink per GPU [GB/s]
    scale_out_bandwidth_gb_s: float    # scale-out network per GPU [GB/s]
    fp4_dense_tflops: float | None
    fp8_dense_tflops: float
    bf16_dense_tflops: float
    hbm_gb: float
    hbm_bandwidth_tb_s: float
    gpu_idle_w: float
    gpu_max_w: float
    unit_idle_kw: float                # whole unit at idle [kW]
    unit_max_kw: float                 # whole unit at full load [kW]
    liquid_cooled_fraction: float      # share of the unit's heat taken by liquid [-]
    coolant_inlet_temp_c: float        # design liquid inlet [°C]
    price_usd: float                   # estimated price of one unit [USD]
    parts: tuple[PowerPart, ...] = ()
    aliases: tuple[str, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)  # field name -> source text

    def peak_tflops(self, precision: str) -> float:
        """Dense peak per GPU at ``precision`` in {'fp4', 'fp8', 'bf16'} [TFLOP/s]."""
        value = {"fp4": self.fp4_dense_tflops, "fp8": self.fp8_dense_tflops, "bf16": self.bf16_dense_tflops}.get(
            precision
        )
        if value is None:
            raise ValueError(f"{self.id} has no dense {precision} figure; use fp8 or bf16")
        return value
