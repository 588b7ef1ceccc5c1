"""Hardware catalog: every number sourced, parts reconcile, published aggregates hold, bad files fail clearly."""

from __future__ import annotations

import copy
import time
from importlib import resources
from pathlib import Path

import pytest
import yaml

from dctwin.catalog import Platform, get_platform, load_catalog, read_platform_file
from dctwin.catalog.loader import NUMERIC_FIELDS
from dctwin.catalog.platform import PART_NAMES
from dctwin.errors import InputError

IDS = ("hgx-h100", "hgx-h200", "hgx-b200", "gb200-nvl72", "gb300-nvl72", "vr-nvl72", "rubin-ultra-nvl576")
DATA_DIR = Path(str(resources.files("dctwin.catalog") / "data"))
DATA_FILES = sorted(DATA_DIR.glob("*.yaml"))


def _p(pid: str) -> Platform:
    return get_platform(pid)


def _platforms() -> list[Platform]:
    return [_p(pid) for pid in IDS]


# ----------------------------------------------------------------- contents


def test_catalog_has_exactly_the_seven_platforms_and_the_vr_alias():
    catalog = load_catalog()
    assert {p.id for p in catalog.values()} == set(IDS)
    assert [f.stem for f in DATA_FILES] == sorted(IDS)
    assert catalog["vr-nvl144"] is catalog["vr-nvl72"]
    assert get_platform("vr-nvl144").id == "vr-nvl72"
    kinds = {pid: _p(pid).kind for pid in IDS}
    assert {k for k, v in kinds.items() if v == "server"} == {"hgx-h100", "hgx-h200", "hgx-b200"}


def test_unknown_id_names_the_valid_ones():
    with pytest.raises(InputError) as exc:
        get_platform("gb400-nvl999")
    assert "gb400-nvl999" in str(exc.value)
    for pid in IDS:
        assert pid in exc.value.allowed


def test_load_catalog_is_cached_and_fast():
    load_catalog.cache_clear()
    t0 = time.perf_counter()
    first = load_catalog()
    cold_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    second = load_catalog()
    warm_s = time.perf_counter() - t0
    assert second is first
    assert cold_s < 2.0, f"cold catalog load took {cold_s:.2f} s"
    assert warm_s < 1e-3


# ----------------------------------------------------------------- sources


def _sourced_entries(doc: dict):
    """(where, entry) for every number of a raw data file."""
    for name, entry in doc["values"].items():
        yield f"values.{name}", entry
    for i, part in enumerate(doc["parts"]):
        for key in ("count", "idle_w", "max_w"):
            yield f"parts[{i}].{key}", part[key]


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: p.stem)
def test_every_number_has_a_traceable_source(path: Path):
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    sources = doc["sources"]
    used = set()
    n = 0
    for where, entry in _sourced_entries(doc):
        n += 1
        key = entry["source"]
        assert key in sources, f"{path.name} {where}: unknown source {key!r}"
        text = sources[key]
        assert isinstance(text, str) and text.strip(), f"{path.name} {where}: empty source text"
        assert "https://" in text or "http://" in text or "derived" in text.lower(), f"{path.name} {where}"
        if "derived" in text.lower():
            assert str(entry.get("note", "")).strip(), f"{path.name} {where}: derived value without a note"
        used.add(key)
    assert n == len(NUMERIC_FIELDS) + 3 * len(PART_NAMES)
    # a source is used as an entry's source or cited by key inside a derivation note
    notes = " ".join(str(e.get("note", "")) for _, e in _sourced_entries(doc))
    unused = {k for k in set(sources) - used if f"({k}" not in notes and f"{k})" not in notes}
    assert not unused, f"{path.name}: unused sources {unused}"


@pytest.mark.parametrize("pid", IDS)
def test_platform_carries_a_source_for_every_field_and_part(pid: str):
    p = _p(pid)
    for name in NUMERIC_FIELDS:
        assert p.sources[name].strip()
    for part in PART_NAMES:
        assert p.sources[f"parts.{part}"].strip()


# ----------------------------------------------------------------- power parts


@pytest.mark.parametrize("pid", IDS)
def test_parts_reconcile_with_unit_power(pid: str):
    p = _p(pid)
    assert tuple(part.name for part in p.parts) == PART_NAMES
    assert p.parts_max_kw == pytest.approx(p.unit_max_kw, rel=0.10)
    assert p.parts_idle_kw == pytest.approx(p.unit_idle_kw, rel=0.10)
    gpu = p.part("gpu")
    assert gpu.count == p.gpus_per_unit
    assert (gpu.idle_w, gpu.max_w) == (p.gpu_idle_w, p.gpu_max_w)
    assert p.part("cpu").count == p.cpus_per_unit
    for part in p.parts:
        assert 0 <= part.idle_w <= part.max_w
    # GPUs dominate the full-load draw; the rest is real but smaller.
    assert 0.55 < gpu.max_total_w / 1000 / p.parts_max_kw < 0.9


