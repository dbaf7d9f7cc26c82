"""The budget planner (issue 15, item 3): a plan within its budget that does at least as well as
every single program given the whole budget (paired, same seeds), a frontier that rises with the
budget within noise, and the files a council reads. The searches run with the slow tests (CI);
the sizing, the refusals and a one-round command run by default."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from helpers import PYTHON

from sim import plan
from sim.config import ConfigError

SHORT = {"population": "small", "years": 3, "burn_in_years": 3}


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    out = tmp_path_factory.mktemp("plan")
    cfg = plan.PlanConfig(budget=1_500_000, seeds=6, candidates=6, frontier=[0.25, 0.5, 1.0],
                          jobs=2, **SHORT)
    return plan.make_plan(cfg, out, progress=lambda _: None), out


@pytest.mark.slow  # a search with its frontier: ~1 minute
def test_the_plan_and_every_budget_of_the_frontier_stay_within_their_budget(planned):
    result, _ = planned
    chosen = result["plan"]
    assert 0 < chosen["cost_per_year"] <= 1_500_000
    assert chosen["cost_per_year"] == pytest.approx(
        sum(p["cost_per_year"] for p in chosen["programs"].values()))
    levers = plan.Costing("small", []).levers
    for kind, p in chosen["programs"].items():
        assert 1 <= p["size"] <= levers[kind].max_size
    for row in result["frontier"]:
        assert row["cost_per_year"] <= row["budget_per_year"]


@pytest.mark.slow  # a search with its frontier: ~1 minute
def test_the_plan_does_at_least_as_well_as_each_program_alone_paired_by_seed(planned):
    result, _ = planned
    chosen = result["plan"]["violent_incidents_per_100k_per_year"]["mean"]
    assert len(result["benchmarks"]) >= 5
    for bench in result["benchmarks"]:
        assert bench["cost_per_year"] <= 1_500_000
        assert chosen <= bench["violent_incidents_per_100k_per_year"]["mean"], bench["programs"]
    # and strictly better than most of them: mixing is worth something here
    worse = [b for b in result["benchmarks"]
             if b["violent_incidents_averted_per_100k_per_year"]["high"]
             < result["plan"]["violent_incidents_averted_per_100k_per_year"]["mean"]]
    assert len(worse) >= len(result["benchmarks"]) // 2


@pytest.mark.slow  # a search with its frontier: ~1 minute
def test_more_money_buys_at_least_as_much_within_noise(planned):
    result, out = planned
    frontier = pd.read_parquet(out / "frontier.parquet").sort_values("budget_per_year")
    assert list(frontier.budget_per_year) == [375_000, 750_000, 1_500_000]
    assert frontier.averted_mean.iloc[-1] > frontier.averted_mean.iloc[0]
    for (_, a), (_, b) in zip(frontier.iterrows(), frontier.iloc[1:].iterrows()):
        noise = (a.averted_high - a.averted_low + b.averted_high - b.averted_low) / 2
        assert b.averted_mean >= a.averted_mean - noise


@pytest.mark.slow  # a search with its frontier: ~1 minute
def test_the_files_say_what_to_fund_and_in_what_money(planned):
    result, out = planned
    assert json.loads((out / "plan.json").read_text())["plan"]["programs"] == json.loads(
        json.dumps(result["plan"]["programs"]))
    text = (out / "plan.md").read_text()
    assert "USD of 2024" in text and "## What to fund" in text
    for p in result["plan"]["programs"].values():
        assert f"**{p['label']}**: {p['size']} {p['unit']}" in text
    assert (out / "frontier.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow  # a search with its frontier: ~1 minute
def test_a_plan_for_value_has_at_least_the_net_present_value_of_each_program_alone(tmp_path):
    cfg = plan.PlanConfig(budget=1_000_000, objective="net_present_value", seeds=3,
                          candidates=2, rounds=1, frontier=[1.0], jobs=2, **SHORT)
    result = plan.make_plan(cfg, tmp_path, progress=lambda _: None)
    value = result["plan"]["net_present_value"]["mean"]
    for bench in result["benchmarks"]:
        assert value >= bench["net_present_value"]["mean"], bench["programs"]
    assert result["objective"] == "net_present_value"


def test_a_size_is_the_largest_the_money_buys():
    costing = plan.Costing("small", [])
    for kind in ("cbt_youth", "hotspot_policing", "reentry_employment"):
        money = 2.5 * costing.cost(kind, 3)
        n = costing.size_for(kind, money)
        assert costing.cost(kind, n) <= money < costing.cost(kind, n + 1)
    assert costing.size_for("hotspot_policing", 1.0) == 0


@pytest.mark.parametrize("cfg, message", [
    ({"objective": "cheapest"}, "objective = 'cheapest': allowed violence, net_present_value"),
    ({"kinds": ["institutional_coordination"]}, "kinds: institutional_coordination cannot be "
                                                "sized"),
    ({"seeds": 1}, r"seeds = 1 is out of range: allowed \[2, 1000\]"),
    ({"frontier": [0.5, -1.0]}, "frontier = "),
])
def test_bad_plan_settings_are_refused_by_name(tmp_path, cfg, message):
    with pytest.raises(ConfigError, match=message):
        plan.make_plan(plan.PlanConfig(**SHORT, **cfg), tmp_path)
    assert not list(tmp_path.iterdir())  # nothing written


PLAN_ARGS = ["budget=1_000_000", "population=small", "years=2", "burn_in_years=2", "seeds=2",
             "candidates=1", "rounds=1", "frontier=[1.0]", "jobs=1"]


def _vpsim_plan(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(PYTHON).with_name("vpsim-plan")), *PLAN_ARGS, *args],
                          cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.mark.slow  # ~15 s: a whole (tiny) search in two processes
def test_vpsim_plan_writes_its_files(tmp_path):
    done = _vpsim_plan(tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    (folder,) = (tmp_path / "plans").glob("*/*")
    assert {p.name for p in folder.iterdir()} >= {"plan.json", "plan.md", "frontier.parquet",
                                                  "frontier.png"}


def test_vpsim_plan_refuses_bad_input_in_one_line_and_leaves_no_folder(tmp_path):
    bad = _vpsim_plan(tmp_path, "objective=cheapest")
    assert bad.returncode == 2
    assert not list(tmp_path.iterdir())
    assert bad.stderr.strip().splitlines() == [
        "vpsim-plan: config error: objective = 'cheapest': allowed violence, net_present_value"]
