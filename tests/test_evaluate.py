"""Virtual evaluations (`sim.evaluate`, `vpsim-evaluate`): the records a study keeps add up to the
model's own counts without changing a run; the estimators give known answers on made-up data;
a design finds no effect where there is none and a clear one where it is strong; bad input is
one line, exit 2, nothing written.

No test here asserts that a kind's effect is within its published range: the model's programs
are being recalibrated against exactly these numbers.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import VPSIM

from sim import evaluate as ev
from sim.codes import (
    ARRESTS,
    COMPLETER,
    DROPOUT,
    FIREARM_INCIDENTS,
    NEVER,
    OTHER_OFFENCES,
    VIOLENT_ARRESTS,
    VIOLENT_OFFENCES,
    WAITLISTED,
    age_in_years,
)
from sim.config import ConfigError, load
from sim.model import ViolencePreventionModel

SMALL = ["population=small", "progress=false", "figures=false"]
CBT = "scenario.programs.cbt_youth"
REENTRY = "scenario.programs.reentry_employment"


# -- what a study records ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lottery_runs():
    """The cbt_youth lottery on `small` (4 communities' youth, 3 years), with and without the
    study's records."""
    cfg = load([*SMALL, "scenario=cbt_youth", "years=3", f"{CBT}.capacity=null",
                f"{CBT}.coverage=0.5", f"{CBT}.targeting.most_violent_communities=4"])
    plain = ViolencePreventionModel(cfg)
    plain.run()
    study = ev.StudyModel(cfg, lottery="cbt_youth", offences=True)
    study.run()
    return plain, study


def test_a_study_changes_nothing_in_the_run(lottery_runs):
    plain, study = lottery_runs
    assert np.array_equal(plain.history, study.history)
    for name in plain.residents._fields:
        assert np.array_equal(getattr(plain.residents, name), getattr(study.residents, name)), name
    assert np.array_equal(plain.programs.tables.ind_status, study.programs.tables.ind_status)


def test_the_study_records_add_up_to_the_models_counts(lottery_runs):
    _, study = lottery_runs
    weekly = study.history[study.first_week:].sum(axis=(2, 3), dtype=np.int64)
    assert weekly[:, FIREARM_INCIDENTS].sum() > 0 and weekly[:, VIOLENT_ARRESTS].sum() > 0
    # by community, week by week: every firearm incident, violent incident and arrest, once
    assert np.array_equal(study.community_firearm_incidents.sum(axis=1),
                          weekly[:, FIREARM_INCIDENTS])
    assert np.array_equal(study.community_violent_incidents.sum(axis=1),
                          weekly[:, VIOLENT_OFFENCES])
    assert np.array_equal(study.community_arrests.sum(axis=1), weekly[:, ARRESTS])
    arrests, offences = study.arrest_log(), study.offence_log()
    assert len(arrests) == weekly[:, ARRESTS].sum()
    assert arrests.violent.sum() == weekly[:, VIOLENT_ARRESTS].sum()
    assert len(offences) == weekly[:, VIOLENT_OFFENCES].sum() + weekly[:, OTHER_OFFENCES].sum()
    assert offences.violent.sum() == weekly[:, VIOLENT_OFFENCES].sum()


def test_the_lottery_assigns_each_person_once_and_never_offers_the_waiting_list(lottery_runs):
    _, study = lottery_runs
    cohort = study.cohort()
    assert len(cohort) > 50
    assert not cohort.duplicated(["slot", "birth_week"]).any()
    assert 0.3 < cohort.offered.mean() < 0.7  # a fair coin (coverage 0.5)
    assert not cohort.took_up[~cohort.offered].any()
    # who is still here at the end: the waiting list still waits, the offered were placed
    r, status = study.residents, study.programs.tables.ind_status[0]
    here = cohort[r.birth_week[cohort.slot] == cohort.birth_week]
    waiting = status[here.slot[~here.offered]]
    assert (waiting == WAITLISTED).all()
    placed = status[here.slot[here.took_up]]
    assert np.isin(placed, [COMPLETER, DROPOUT]).all()


def test_a_panel_holds_the_ages_at_the_start_and_the_week_each_left():
    cfg = load([*SMALL, "scenario=school_education", "years=3",
                "scenario.programs.school_education.start_week=10"])
    study = ev.StudyModel(cfg, panel_kind="school_education", panel_ages=(10, 11))
    study.run()
    start = study.programs.by_kind("school_education").start
    panel, left = study.panel, study.panel_left()
    assert len(panel) > 100
    assert set(age_in_years(start, panel.birth_week.to_numpy())) == {10, 11}
    still_here = study.residents.birth_week[panel.slot] == panel.birth_week
    assert (left[still_here] == NEVER).all()
    assert ((left[~still_here] >= start) & (left[~still_here] < study.total_weeks)).all()


# -- estimators on made-up data ------------------------------------------------------------------
def test_difference_in_differences_gives_the_known_answer():
    # treated fall from 100 to 80 while the comparison stays at 50: -20%
    assert ev.difference_in_differences(100, 80, 50, 50, "x") == pytest.approx(-0.2)
    # both rise by 20%: no effect
    assert ev.difference_in_differences(100, 120, 50, 60, "x") == pytest.approx(0.0)
    # the treated stay while the comparison rises by 25%: -20% relative to the trend
    assert ev.difference_in_differences(40, 40, 80, 100, "x") == pytest.approx(-0.2)
    with pytest.raises(ev.EvaluationError, match="comparison before"):
        ev.difference_in_differences(10, 8, 0, 5, "shootings")


def test_matching_takes_the_nearest_untreated_without_replacement():
    # communities 0, 1 treated; candidates 2-5; features: (violence, disadvantage)
    features = np.array([[10.0, 1.0], [9.0, 1.0], [9.5, 1.0], [1.0, 0.0], [8.0, 1.0],
                         [2.0, -1.0]])
    chosen = ev.match_comparisons(np.array([0, 1]), np.array([2, 3, 4, 5]), features)
    assert chosen.tolist() == [2, 4]  # 0 (more violent) chooses first: 2; then 1 gets 4
    with pytest.raises(ev.EvaluationError, match="only 1 untreated"):
        ev.match_comparisons(np.array([0, 1]), np.array([2]), features)


def test_events_are_counted_for_the_person_and_within_the_window():
    people = pd.DataFrame({"slot": [7, 7, 9], "birth_week": [100, 900, 100]})
    log = pd.DataFrame({"week": [10, 20, 29, 30, 25, 12],
                        "slot": [7, 7, 7, 7, 7, 9],
                        "birth_week": [100, 100, 100, 100, 900, 100]})
    # person (7, 100) from week 10 for 20 weeks: weeks 10, 20 and 29 (30 is out);
    # (7, 900), the slot's next resident, from week 20: week 25; (9, 100) from week 13: none
    counts = ev.events_within(people, np.array([10, 20, 13]), log, 20)
    assert counts.tolist() == [3, 1, 0]


def test_a_relative_change_without_comparison_events_is_refused():
    assert ev.relative_change(3.0, 4.0, "arrests") == pytest.approx(-0.25)
    with pytest.raises(ev.EvaluationError, match="no arrests in the comparison group"):
        ev.relative_change(3.0, 0.0, "arrests")


def test_program_overrides_reach_only_their_own_kind_under_all():
    given = ["seed=3", f"{CBT}.effect=1.0", "behaviour.peer_contagion=0.2", f"~{REENTRY}"]
    assert ev.own_overrides("cbt_youth", given) == ["seed=3", f"{CBT}.effect=1.0",
                                                    "behaviour.peer_contagion=0.2"]
    assert ev.own_overrides("reentry_employment", given) == [
        "seed=3", "behaviour.peer_contagion=0.2", f"~{REENTRY}"]


def test_every_kind_has_one_evaluation_and_checked_ones_have_a_range():
    from sim.catalogue import KINDS

    assert set(ev.EVALUATIONS) == set(KINDS)
    for e in ev.EVALUATIONS.values():
        assert e.source and e.design and e.outcome and e.window
        if e.status == ev.CHECKED:
            assert e.published_low < e.published_high
        if e.status == ev.ILLUSTRATIVE:
            assert e.published_low is None and e.published_high is None


# -- designs on small, two seeds -----------------------------------------------------------------
def _standard_errors(result: dict) -> list[float]:
    """Binomial standard error of each seed's difference of shares."""
    out = []
    for s in result["per_seed"]:
        p1, p0 = s["program_arm"], s["comparison_arm"]
        out.append(math.sqrt(p1 * (1 - p1) / s["offered"] + p0 * (1 - p0) / s["waiting_list"]))
    return out


def test_a_lottery_of_a_program_without_effect_finds_none():
    result = ev.evaluate("reentry_employment", [f"{REENTRY}.effect=1.0"], seeds=2,
                         profile="small", workers=1)
    assert result["ci_low"] <= 0.0 <= result["ci_high"]
    for s, se in zip(result["per_seed"], _standard_errors(result)):
        assert s["offered"] > 300 and s["waiting_list"] > 300
        assert abs(s["effect"]) < 3 * se, (s, se)


def test_a_lottery_of_a_strong_program_finds_a_clear_effect():
    result = ev.evaluate("reentry_employment", [f"{REENTRY}.effect=0.1"], seeds=2,
                         profile="small", workers=1)
    for s, se in zip(result["per_seed"], _standard_errors(result)):
        assert s["effect"] < -3 * se, (s, se)
    assert result["ci_high"] < 0.0
    assert result["status"] == ev.CHECKED and result["estimand"] == ev.DIFFERENCE


CBT_ALL_YOUTH = [f"{CBT}.targeting.most_violent_communities=8",
                 f"{CBT}.targeting.risk_percentile=0"]


def test_treatment_on_the_treated_is_intention_to_treat_over_take_up():
    result = ev.evaluate("cbt_youth", [*CBT_ALL_YOUTH, f"{CBT}.effect=1.0"], seeds=2,
                         profile="small", workers=1)
    for s in result["per_seed"]:
        assert 0.3 < s["take_up"] < 0.9
        assert s["effect"] == pytest.approx(s["intention_to_treat"] / s["take_up"])
        assert s["intention_to_treat"] == pytest.approx(
            s["program_arm"] / s["comparison_arm"] - 1.0)
        # without effect, the placebo run is the same run: no difference at all
        assert s["placebo_paired"] == 0.0 and s["waiting_list_spillover"] == 0.0


def test_the_placebo_paired_effect_finds_a_strong_program():
    result = ev.evaluate("cbt_youth", [*CBT_ALL_YOUTH, f"{CBT}.effect=0.2"], seeds=2,
                         profile="small", workers=1)
    paired = result["secondary"]["placebo_paired"]
    assert all(v < 0.0 for v in paired["per_seed"]) and paired["mean"] < -0.25, paired


VIOLENCE = "scenario.programs.violence_interruption"


def test_matched_areas_without_effect_find_none_and_with_a_strong_one_a_fall():
    # 5 of the 16 communities, so that each site's violence counts
    common = [f"{VIOLENCE}.targeting.most_violent_communities=5"]
    none = ev.evaluate("violence_interruption", [*common, f"{VIOLENCE}.effect=1.0",
                                                 f"{VIOLENCE}.mediation=0.0"], seeds=2,
                       profile="small", workers=1)
    strong = ev.evaluate("violence_interruption", [*common, f"{VIOLENCE}.effect=0.1"],
                         seeds=2, profile="small", workers=1)
    for r in (none, strong):
        assert len(r["per_seed"][0]["treated"]) == 5
        assert not set(r["per_seed"][0]["treated"]) & set(r["per_seed"][0]["comparison"])
    assert none["ci_low"] <= 0.0 <= none["ci_high"]
    assert none["secondary"]["violent_incidents"]["ci_low"] <= 0.0 \
        <= none["secondary"]["violent_incidents"]["ci_high"]
    # without effect the placebo run is the same run: the sites against themselves, no change
    assert all(s["placebo_paired"] == 0.0 and s["comparison_spillover"] == 0.0
               for s in none["per_seed"])
    for s in strong["per_seed"]:
        assert s["violent_incidents"] < -0.25 and s["effect"] < 0.0, s
        assert s["placebo_paired"] < -0.25, s


def test_the_paired_community_panel_of_a_program_without_effect_finds_none_against_itself():
    runs, _ = ev.plan("school_education", ["scenario.programs.school_education.effect=1.0"],
                      "small")
    s = ev.measure_seed("school_education", runs, 0)
    assert "error" not in s, s
    assert s["panel_treated"] > 50 and s["panel_control"] > 50
    assert len(s["treated"]) == len(s["control"]) and not set(s["treated"]) & set(s["control"])
    assert s["placebo_paired"] == 0.0 and s["comparison_spillover"] == 0.0


def test_the_randomised_design_ranks_communities_as_the_program_does():
    """Its first pass (run to the start) sees what the program would have covered: the same
    draws until the start, so the 2N candidates begin with the program's own N."""
    _, cfg = ev.plan("hotspot_policing", [], "small")
    n = cfg.scenario.programs["hotspot_policing"].targeting.most_violent_communities
    candidates = ev._most_violent_at_start(cfg, "hotspot_policing", n)
    model = ViolencePreventionModel(cfg)
    start = cfg.scenario.programs["hotspot_policing"].start_week
    model.run(weeks=model.burn_in_weeks + start + 1)  # its choice at the start (hot spots move)
    covered = np.flatnonzero(model.programs.by_kind("hotspot_policing").covered)
    assert sorted(candidates[:n].tolist()) == covered.tolist()
    assert len(set(candidates.tolist())) == 2 * n


def test_the_years_a_design_needs_are_checked_before_it_runs():
    with pytest.raises(ConfigError, match=r"^years = 4: .*allowed >= 5"):
        ev.plan("violence_interruption", ["years=4"], "small")
    with pytest.raises(ConfigError, match=r"start_week = 10: .*allowed >= 104"):
        ev.plan("violence_interruption", [f"{VIOLENCE}.start_week=10"], "small")
    with pytest.raises(ConfigError, match=r"priority = 'risk': a lottery"):
        ev.plan("cbt_youth", [f"{CBT}.coverage=null", f"{CBT}.capacity=100"], "small")


# -- the command ----------------------------------------------------------------------------------
KEYS = {"program", "design", "outcome", "model_effect", "ci_low", "ci_high", "published_low",
        "published_high", "source", "status", "within"}


@pytest.fixture(scope="module")
def hotspot_evaluation(tmp_path_factory):
    """`vpsim-evaluate hotspot_policing` on small, 2 seeds (in this process; the seeds in two
    spawned workers)."""
    out = tmp_path_factory.mktemp("evaluation") / "hotspots"
    ev.main(["hotspot_policing", "--seeds", "2", "--profile", "small", "--out", str(out)])
    return out


def test_the_command_writes_evaluation_json_with_the_keys(hotspot_evaluation):
    out = hotspot_evaluation
    assert sorted(p.name for p in out.iterdir()) == ["evaluation.json"]  # no temporary file
    result = json.loads((out / "evaluation.json").read_text())
    assert KEYS <= set(result)
    assert result["program"] == "hotspot_policing" and result["seeds"] == [0, 1]
    assert result["ci_low"] <= result["model_effect"] <= result["ci_high"]
    assert result["published_low"] == -0.08 and result["published_high"] == -0.04
    assert result["within"] == (-0.08 <= result["model_effect"] <= -0.04)
    assert [s["seed"] for s in result["per_seed"]] == [0, 1]
    assert set(result["secondary"]) == {"catchment", "arrests", "placebo_paired",
                                        "comparison_spillover"}


def test_a_full_disk_leaves_no_evaluation_json(tmp_path, monkeypatch, capsys):
    import errno
    import os

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ev, "run_evaluations", lambda kinds, runs, seeds, workers=2: {
        k: [{"seed": s, "effect": -0.1, "placebo_paired": -0.1} for s in seeds[k]]
        for k in kinds})
    monkeypatch.setattr(os, "replace", no_space)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as stop:
        ev.main(["hotspot_policing", "--seeds", "2", "--profile", "small", "--out", str(out)])
    assert stop.value.code == ev.EXIT_FAILED
    err = capsys.readouterr().err.strip()
    assert err == f"vpsim-evaluate: no space left on device writing {out / 'evaluation.json'}"
    assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.parametrize("args, names", [
    (["focused_deterence"], "PROGRAM = 'focused_deterence' is not a program kind: allowed all"),
    (["cbt_youth", "--seeds", "1"], "--seeds = '1': allowed an integer >= 2"),
    (["cbt_youth", "--seeds", "five"], "--seeds = 'five': allowed an integer >= 2"),
    (["cbt_youth", "--profile", "town"], "--profile = 'town' is not a population profile: "
                                         "allowed brazil, canada, chile, city"),
    (["cbt_youth", "behaviour.peer_contagion=9"], "behaviour.peer_contagion = 9.0 is out of "
                                                  "range"),
    (["cbt_youth", "behaviour.peer_contagoin=0.1"], "behaviour.peer_contagoin"),
    (["violence_interruption", "years=2"], "start_week = 104 is out of range: allowed [0, 103] "
                                           "(weeks after burn-in; the run ends after 2 years)"),
    (["all", "years=2"], "reentry_employment: years = 2: "),
    (["cbt_youth", f"{REENTRY}.effect=0.5"], "scenario.programs.reentry_employment"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, args, names):
    out = tmp_path / "out"
    profile = [] if "--profile" in args else ["--profile", "small"]
    with pytest.raises(SystemExit) as stop:
        ev.main([*args, *profile, "--out", str(out)])
    assert stop.value.code == ev.EXIT_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("vpsim-evaluate: error: "), err
    assert names in err, err
    assert list(tmp_path.iterdir()) == []


def test_the_console_script_refuses_bad_input_with_exit_2(tmp_path):
    done = subprocess.run([str(Path(VPSIM).with_name("vpsim-evaluate")), "cbt_youth", "--seeds",
                           "1", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "vpsim-evaluate: error: --seeds = '1': allowed an integer >= 2 (a 95% interval needs "
        "replicates)"]
    assert list(tmp_path.iterdir()) == []


def test_an_output_folder_that_is_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("mine")
    with pytest.raises(SystemExit) as stop:
        ev.main(["cbt_youth", "--profile", "small", "--out", str(target)])
    assert stop.value.code == ev.EXIT_INPUT
    assert "is a file" in capsys.readouterr().err
    assert target.read_text() == "mine"


def test_evidence_md_has_a_row_per_kind_and_says_what_is_checked():
    seeds = [{"seed": k, "effect": e, "placebo_paired": e, "placebo_paired_offences": e}
             for k, e in enumerate((-0.47, -0.48))]
    results = {kind: ev.assemble(kind, seeds, profile="small", overrides=[], run_overrides=[])
               for kind in ev.EVALUATIONS}
    results["focused_deterrence"] = "focused_deterrence: seed 1: no violent incidents"
    text = ev.evidence_markdown(results, command="vpsim-evaluate all", profile="small",
                                seeds=2, seconds=1.0)
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 1 + len(ev.EVALUATIONS)
    by_kind = {row.split(" | ")[0].removeprefix("| "): row for row in rows[1:]}
    assert set(by_kind) == set(ev.EVALUATIONS)
    # -47.5% (-54% to -41%): within cbt_youth's -50% to -45%; as a difference of shares far
    # from reentry's -0.13 to -0.07, the interval too; below zero where only the sign is known
    assert by_kind["cbt_youth"].endswith("| within (placebo-paired-offences) |")
    assert by_kind["reentry_employment"].endswith("| outside |")
    assert by_kind["school_education"].endswith("| direction: below zero |")
    assert by_kind["community_participation"].endswith("| illustrative: no check |")
    assert by_kind["focused_deterrence"].endswith("| no result |")
    assert "failed: focused_deterrence: seed 1" in by_kind["focused_deterrence"]
    assert "street" in text  # the hot-spot translation is stated
