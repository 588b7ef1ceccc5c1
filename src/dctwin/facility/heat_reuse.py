"""Heat pumps from the facility water to district heating (DH).

COP = Carnot fraction x T_cond / (T_cond - T_evap) with the condenser an
approach above the DH supply and the evaporator an approach below the source;
Carnot fraction 0.5 and approach 7.8 K reproduce the LiU figures (COP 5.5,
4.3, 3.5 from a 45 °C source to 60, 70, 80 °C). Where the DH supply is low
enough, heat passes through a plate exchanger with no heat pump. Delivered
heat is limited by the heat-pump capacity, the DH demand of the step and the
heat available. Parameters and sources: ``data/heat_reuse.yaml``.
"""

from __future__ import annotations

import numpy as np

from dctwin.facility.params import FacilityParams, packaged_params

__all__ = ["heat_pump_cop", "heat_pump_economics", "recover_heat"]

KELVIN = 273.15


def heat_pump_cop(source_c, sink_c, carnot_fraction: float = 0.5,
                  *, params: FacilityParams | None = None) -> np.ndarray:
    """Heating COP lifting from ``source_c`` to a DH supply ``sink_c`` [°C] [-]."""
    d = (params or packaged_params()).heat_reuse["values"]["hx_approach_k"]
    t_cond = np.asarray(sink_c, dtype=float) + d + KELVIN
    t_evap = np.asarray(source_c, dtype=float) - d + KELVIN
    lift = np.maximum(t_cond - t_evap, 1e-6)
    return carnot_fraction * t_cond / lift


def recover_heat(available_kw, demand_kw, capacity_kw, source_c: float, return_c: float, sink_c,
                 carnot_fraction: float,
                 *, params: FacilityParams | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Heat sent to DH: returns (heat_delivered_kw, heat_pump_kw, source_heat_kw) [kW].

    ``available_kw`` [kW] of liquid-loop heat at ``source_c``..``return_c`` [°C];
    DH ``demand_kw`` [kW] at supply ``sink_c`` [°C]; heat-pump heat output limited
    to ``capacity_kw`` [kW] (a scalar or per step). Where ``sink_c`` is at least the direct-exchange
    approach below ``return_c``, heat goes through a plate exchanger (no
    electricity, no capacity limit but the demand).
    """
    params = params or packaged_params()
    p = params.heat_reuse["values"]
    avail = np.maximum(np.asarray(available_kw, dtype=float), 0.0)
    demand = np.maximum(np.asarray(demand_kw, dtype=float), 0.0)
    sink = np.asarray(sink_c, dtype=float)
    direct = sink <= return_c - p["direct_hx_approach_k"]
    cop = heat_pump_cop(source_c + p["source_offset_k"], sink, carnot_fraction, params=params)
    useful = cop > 1.0  # below COP 1 a heat pump would take heat from the DH side: it stays off
    src_per_heat = np.where(useful, 1.0 - 1.0 / np.where(useful, cop, 2.0), 1.0)
    hp_heat = np.where(useful, np.minimum(np.minimum(demand, capacity_kw), avail / src_per_heat), 0.0)
    hp_source = hp_heat * src_per_heat
    delivered = np.where(direct, np.minimum(demand, avail), hp_heat)
    source = np.where(direct, delivered, hp_source)
    electricity = np.where(direct, 0.0, hp_heat - hp_source)
    return delivered, electricity, source


def heat_pump_economics(result, heat_price_eur_per_mwh, power_price_eur_per_mwh, step_h: float) -> dict[str, float]:
    """What the heat pumps earned and cost over the run [EUR]: heat they lifted at the step's heat price, their
    electricity at the step's all-in price, and the margin (before their capex, which is a capex line).

    ``result``: a ``FacilityResult``; prices per step [EUR/MWh]; ``step_h`` [h].
    """
    lifted = np.where(result.heat_pump_kw > 0, result.heat_delivered_kw, 0.0)  # direct exchange needs no pump
    revenue = float((lifted * np.asarray(heat_price_eur_per_mwh, dtype=float)).sum()) * step_h / 1000.0
    cost = float((result.heat_pump_kw * np.asarray(power_price_eur_per_mwh, dtype=float)).sum()) * step_h / 1000.0
    return {"heat_pump_heat_revenue_eur": revenue, "heat_pump_electricity_cost_eur": cost,
            "heat_pump_margin_eur": revenue - cost}
