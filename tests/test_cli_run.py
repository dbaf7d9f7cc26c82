"""End to end: `vpsim population=small` writes a complete, self-consistent run directory."""

import json
import os
import subprocess
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import VPSIM, WEEKS_PER_YEAR
from PIL import Image

from sim import codes
from sim.cli import HEADLINE
from sim.codes import STAT_NAMES
from sim.outcomes import RELEASE_AGE_GROUPS, SEXES

YEARS, BURN_IN_YEARS = 3, 1

REQUIRED_KEYS = (
    "residents", "years", "seed", "violent_incidents_per_100k_per_year",
    "homicides_per_100k_per_year", "share_victimised_per_year", "arrests_per_100k_per_year",
    "prison_admissions_per_100k_per_year", "incarcerated_per_100k", "rearrest_within_1_year",
    "rearrest_within_3_years", "rearrest_within_5_years", "reincarceration_within_3_years",
    "male_share_of_offenders", "offending_rate_by_age_band",
    "rearrest_within_5_years_by_age_at_release", "community_violence_p90_p10_ratio",
    "cost_incarceration",
)
FIGURES = ("violence_incarceration.png", "age_crime_curve.png", "recidivism.png")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One CLI run on the small profile, shared by the tests of this module."""
    cwd = tmp_path_factory.mktemp("cli")
    run_dir = cwd / "run"
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    done = subprocess.run(
        [VPSIM, "population=small", f"years={YEARS}", f"burn_in_years={BURN_IN_YEARS}",
         "progress=false", f"hydra.run.dir={run_dir}"],
        cwd=cwd, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    return SimpleNamespace(
        done=done, dir=run_dir, config=config,
        summary=json.loads((run_dir / "summary.json").read_text()),
        timeseries=pd.read_parquet(run_dir / "timeseries.parquet"),
        bands=codes.band_labels(config["population"]["max_age"]))


def test_cli_prints_the_headline_table_and_the_run_directory(run):
    out = run.done.stdout
    for _, label, _ in HEADLINE:
        assert label in out
    assert f"run directory: {run.dir}" in out


def test_resolved_config_records_the_overrides(run):
    assert run.config["population"]["name"] == "small"
    assert (run.config["years"], run.config["burn_in_years"]) == (YEARS, BURN_IN_YEARS)


def test_summary_has_every_required_key(run):
    s = run.summary
    missing = [k for k in REQUIRED_KEYS if k not in s]
    assert missing == []
    assert (s["residents"], s["years"], s["seed"]) == (
        run.config["population"]["size"], YEARS, run.config["seed"])
    assert list(s["offending_rate_by_age_band"]) == run.bands
    assert set(s["rearrest_within_5_years_by_age_at_release"]) == {"<=24", "25-39", ">=40"}
    assert set(RELEASE_AGE_GROUPS) == {"<=24", "25-39", ">=40"}
    for key in ("rearrest_within_1_year", "rearrest_within_3_years", "rearrest_within_5_years",
                "reincarceration_within_3_years", "male_share_of_offenders",
                "share_victimised_per_year"):
        assert s[key] is None or 0.0 <= s[key] <= 1.0, key
    # Five years of follow-up cannot be had in a three-year run.
    assert s["rearrest_within_5_years"] is None
    assert all(v is None for v in s["rearrest_within_5_years_by_age_at_release"].values())


def test_timeseries_has_one_row_per_week_with_breakdowns_summing_to_totals(run):
    ts = run.timeseries
    weeks = (YEARS + BURN_IN_YEARS) * WEEKS_PER_YEAR
    assert len(ts) == weeks
    assert ts.week.tolist() == list(range(weeks))
    assert int(ts.burn_in.sum()) == BURN_IN_YEARS * WEEKS_PER_YEAR
    for stat in STAT_NAMES:
        parts = [f"{stat}__{sex}__{band}" for sex in SEXES for band in run.bands]
        assert all(c in ts.columns for c in parts), stat
        assert np.array_equal(ts[parts].sum(axis=1).to_numpy(), ts[stat].to_numpy()), stat
    assert (ts.population == run.config["population"]["size"]).all()


def test_summary_rates_agree_with_the_timeseries_after_burn_in(run):
    s = run.summary
    after = run.timeseries[~run.timeseries.burn_in]
    person_years = after.population.sum() / WEEKS_PER_YEAR

    def per_100k_per_year(column):
        return after[column].sum() / person_years * 1e5

    assert s["violent_incidents_per_100k_per_year"] == pytest.approx(
        per_100k_per_year("violent_offences"), rel=1e-12)
    assert s["homicides_per_100k_per_year"] == pytest.approx(
        per_100k_per_year("homicides"), rel=1e-12, abs=1e-12)
    assert s["arrests_per_100k_per_year"] == pytest.approx(per_100k_per_year("arrests"),
                                                           rel=1e-12)
    assert s["prison_admissions_per_100k_per_year"] == pytest.approx(
        per_100k_per_year("admissions"), rel=1e-12, abs=1e-12)
    assert s["incarcerated_per_100k"] == pytest.approx(
        after.incarcerated.sum() / after.population.sum() * 1e5, rel=1e-12, abs=1e-12)
    male = after[[f"violent_offences__male__{b}" for b in run.bands]].to_numpy().sum()
    assert s["male_share_of_offenders"] == pytest.approx(male / after.violent_offences.sum(),
                                                         rel=1e-12)
    # Distinct victims per year of the run, over the residents.
    new_victims_per_year = after.new_victims.to_numpy().reshape(YEARS, WEEKS_PER_YEAR).sum(1)
    assert s["share_victimised_per_year"] == pytest.approx(
        new_victims_per_year.mean() / run.config["population"]["size"], rel=1e-12)
    # Offences (violent and other) per 1,000 residents a year, by age band.
    for band in run.bands:
        cols = [f"{stat}__{sex}__{band}" for stat in ("violent_offences", "other_offences")
                for sex in SEXES]
        band_years = after[[f"population__{sex}__{band}" for sex in SEXES]].to_numpy().sum() \
            / WEEKS_PER_YEAR
        assert s["offending_rate_by_age_band"][band] == pytest.approx(
            after[cols].to_numpy().sum() / band_years * 1000, rel=1e-12, abs=1e-12), band


def test_cost_of_incarceration_is_prisoner_years_times_cost_per_prisoner_year(run):
    after = run.timeseries[~run.timeseries.burn_in]
    prisoner_years = after.incarcerated.sum() / WEEKS_PER_YEAR
    cost = run.config["justice"]["cost_per_prisoner_year"]
    assert run.summary["cost_incarceration"] == pytest.approx(prisoner_years * cost, rel=1e-12)
    assert run.summary["cost_incarceration_per_year"] == pytest.approx(
        prisoner_years * cost / YEARS, rel=1e-12)
    share = run.config["justice"]["marginal_share_of_prison_cost"]
    assert run.summary["cost_incarceration_marginal"] == pytest.approx(
        prisoner_years * cost * share, rel=1e-12)


def test_figures_are_valid_png_files(run):
    for name in FIGURES:
        path = run.dir / name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert min(image.size) > 100


def test_run_directory_holds_no_temporary_files(run):
    leftovers = [p.name for p in run.dir.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_complete_json_is_written_last_with_the_digests_of_the_results(run):
    import hashlib

    record = json.loads((run.dir / "complete.json").read_text())
    assert record["config_hash"] == run.summary["config_hash"]
    for name in ("summary.json", "timeseries.parquet"):
        assert record["sha256"][name] == hashlib.sha256((run.dir / name).read_bytes()).hexdigest()
    newest = max(p.stat().st_mtime_ns for p in run.dir.iterdir() if p.is_file()
                 and p.name != "cli.log")
    assert (run.dir / "complete.json").stat().st_mtime_ns == newest


def test_outputs_are_readable_by_colleagues_under_the_usual_umask(run):
    import stat

    umask = os.umask(0)
    os.umask(umask)
    for p in run.dir.iterdir():
        if p.is_file():
            assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask, p.name
