"""Validation cases cite the document that holds their figure (issue #15 item 6): a news or blog page only when the
title says it is secondary; pairs at two scales quote the same runs as their absolute cases."""

from __future__ import annotations

import pytest

from dctwin.validate import load_cases

CASES = {c.id: c for c in load_cases()}
NEWS_OR_BLOG = ("tomshardware", "datacenterdynamics", "glennklockwood", "worldnl", "theiteh", "readkong",
                "mtu-solutions")


@pytest.mark.parametrize("cid", sorted(CASES))
def test_a_case_from_a_news_or_blog_page_says_so(cid):
    title, url = CASES[cid].source_title, CASES[cid].source_url or ""
    assert "Tom's Hardware" not in title and "dossier" not in title, cid
    if any(host in url for host in NEWS_OR_BLOG):
        assert "secondary" in title or "copy hosted by" in title, (cid, url)


def test_the_v41_h200_offline_case_is_the_log_that_holds_its_figure():
    c = CASES["mlperf-v4.1-llama2-70b-offline-8xh200"]
    assert c.source_url.startswith("https://github.com/mlcommons/inference_results_v4.1/blob/main/closed/")
    assert c.source_url.endswith("/Offline/performance/run_1/mlperf_log_summary.txt")
    assert c.params["gpus_per_replica"] == 1 and c.params["precision"] == "fp8"   # the config that ran


def test_the_cisco_lora_pair_is_its_two_absolute_cases():
    pair = CASES["mlperf-t5.1-lora-strong-scaling-8-to-16xh200-cisco"]
    num = CASES["mlperf-t5.1-llama2-70b-lora-16xh200-cisco"]
    den = CASES["mlperf-t5.1-llama2-70b-lora-8xh200-cisco"]
    assert pair.params["numerator"] == num.params and pair.params["denominator"] == den.params
    assert pair.published == pytest.approx(num.published / den.published, rel=1e-3)
    for side in (num.params, den.params):
        assert side["tp"] * side["pp"] * side["dp"] * side.get("cp", 1) == side["n_gpus"]
    assert num.params["global_batch_tokens"] == den.params["global_batch_tokens"]     # strong scaling