@pytest.mark.parametrize("pid", IDS)
def test_power_envelope_is_physically_sensible(pid: str):
    p = _p(pid)
    # the unit draws more per GPU than the GPU alone
    assert p.unit_max_kw * 1000 / p.gpus_per_unit > p.gpu_max_w
    # idle is a real floor, well below full load
    assert 0.05 < p.unit_idle_kw / p.unit_max_kw < 0.3
    assert 0.05 < p.gpu_idle_w / p.gpu_max_w < 0.3


def test_cooling_split_matches_the_form_factor():
    for p in _platforms():
        if p.kind == "server":
            # air-cooled DGX-class servers: no liquid, air inlet inside ASHRAE's recommended 18-27 °C
            assert p.liquid_cooled_fraction == 0.0
            assert 18 <= p.coolant_inlet_temp_c <= 27
            assert p.part("fans").max_total_w > 0
        else:
            assert p.liquid_cooled_fraction >= 0.85
            assert p.coolant_inlet_temp_c <= 45  # ASHRAE W45 class or cooler
    for pid in ("gb300-nvl72", "vr-nvl72", "rubin-ultra-nvl576"):
        assert _p(pid).part("fans").max_total_w == 0  # fanless trays
        assert _p(pid).coolant_inlet_temp_c == 45


# ----------------------------------------------------------------- sanity ordering


def test_fp8_is_twice_bf16_dense_and_fp4_is_at_least_fp8():
    for p in _platforms():
        assert p.fp8_dense_tflops == pytest.approx(2 * p.bf16_dense_tflops, rel=0.01)
        if p.fp4_dense_tflops is not None:
            assert p.fp4_dense_tflops >= p.fp8_dense_tflops
    for pid in ("hgx-h100", "hgx-h200"):
        assert _p(pid).fp4_dense_tflops is None
        with pytest.raises(ValueError):
            _p(pid).peak_tflops("fp4")
    assert _p("gb300-nvl72").peak_tflops("fp4") == 15000


def test_generations_order_as_published():
    h100, h200, b200 = _p("hgx-h100"), _p("hgx-h200"), _p("hgx-b200")
    gb200, gb300, vr, ru = _p("gb200-nvl72"), _p("gb300-nvl72"), _p("vr-nvl72"), _p("rubin-ultra-nvl576")
    # H200 is an H100 with more, faster HBM and the same compute
    assert h200.hbm_gb > h100.hbm_gb and h200.hbm_bandwidth_tb_s > h100.hbm_bandwidth_tb_s
    assert h200.fp8_dense_tflops == h100.fp8_dense_tflops
    # Rubin beats every Blackwell per GPU, Rubin Ultra (4 dies) beats Rubin
    for blackwell in (b200, gb200, gb300):
        assert vr.fp8_dense_tflops > 3 * blackwell.fp8_dense_tflops
        assert vr.hbm_bandwidth_tb_s > blackwell.hbm_bandwidth_tb_s
    assert ru.fp8_dense_tflops > 2 * vr.fp8_dense_tflops
    assert ru.hbm_gb > vr.hbm_gb >= gb300.hbm_gb > gb200.hbm_gb > b200.hbm_gb > h200.hbm_gb
    # GPU power and NVLink bandwidth grow each generation
    watts = [p.gpu_max_w for p in (h100, b200, gb200, gb300, vr, ru)]
    assert watts == sorted(watts) and len(set(watts)) == len(watts)
    links = [p.scale_up_bandwidth_gb_s for p in (h100, b200, vr, ru)]
    assert links == sorted(links) and len(set(links)) == len(links)
    assert [p.year for p in (h100, h200, gb200, vr, ru)] == sorted(p.year for p in (h100, h200, gb200, vr, ru))
    # price per GPU rises with the generation
    per_gpu = [p.price_usd / p.gpus_per_unit for p in (h100, h200, b200)]
    assert per_gpu == sorted(per_gpu)
    assert vr.price_usd / vr.gpus_per_unit > gb300.price_usd / gb300.gpus_per_unit


