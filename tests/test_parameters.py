"""The parameter catalogue (issue 14, item 1): complete, consistent with the schema and with every
shipped place and structure, the one source of the configs' inline comments, PARAMETERS.md and
`vpsim --help`; its plausible ranges stay out of the runaway region (slow)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim import api
from sim import parameters as catalogue
from sim.config import CONFIG_DIR, ConfigError, load

PLACES = sorted(p.stem for p in (CONFIG_DIR / "population").glob("*.yaml"))
STRUCTURES = sorted(p.stem for p in (CONFIG_DIR / "structure").glob("*.yaml"))


@pytest.mark.parametrize("structure", STRUCTURES)
@pytest.mark.parametrize("population", PLACES)
def test_every_parameter_is_catalogued_and_its_default_is_plausible(population, structure):
    """Every key of the schema (behaviour, justice, population) and every key a kind's scenario
    file sets has an entry; kinds and bases are known; plausible ranges lie within the allowed
    ones; each place's and structure's defaults lie within their plausible ranges."""
    assert catalogue.problems(population, structure) == []


def test_the_checks_find_a_missing_entry_and_an_implausible_default(monkeypatch):
    full = catalogue.entries()
    missing = {k: v for k, v in full.items() if k != "behaviour.retaliation"}
    monkeypatch.setattr(catalogue, "entries", lambda: missing)
    assert "behaviour.retaliation: not in the catalogue (parameters.yaml)" in \
        catalogue.problems()
    narrow = dict(full)
    narrow["justice.clearance_homicide"] = {**full["justice.clearance_homicide"],
                                            "plausible": [0.7, 0.8]}
    monkeypatch.setattr(catalogue, "entries", lambda: narrow)
    assert any(p.startswith("justice.clearance_homicide: default 0.6")
               for p in catalogue.problems())
    outside = dict(full)
    outside["behaviour.peer_contagion"] = {**full["behaviour.peer_contagion"],
                                           "plausible": [0.1, 0.6]}
    monkeypatch.setattr(catalogue, "entries", lambda: outside)
    assert any("plausible [0.1, 0.6] is not within allowed" in p for p in catalogue.problems())


def test_the_configs_comments_and_the_table_are_generated_from_the_catalogue():
    """Edit sim/parameters.yaml, then `vpsim-params --write`: nothing is kept twice by hand."""
    for section, path in catalogue.GENERATED_FILES.items():
        assert catalogue.with_comments(path, section) == path.read_text(), (
            f"{path} is out of date: run vpsim-params --write")
    assert catalogue.TABLE_FILE.read_text() == catalogue.markdown(catalogue.parameters()) + "\n"
    params = catalogue.by_key()
    line = next(x for x in catalogue.GENERATED_FILES["justice"].read_text().splitlines()
                if x.startswith("cost_per_officer_year:"))
    assert line.endswith("# " + catalogue.comment(params["justice.cost_per_officer_year"]))


def test_a_config_line_gets_its_comment_from_its_entry_nested_keys_included(tmp_path):
    path = tmp_path / "behaviour.yaml"
    path.write_text("# a block comment stays\nrisk:   # a mapping keeps its own\n"
                    "  gang_membership: 1.2  # stale words\npeer_contagion: 0.3\n")
    params = catalogue.by_key()
    lines = catalogue.with_comments(path, "behaviour").splitlines()
    assert lines[:2] == ["# a block comment stays", "risk:   # a mapping keeps its own"]
    assert lines[2].startswith("  gang_membership: 1.2") and "stale" not in lines[2]
    assert lines[2].endswith(catalogue.comment(params["behaviour.risk.gang_membership"]))
    assert lines[3].endswith(catalogue.comment(params["behaviour.peer_contagion"]))


def test_json_lists_every_parameter_with_both_ranges_where_it_is_drawn(capsys):
    assert catalogue.main(["--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == len(catalogue.entries())
    fields = {"key", "default", "unit", "kind", "source", "allowed", "plausible", "basis"}
    assert all(fields <= r.keys() for r in records)
    drawn = [r for r in records if r["plausible"] is not None]
    assert len(drawn) > 80
    for r in drawn:
        lo, hi = r["plausible"]
        assert lo < hi and r["kind"] != "setting", r["key"]
        if isinstance(r["default"], (int, float)):
            assert lo <= r["default"] <= hi, r["key"]
    kinds = {r["kind"] for r in records}
    assert kinds == set(catalogue.KIND_NAMES)
    # a program's effect is catalogued with the range the config check allows
    effect = next(r for r in records if r["key"] == "scenario.programs.hotspot_policing.effect")
    assert effect["allowed"] == [0.5, 2.0] and effect["default"] == pytest.approx(1.13)


def test_the_command_filters_and_refuses_a_place_that_does_not_exist(capsys):
    assert catalogue.main(["--kind", "fitted", "--section", "justice"]) == 0
    out = capsys.readouterr().out
    assert "justice.clearance_other" in out and "justice.clearance_violent" not in out
    assert catalogue.main(["--population", "atlantis"]) == 2
    assert "population" in capsys.readouterr().err


def test_defaults_follow_the_place_and_relative_ranges_scale_with_it():
    us, sv = catalogue.by_key("city"), catalogue.by_key("el_salvador")
    assert us["population.offending_level"].default == 1.0
    level = sv["population.offending_level"]
    assert level.default > 1.5 and level.relative
    assert level.plausible[0] == pytest.approx(0.8 * level.default)
    assert level.plausible[1] == min(1.25 * level.default, level.allowed[1])
    fitted = catalogue.by_key(structure="criminogenic_prison")
    assert fitted["behaviour.prior_incarceration"].default == pytest.approx(math.log(1.3), 1e-3)


def test_the_api_gives_records_and_plausible_ranges_and_names_a_bad_key():
    records = api.parameters(kind="sourced")
    assert records and all(r["kind"] == "sourced" for r in records)
    ranges = api.plausible_ranges(["behaviour.peer_contagion", "justice.clearance_violent"])
    assert list(ranges) == ["behaviour.peer_contagion", "justice.clearance_violent"]
    assert ranges["behaviour.peer_contagion"] == (0.15, 0.35)
    with pytest.raises(ConfigError, match="behaviour.peer_contagoin: not in the parameter"):
        api.plausible_ranges(["behaviour.peer_contagoin"])
    with pytest.raises(ConfigError, match="population.size: has no plausible range"):
        api.plausible_ranges(["population.size"])
    with pytest.raises(ConfigError, match="kind = 'guessed'"):
        api.parameters(kind="guessed")


def test_vpsim_help_shows_the_catalogue_at_the_chosen_place():
    vpsim = Path(sys.executable).with_name("vpsim")
    result = subprocess.run([str(vpsim), "population=el_salvador", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines()
                if x.startswith("population.offending_level"))
    level = load(["population=el_salvador"]).population.offending_level
    assert f"{level:.6g}" in line and "fitted" in line
    assert "behaviour.peer_contagion" in result.stdout and "vpsim-params" in result.stdout


# -- the plausible box runs (slow) -----------------------------------------------------------

@pytest.mark.slow
def test_the_plausible_box_stays_out_of_the_runaway_region():
    """A Latin hypercube over every behavioural, justice and population parameter's plausible
    range at once (the prior of an uncertainty analysis): each draw runs on `small` within the
    physical bounds of tests/test_ranges.py."""
    from test_ranges import MAX_HOMICIDES_PER_100K, MAX_INCARCERATED_SHARE, MAX_VIOLENT_PER_100K

    params = [p for p in catalogue.parameters("small")
              if p.plausible is not None and p.section != "programs"]
    draws, rng = 40, np.random.default_rng(2026)
    # one stratum of each parameter's range per draw, shuffled independently
    u = (rng.permuted(np.tile(np.arange(draws), (len(params), 1)), axis=1).T
         + rng.random((draws, len(params)))) / draws
    experiments = []
    for row in u:
        values = {}
        for p, x in zip(params, row, strict=True):
            lo, hi = p.plausible
            v = lo + x * (hi - lo)
            values[p.key] = int(round(v)) if isinstance(p.default, int) else float(v)
        experiments.append(values)
    results = api.run_experiments(experiments, population="small", seed=1, years=5,
                                  burn_in_years=10)
    for values, out in zip(experiments, results, strict=True):
        assert out["incarcerated_per_100k"] <= MAX_INCARCERATED_SHARE * 1e5, values
        assert out["violent_incidents_per_100k_per_year"] <= MAX_VIOLENT_PER_100K, values
        assert out["homicides_per_100k_per_year"] <= MAX_HOMICIDES_PER_100K, values
