"""``dctwin perf``: the performance model as a command. Figures against the perf API's own answers, the step's
parts adding up, bad input refused with exit 2 and the option's name, JSON keys with units, tables within 80
columns, ``dctwin --help`` not importing the model."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from dctwin.catalog import get_platform
from dctwin.cli import app
from dctwin.errors import InputError
from dctwin.perf import disaggregated_perf, inference_perf, training_perf
from dctwin.perf.models import load_models
from dctwin.perf.params import packaged_perf_params
from dctwin.perf.search import memory_budget_gb
from dctwin.perf.serving_layout import serving_layout_perf

LORA_70B = ["perf", "train", "-p", "hgx-h100", "-m", "llama-2-70b", "-g", "8", "--mode", "lora"]
COMPARE = "hgx-h100,hgx-h200,hgx-b200"


def _json(args: list[str]) -> dict:
    done = CliRunner().invoke(app, [*args, "--json"])
    assert done.exit_code == 0, done.output
    return json.loads(done.output)


def _dctwin(*args: str, columns: int = 80) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run([sys.executable, "-m", "dctwin", *args], capture_output=True, text=True, env=env,
                          timeout=300, check=False)


def test_lora_70b_on_one_h100_server_matches_the_api():
    got = _json(LORA_70B)["platforms"][0]
    h100 = get_platform("hgx-h100")
    api = training_perf(h100, "llama-2-70b", 8, mode="lora")
    lay = api.layout
    assert got["platform"] == "hgx-h100"
    assert got["layout"] == f"{lay.tp}x{lay.pp}x{lay.dp}x{lay.cp}x{lay.ep}"
    assert got["step_time_s"] == pytest.approx(api.step_time_s, rel=1e-12)
    assert got["tokens_per_s"] == pytest.approx(api.tokens_per_s, rel=1e-12)
    assert got["tokens_per_s_per_gpu"] == pytest.approx(api.tokens_per_s / api.gpus_used, rel=1e-12)
    assert got["mfu_percent"] == pytest.approx(100 * api.mfu, rel=1e-12)
    assert got["memory_per_gpu_gb"] == pytest.approx(api.memory_per_gpu_gb, rel=1e-12)
    usable = memory_budget_gb(h100, packaged_perf_params().training)
    assert got["memory_usable_per_gpu_gb"] == pytest.approx(usable)
    assert got["memory_per_gpu_gb"] <= usable < got["hbm_per_gpu_gb"]  # it fits, as it does in practice
    parts = ("compute_s", "exposed_communication_s", "pipeline_bubble_s", "optimizer_s", "host_wait_s")
    assert sum(got[k] for k in parts) == pytest.approx(got["step_time_s"], rel=1e-12)
    assert all(got[k] >= 0 for k in parts)
    assert 0 <= got["compute_hbm_bound_s"] <= got["compute_s"]


def test_fixed_layout_is_used_and_tp_alone_is_refused():
    got = _json([*LORA_70B, "--tp", "8", "--pp", "1", "--dp", "1"])["platforms"][0]
    api = training_perf(get_platform("hgx-h100"), "llama-2-70b", 8, mode="lora", tp=8, pp=1, dp=1)
    assert got["layout"].startswith("8x1x1x")
    assert got["step_time_s"] == pytest.approx(api.step_time_s, rel=1e-12)
    done = _dctwin(*LORA_70B, "--tp", "8")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--tp/--pp/--dp" in done.stderr and "give all three or none" in done.stderr


def test_full_finetune_that_does_not_fit_is_refused_with_the_figure_and_what_fits():
    done = _dctwin("perf", "train", "-p", "hgx-h100", "-m", "llama-2-70b", "-g", "8", "--mode", "full-finetune")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "field '--gpus'" in done.stderr and "does not fit" in done.stderr
    assert "GB per GPU" in done.stderr and "GPUs or more" in done.stderr


@pytest.mark.parametrize(("args", "words"), [
    (["train", "-p", "hgx-h999", "-m", "llama-2-70b", "-g", "8"], ["--platform", "hgx-h999", "hgx-h100, hgx-h200"]),
    (["train", "-p", "hgx-h100", "-m", "llama-9", "-g", "8"], ["--model", "llama-9", "llama-2-70b"]),
    (["train", "-p", "hgx-h100", "-m", "llama-2-70b", "-g", "0"], ["--gpus", "greater than or equal to 1"]),
    (["train", "-p", "hgx-h100", "-m", "llama-2-70b", "-g", "8", "--mode", "qlora"], ["--mode", "lora"]),
    (["train", "-p", "hgx-h100", "-m", "llama-2-70b", "-g", "8", "--precision", "fp4"], ["no FP4", "fp8, bf16"]),
    (["train", "-p", "hgx-h100", "-m", "llama-2-70b", "-g", "8", "--layout", "fast"], ["--layout", "auto"]),
    (["serve", "-p", "hgx-h100", "-m", "llama-2-70b"], ["--gpus", "--prefill-gpus"]),
    (["serve", "-p", "hgx-h100", "-m", "llama-2-70b", "-g", "8", "--pp", "2"], ["--pp needs --tp"]),
    (["serve", "-p", "hgx-h100", "-m", "llama-2-70b", "-g", "8", "--tpot-ms", "0"], ["--tpot-ms", "> 0"]),
    (["serve", "-p", "hgx-h100", "-m", "llama-2-70b", "-g", "8", "--tpot-ms", "1"], ["--ttft-ms/--tpot-ms",
                                                                                     "(None, 1.0)"]),
    (["serve", "-p", "hgx-h100", "-m", "llama-2-70b", "-g", "8", "--serving-software", "2023"],
     ["--serving-software", "2024, 2025"]),
    (["serve", "-p", "hgx-h100", "-m", "llama-2-70b", "--prefill-gpus", "4"], ["both pools"]),
    (["serve", "-p", "hgx-h100", "-m", "llama-2-70b", "--prefill-gpus", "4", "--decode-gpus", "4", "--ttft-ms",
      "500"], ["--ttft-ms", "TPOT target only"]),
    (["serve", "-p", "hgx-h100", "-m", "llama-2-70b", "-g", "1", "--precision", "bf16"], ["--gpus", "weights 138 GB"]),
    (["serve", "-p", "hgx-h100", "-m", "llama-2-70b", "-g", "6", "--tp", "3"], ["--tp", "a divisor of 64 up to 8"]),
    (["serve", "-p", "hgx-h100", "-m", "llama-2-70b", "-g", "8", "--tp", "2", "--pp", "81"], ["--pp", "1 to 80"]),
    (["train", "-p", "hgx-h100", "-m", "llama-2-70b", "-g", "8", "--cp", "3"], ["--cp", "4,096-token sequence"]),
])
def test_bad_input_is_refused_naming_the_option(args, words):
    """In process: the command raises the project's InputError, which ``dctwin``'s entry point prints as one line
    with exit code 2 (the end-to-end exit code is checked by the subprocess test below)."""
    done = CliRunner().invoke(app, ["perf", *args])
    if isinstance(done.exception, SystemExit):  # typer's own range check: a usage error, exit 2
        assert done.exit_code == 2
        message = done.output
    else:
        assert isinstance(done.exception, InputError) and done.exception.exit_code == 2, done.output
        message = str(done.exception)
    for w in words:
        assert w in " ".join(message.replace("│", " ").split()), (w, message)


@pytest.mark.parametrize("args", [["train", "-p", "hgx-h999", "-m", "llama-2-70b", "-g", "8"],
                                  ["train", "-p", "hgx-h100", "-m", "llama-2-70b", "-g", "0"],
                                  ["serve", "-p", "hgx-h100", "-m", "llama-2-70b", "-g", "8", "--tpot-ms", "1"]])
def test_bad_input_exits_2_without_a_traceback(args):
    done = _dctwin("perf", *args, columns=200)
    assert done.returncode == 2 and done.stdout == ""
    assert "Traceback" not in done.stderr and ("error:" in done.stderr or "Invalid value" in done.stderr)


def test_h200_serves_faster_than_h100_where_decode_is_memory_bound():
    got = _json(["perf", "serve", "-p", "hgx-h100,hgx-h200", "-m", "llama-2-70b", "-g", "8", "--tpot-ms", "40"])
    by = {a["platform"]: a for a in got["platforms"]}
    for pid in ("hgx-h100", "hgx-h200"):
        lay, _ = serving_layout_perf(get_platform(pid), "llama-2-70b", "fp8", 1024, 256, None, 0.040)
        assert by[pid]["replica_layout"] == f"{lay.tp}x{lay.pp}" and by[pid]["replica_choice"] == "auto: TP x PP"
        api = inference_perf(get_platform(pid), "llama-2-70b", 8, tpot_target_s=0.040, gpus_per_replica=lay.tp,
                             pp=lay.pp)
        assert by[pid]["output_tokens_per_s"] == pytest.approx(api.tokens_per_s, rel=1e-12)
        assert by[pid]["tpot_ms"] == pytest.approx(1e3 * api.tpot_s, rel=1e-12) and api.tpot_s <= 0.040
        assert by[pid]["decode_gemms"] == "HBM-bound"
        assert by[pid]["batch_limited_by"] == "TPOT target"
    assert by["hgx-h200"]["output_tokens_per_s"] > 1.1 * by["hgx-h100"]["output_tokens_per_s"]


def test_serve_fixed_replica_and_pipeline_and_software_round():
    got = _json(["perf", "serve", "-p", "hgx-h200", "-m", "llama-2-70b", "-g", "8", "--tp", "1", "--pp", "2",
                 "--serving-software", "2025"])["platforms"][0]
    params = packaged_perf_params().for_serving_software("2025")
    api = inference_perf(get_platform("hgx-h200"), "llama-2-70b", 8, gpus_per_replica=1, pp=2, params=params)
    assert got["replica_layout"] == "1x2" and got["replicas"] == 4 == api.replicas and got["replica_choice"] == "given"
    assert got["output_tokens_per_s"] == pytest.approx(api.tokens_per_s, rel=1e-12)


def test_disaggregated_matches_the_api():
    got = _json(["perf", "serve", "-p", "hgx-h100", "-m", "llama-2-70b", "--prefill-gpus", "8", "--decode-gpus",
                 "8", "--tpot-ms", "40"])
    assert got["disaggregated"] is True and got["gpus"] == 16
    row = got["platforms"][0]
    api = disaggregated_perf(get_platform("hgx-h100"), "llama-2-70b", 8, 8, tpot_target_s=0.040)
    assert row["output_tokens_per_s"] == pytest.approx(api.tokens_per_s, rel=1e-12)
    assert row["ttft_ms"] == pytest.approx(1e3 * api.ttft_s, rel=1e-12)
    assert row["binds"] == api.bound


def test_json_keys_carry_their_units():
    unit_suffixes = ("_s", "_ms", "_gb", "_per_s", "_tokens", "_sequences", "_percent", "_ratio", "_per_gpu")
    counts = {"gpus_used", "replicas"}
    for args in (LORA_70B, ["perf", "serve", "-p", "hgx-h100", "-m", "llama-2-70b", "-g", "8", "--ttft-ms", "450"]):
        row = _json(args)["platforms"][0]
        for key, value in row.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                assert key in counts or key.endswith(unit_suffixes), key


def test_comparison_table_fits_80_columns():
    done = _dctwin(*LORA_70B[:2], "-p", COMPARE, *LORA_70B[4:], "--precision", "fp8")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    header = next(line for line in lines if "quantity" in line)
    assert all(pid in header for pid in COMPARE.split(","))
    step = next(line for line in lines if "step time [s]" in line)
    for pid in COMPARE.split(","):
        api = training_perf(get_platform(pid), "llama-2-70b", 8, "fp8", mode="lora")
        assert f"{api.step_time_s:,.3f}" in step


def test_a_refused_platform_stays_in_the_comparison():
    done = _dctwin(*LORA_70B[:2], "-p", "hgx-h100,hgx-b200", *LORA_70B[4:], "--precision", "fp4")
    assert done.returncode == 0
    assert "refused" in done.stdout and "hgx-h100 refused" in done.stderr and "no FP4" in done.stderr
    alone = _dctwin(*LORA_70B, "--precision", "fp4")
    assert alone.returncode == 2 and "no FP4" in alone.stderr


def test_models_lists_every_model_with_sources():
    done = _dctwin("perf", "models")
    assert done.returncode == 0 and max(len(line) for line in done.stdout.splitlines()) <= 80
    for mid in load_models():
        assert mid in done.stdout
    rows = _json(["perf", "models"])
    mixtral = next(r for r in rows if r["id"] == "mixtral-8x7b")
    assert mixtral["params_active"] < mixtral["params_total"] and mixtral["experts"] == 8
    assert all(r["sources"] for r in rows)


def test_calibration_prints_what_python_m_dctwin_perf_prints():
    done = _dctwin("perf", "calibration")
    old = subprocess.run([sys.executable, "-m", "dctwin.perf"], capture_output=True, text=True, timeout=300,
                         check=False)
    assert done.returncode == 0 == old.returncode
    assert done.stdout == old.stdout and "constants a fresh fit gives" in done.stdout


def test_help_does_not_import_the_perf_model():
    code = ("import sys; from dctwin import cli; "
            "print(sorted(m for m in sys.modules if m.startswith('dctwin.perf.') and m != 'dctwin.perf.cli'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr
    assert "perf" in _dctwin("--help").stdout


def test_a_host_bound_step_says_so_and_its_parts_still_add_up():
    args = ["perf", "train", "-p", "hgx-b200", "-m", "llama-2-7b", "-g", "8", "--mode", "lora", "--precision", "fp8",
            "--global-batch-tokens", "32768", "--tp", "2", "--pp", "1", "--dp", "1", "--cp", "4"]
    got = _json(args)["platforms"][0]
    api = training_perf(get_platform("hgx-b200"), "llama-2-7b", 8, "fp8", global_batch_tokens=32768, mode="lora",
                        tp=2, pp=1, dp=1, cp=4)
    assert got["binds"] == "host wait" and got["host_wait_s"] > got["compute_s"] > 0
    # a host-bound micro-batch lasts the host's issue time: the GPUs' passes, their exposed traffic, then waiting
    busy = got["compute_s"] + got["host_wait_s"]
    assert busy <= api.host_s * (1 + 1e-12) <= (busy + got["exposed_communication_s"]) * (1 + 1e-12)
    parts = ("compute_s", "exposed_communication_s", "pipeline_bubble_s", "optimizer_s", "host_wait_s")
    assert sum(got[k] for k in parts) == pytest.approx(api.step_time_s, rel=1e-12)


def test_serve_comparison_fits_80_columns_and_a_partial_job_is_noted():
    done = _dctwin("perf", "serve", "-p", COMPARE, "-m", "mixtral-8x7b", "-g", "8", "--ttft-ms", "450", "--tpot-ms",
                   "30")
    assert done.returncode == 0, done.stderr
    assert max(len(line) for line in done.stdout.splitlines()) <= 80
    assert "what limits the batch" in done.stdout and "decode GEMMs" in done.stdout
    part = _dctwin("perf", "train", "-p", "gb200-nvl72", "-m", "llama-3-405b", "-g", "100", "--precision", "fp8")
    api = training_perf(get_platform("gb200-nvl72"), "llama-3-405b", 100, "fp8")
    assert part.returncode == 0 and api.gpus_used < 100
    assert f"uses {api.gpus_used} of the 100 GPUs" in " ".join(part.stderr.split())


@pytest.mark.parametrize(("args", "limit"), [
    (["-m", "llama-3-70b", "-g", "8", "--input-tokens", "30000", "--output-tokens", "2000"], "KV cache"),
    (["-m", "llama-2-70b", "-g", "8", "--ttft-ms", "100"], "TTFT target"),
    (["-m", "llama-2-70b", "-g", "8"], "tokens/s plateau"),
])
def test_what_limits_the_batch(args, limit):
    row = _json(["perf", "serve", "-p", "hgx-h100", *args])["platforms"][0]
    assert row["batch_limited_by"] == limit
    if limit == "KV cache":
        assert row["batch_per_replica_sequences"] == row["kv_limited_batch_sequences"]
    else:
        assert row["batch_per_replica_sequences"] < row["kv_limited_batch_sequences"]
    assert (row["decode_gemm_flop_over_read_ratio"] > 1) == (row["decode_gemms"] == "compute-bound")


def test_an_alias_and_its_platform_are_one_column():
    got = _json(["perf", "serve", "-p", "dgx-h100,hgx-h100", "-m", "llama-2-70b", "-g", "8"])
    assert [a["platform"] for a in got["platforms"]] == ["hgx-h100"]


def test_auto_replica_searches_pipeline_stages_as_a_scenario_does():
    got = _json(["perf", "serve", "-p", "hgx-h100", "-m", "llama-3-405b", "-g", "16", "--precision", "bf16"])
    row = got["platforms"][0]
    lay, _ = serving_layout_perf(get_platform("hgx-h100"), "llama-3-405b", "bf16", 1024, 256)
    assert lay.pp > 1 and row["replica_layout"] == f"{lay.tp}x{lay.pp}" and row["gpus_used"] == 16
    api = inference_perf(get_platform("hgx-h100"), "llama-3-405b", 16, "bf16", gpus_per_replica=lay.tp, pp=lay.pp)
    assert row["output_tokens_per_s"] == pytest.approx(api.tokens_per_s, rel=1e-12)


def test_auto_replica_that_does_not_divide_the_gpus_falls_back_with_a_note():
    done = _dctwin("perf", "serve", "-p", "hgx-h100", "-m", "llama-2-70b", "-g", "6", "--precision", "bf16", "--json")
    lay, _ = serving_layout_perf(get_platform("hgx-h100"), "llama-2-70b", "bf16", 1024, 256)
    assert done.returncode == 0 and 6 % lay.gpus != 0
    row = json.loads(done.stdout)["platforms"][0]
    api = inference_perf(get_platform("hgx-h100"), "llama-2-70b", 6, "bf16")
    assert row["replica_choice"] == "auto: TP at PP1"
    assert row["output_tokens_per_s"] == pytest.approx(api.tokens_per_s, rel=1e-12)
    assert "does not divide 6 GPUs" in " ".join(done.stderr.split())


def test_the_default_batch_is_said_and_a_given_one_is_used():
    default = _dctwin(*LORA_70B)
    assert default.returncode == 0 and "no --global-batch-tokens" in default.stderr
    given = _dctwin(*LORA_70B, "--global-batch-tokens", "262144")
    assert given.returncode == 0 and "no --global-batch-tokens" not in given.stderr
    assert "262,144" in next(line for line in given.stdout.splitlines() if "global batch [tokens]" in line)


def test_an_answer_resting_on_dctwin_estimates_says_which():
    """Vera Rubin's scale-out rate is a dctwin derivation: the JSON lists the API's estimated_inputs and the table
    names them under it; a platform whose read inputs are all published lists none of its own."""
    args = ["perf", "train", "-p", "vr-nvl72", "-m", "llama-3-70b", "-g", "72", "--precision", "fp8"]
    api = training_perf(get_platform("vr-nvl72"), "llama-3-70b", 72, "fp8")
    row = json.loads(_dctwin(*args, "--json").stdout)["platforms"][0]
    assert api.estimated_inputs and row["estimated_inputs"] == list(api.estimated_inputs)
    table = _dctwin(*args)
    assert table.returncode == 0 and "dctwin's own derivations or estimates" in table.stderr
    assert "vr-nvl72 scale_out_bandwidth_gb_s" in " ".join(table.stderr.split())