def test_nvlink_domains():
    for p in _platforms():
        if p.kind == "server":
            assert p.scale_up_domain_gpus == p.gpus_per_unit == 8
        else:
            assert p.scale_up_domain_gpus == p.gpus_per_unit
        assert p.scale_up_bandwidth_gb_s > p.scale_out_bandwidth_gb_s
    assert _p("rubin-ultra-nvl576").scale_up_domain_gpus == 144


# ----------------------------------------------------------------- published aggregates


@pytest.mark.parametrize(
    "pid, per_gpu, published_total, rel, what",
    [
        # GB300 NVL72: 1,080 PF dense FP4 per rack (verda.com, dossier §1d)
        ("gb300-nvl72", "fp4_dense_tflops", 1_080_000, 0.01, "rack FP4 dense [TFLOP/s]"),
        # GB200 NVL72: 360 PF dense FP8 per rack (aiwiki, dossier §1e)
        ("gb200-nvl72", "fp8_dense_tflops", 360_000, 0.01, "rack FP8 dense [TFLOP/s]"),
        # GB200 NVL72: 130 TB/s NVLink per rack (aiwiki)
        ("gb200-nvl72", "scale_up_bandwidth_gb_s", 130_000, 0.01, "rack NVLink [GB/s]"),
        # VR NVL72: 1.2 EF FP8 training (GTC 2025), 20.7 TB HBM4, 260 TB/s NVLink, 28.8 TB/s ConnectX-9 (dossier §1b)
        ("vr-nvl72", "fp8_dense_tflops", 1_200_000, 0.01, "rack FP8 [TFLOP/s]"),
        ("vr-nvl72", "hbm_gb", 20_700, 0.01, "rack HBM [GB]"),
        ("vr-nvl72", "scale_up_bandwidth_gb_s", 260_000, 0.01, "rack NVLink [GB/s]"),
        ("vr-nvl72", "scale_out_bandwidth_gb_s", 28_800, 0.01, "rack ConnectX-9 [GB/s]"),
        # Rubin Ultra NVL576: 5 EF FP8, 1.5 PB/s NVLink 7 (dossier §1c)
        ("rubin-ultra-nvl576", "fp8_dense_tflops", 5_000_000, 0.01, "rack FP8 [TFLOP/s]"),
        ("rubin-ultra-nvl576", "scale_up_bandwidth_gb_s", 1_500_000, 0.01, "rack NVLink [GB/s]"),
        # DGX B200: 1,440 GB HBM, 14.4 TB/s NVLink aggregate (NVIDIA DGX B200 user guide)
        ("hgx-b200", "hbm_gb", 1_440, 0.001, "server HBM [GB]"),
        ("hgx-b200", "scale_up_bandwidth_gb_s", 14_400, 0.001, "server NVLink [GB/s]"),
        # DGX H100: 32 PF FP8 (sparse) = 16 PF dense per server (NVIDIA)
        ("hgx-h100", "fp8_dense_tflops", 16_000, 0.02, "server FP8 dense [TFLOP/s]"),
    ],
)
def test_per_gpu_figures_add_up_to_published_unit_totals(pid, per_gpu, published_total, rel, what):
    p = _p(pid)
    assert getattr(p, per_gpu) * p.gpus_per_unit == pytest.approx(published_total, rel=rel), what


@pytest.mark.parametrize(
    "pid, unit_max_kw, lo_kw, hi_kw",
    [
        ("hgx-h100", 10.2, 10.2, 10.2),     # DGX H100 maximum
        ("hgx-b200", 14.3, 14.3, 14.3),     # DGX B200 user guide
        ("gb200-nvl72", 120, 120, 132),     # dossier §1e
        ("gb300-nvl72", 135, 120, 142),     # dossier §1d, NVIDIA RA 142 kW peak
        ("vr-nvl72", 200, 190, 230),        # dossier §1b (Max-Q to Max-P)
        ("rubin-ultra-nvl576", 600, 600, 600),  # GTC 2025
    ],
)
def test_unit_power_sits_in_the_published_range(pid, unit_max_kw, lo_kw, hi_kw):
    p = _p(pid)
    assert lo_kw <= p.unit_max_kw <= hi_kw
    assert p.unit_max_kw == pytest.approx(unit_max_kw)


