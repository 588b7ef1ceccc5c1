"""The facility parameters a run reads once and passes down: read-only, overrides applied, used by the physics."""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.config.facility import FacilityConfig
from dctwin.errors import InputError
from dctwin.facility import simulate_facility
from dctwin.facility.chillers import chiller_cop
from dctwin.facility.params import design_params, facility_params, load_params, packaged_params

FAN_KEY = "cooling.values.dry_cooler_fan_kw_per_kw"


def _run(design: FacilityConfig, **kw):
    n = 24
    db = np.linspace(5.0, 30.0, n)
    return simulate_facility(design, np.full(n, 8_000.0), 0.8, db, None, np.full(n, 50.0), 0.0, None, 10_000.0,
                             3600, **kw)


def test_parameters_are_read_only_and_read_once_per_set_of_overrides():
    p = facility_params({FAN_KEY: 0.05})
    with pytest.raises(TypeError):
        p.cooling["values"]["dry_cooler_fan_kw_per_kw"] = 1.0  # type: ignore[index]
    assert facility_params({FAN_KEY: 0.05}) is p
    assert p.cooling["values"]["dry_cooler_fan_kw_per_kw"] == 0.05
    assert packaged_params().cooling["values"]["dry_cooler_fan_kw_per_kw"] == \
        load_params("cooling")["values"]["dry_cooler_fan_kw_per_kw"]


def test_an_override_naming_no_parameter_is_refused():
    with pytest.raises(InputError):
        facility_params({"cooling.values.no_such_number": 1.0})
    with pytest.raises(InputError, match="IT power"):  # the cluster reads it too: it would be applied to half a run
        facility_params({"it_power.classes.cpu.proportionality": 0.5})


def test_the_design_overrides_and_explicit_parameters_give_the_same_plant():
    base = FacilityConfig()
    packaged_fan = load_params("cooling")["values"]["dry_cooler_fan_kw_per_kw"]
    tuned = base.model_copy(update={"model_parameters": {FAN_KEY: 2.0 * packaged_fan}})
    plain, via_design = _run(base), _run(tuned)
    explicit = _run(base, params=design_params(tuned))
    assert via_design.dry_cooler_fan_kw.sum() > plain.dry_cooler_fan_kw.sum()
    np.testing.assert_array_equal(explicit.grid_power_kw, via_design.grid_power_kw)
    np.testing.assert_array_equal(_run(base, params=packaged_params()).grid_power_kw, plain.grid_power_kw)


def test_a_leaf_model_uses_the_parameters_it_is_given():
    ref = load_params("air")["chiller"]["ref_cop"]
    doubled = facility_params({"air.chiller.ref_cop": 2.0 * ref})
    np.testing.assert_allclose(chiller_cop(10.0, 30.0, params=doubled), 2.0 * chiller_cop(10.0, 30.0))
