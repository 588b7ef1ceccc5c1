"""One rack or server type of the hardware catalog, as plain frozen values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["PART_NAMES", "Platform", "PowerPart"]

#: The power-drawing part families every catalog entry lists, once each.
PART_NAMES = ("gpu", "cpu", "memory", "nic", "switch", "fans", "other")


@dataclass(frozen=True)
class PowerPart:
    """A power-drawing part of a unit: ``count`` copies from ``idle_w`` to ``max_w`` each [W].

    ``name`` is one of :data:`PART_NAMES`; ``description`` says what one copy is
    (for example "per compute tray: 4x ConnectX-7 + 2x BlueField-3").
    """

    name: str
    count: int
    idle_w: float
    max_w: float
    description: str = ""

    @property
    def idle_total_w(self) -> float:
        """All copies at idle [W]."""
        return self.count * self.idle_w

    @property
    def max_total_w(self) -> float:
        """All copies at full load [W]."""
        return self.count * self.max_w


@dataclass(frozen=True)
class Platform:
    """A rack (``kind='rack'``) or server (``kind='server'``) of GPUs.

    Per-GPU figures are per GPU package (Rubin Ultra: one package = 4 dies);
    FLOP/s are dense (no sparsity). ``fp4_dense_tflops`` is ``None`` where the
    GPU has no FP4 support. Bandwidths follow NVIDIA's convention: the sum of
    both directions (H100 NVLink 900 GB/s = 450 GB/s each way; a 400 Gb/s NIC
    = 100 GB/s). For air-cooled servers ``coolant_inlet_temp_c`` is the design
    air inlet temperature.
    """

    id: str
    name: str
    kind: str
    year: int
    gpu_name: str
    gpus_per_unit: int
    cpus_per_unit: int
    scale_up_domain_gpus: int          # GPUs in one NVLink domain
    scale_up_bandwidth_gb_s: float     # NVLink per GPU, both directions [GB/s]
    scale_out_bandwidth_gb_s: float    # scale-out network per GPU, both directions [GB/s]
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
    coolant_inlet_temp_c: float        # design liquid inlet (air inlet if air-cooled) [°C]
    price_usd: float                   # estimated price of one unit [USD]
    parts: tuple[PowerPart, ...] = ()
    aliases: tuple[str, ...] = ()
    # field name -> source text (and note): provenance, left out of the hash so a Platform can key a memo
    sources: Mapping[str, str] = field(default_factory=dict, hash=False)

    def peak_tflops(self, precision: str) -> float:
        """Dense peak per GPU at ``precision`` in {'fp4', 'fp8', 'bf16'} [TFLOP/s]."""
        value = {"fp4": self.fp4_dense_tflops, "fp8": self.fp8_dense_tflops, "bf16": self.bf16_dense_tflops}.get(
            precision
        )
        if value is None:
            raise ValueError(f"{self.id} has no dense {precision} figure; use fp8 or bf16")
        return value

    def part(self, name: str) -> PowerPart:
        """The part family ``name`` (one of :data:`PART_NAMES`)."""
        for p in self.parts:
            if p.name == name:
                return p
        raise KeyError(f"{self.id} has no part {name!r}; parts: {', '.join(p.name for p in self.parts)}")

    @property
    def parts_idle_kw(self) -> float:
        """Sum of all parts at idle [kW]."""
        return sum(p.idle_total_w for p in self.parts) / 1000.0

    @property
    def parts_max_kw(self) -> float:
        """Sum of all parts at full load [kW]."""
        return sum(p.max_total_w for p in self.parts) / 1000.0