def test_compute_tray_parts_match_published_tray_power():
    # GB200: two 2,700 W superchips = 5,400 W per compute tray (FiberMall)
    gb200 = _p("gb200-nvl72")
    superchips_w = sum(gb200.part(n).max_total_w for n in ("gpu", "cpu", "memory")) / 18
    assert superchips_w == pytest.approx(5400, rel=0.01)
    # GB300: ~6.5 kW per compute tray including its NICs (Introl)
    gb300 = _p("gb300-nvl72")
    tray_w = sum(gb300.part(n).max_total_w for n in ("gpu", "cpu", "memory", "nic")) / 18
    assert tray_w == pytest.approx(6500, rel=0.03)
    # GB300: 9 NVLink switch trays draw 3.6 kW in total (Introl)
    assert gb300.part("switch").max_total_w == pytest.approx(3600)
    with pytest.raises(KeyError, match="pump"):
        gb300.part("pump")


# ----------------------------------------------------------------- broken files


def _good_doc() -> dict:
    return yaml.safe_load((DATA_DIR / "vr-nvl72.yaml").read_text(encoding="utf-8"))


def _write(tmp_path: Path, doc: dict, name: str = "vr-test") -> Path:
    doc = copy.deepcopy(doc)
    doc.setdefault("id", name)
    if doc.get("id") == "vr-nvl72":
        doc["id"] = name
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def test_a_good_copy_reads_back_identically(tmp_path):
    p = read_platform_file(_write(tmp_path, _good_doc()))
    ref = _p("vr-nvl72")
    assert p.id == "vr-test"
    assert p.parts == ref.parts
    for name in NUMERIC_FIELDS:
        assert getattr(p, name) == getattr(ref, name)


def _break(mutate):
    doc = _good_doc()
    mutate(doc)
    return doc


BROKEN = [
    ("missing source", lambda d: d["values"]["hbm_gb"].pop("source"), "values.hbm_gb"),
    ("unknown source key", lambda d: d["values"]["hbm_gb"].update(source="nowhere"), "values.hbm_gb.source"),
    ("non-numeric value", lambda d: d["values"]["hbm_gb"].update(value="lots"), "values.hbm_gb.value"),
    ("boolean value", lambda d: d["values"]["gpus_per_unit"].update(value=True), "values.gpus_per_unit.value"),
    ("null value", lambda d: d["values"]["fp8_dense_tflops"].update(value=None), "values.fp8_dense_tflops.value"),
    ("missing field", lambda d: d["values"].pop("price_usd"), "values.price_usd"),
    ("unknown field", lambda d: d["values"].update(hbm_tb={"value": 1, "source": "nv_blog"}), "values.hbm_tb"),
    ("fractional GPU count", lambda d: d["values"]["gpus_per_unit"].update(value=72.5),
     "values.gpus_per_unit.value"),
    ("share above one", lambda d: d["values"]["liquid_cooled_fraction"].update(value=1.2),
     "values.liquid_cooled_fraction.value"),
    ("negative number", lambda d: d["values"]["price_usd"].update(value=-1), "values.price_usd.value"),
    ("source without URL", lambda d: d["sources"].update(nv_blog="NVIDIA blog, trust me"), "sources.nv_blog"),
    ("empty source", lambda d: d["sources"].update(nv_blog="  "), "sources.nv_blog"),
    ("derived without note", lambda d: d["values"]["bf16_dense_tflops"].pop("note"), "values.bf16_dense_tflops.note"),
    ("missing part", lambda d: d.update(parts=[q for q in d["parts"] if q["name"] != "fans"]), "parts"),
    ("unknown part", lambda d: d["parts"][0].update(name="gpus"), "parts[0].name"),
    ("part without source", lambda d: d["parts"][0]["max_w"].pop("source"), "parts[0].max_w"),
    ("part missing number", lambda d: d["parts"][1].pop("idle_w"), "parts[1].idle_w"),
    ("part idle above max", lambda d: d["parts"][0]["idle_w"].update(value=5000), "parts[0].idle_w.value"),
    ("missing name", lambda d: d.pop("name"), "name"),
    ("unknown kind", lambda d: d.update(kind="pod"), "kind"),
]


@pytest.mark.parametrize("case, mutate, field", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_file_names_the_file_and_field(tmp_path, case, mutate, field):
    path = _write(tmp_path, _break(mutate))
    with pytest.raises(InputError) as exc:
        read_platform_file(path)
    assert exc.value.file == str(path)
    assert exc.value.field == field, f"{case}: {exc.value}"
    assert str(path) in str(exc.value) and field in str(exc.value)


def test_id_must_match_the_file_name(tmp_path):
    doc = _good_doc()
    doc["id"] = "something-else"
    path = tmp_path / "vr-test.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_platform_file(path)
    assert exc.value.field == "id" and exc.value.allowed == "vr-test"


def test_unreadable_yaml_names_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("values: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_platform_file(path)
    assert str(path) in str(exc.value)
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(InputError, match="mapping"):
        read_platform_file(path)
