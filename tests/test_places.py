"""Places of the Americas: profiles built from published figures (sim/places.py, vpsim-place).

Each shipped place has a figures file (experiments/places/<name>.yaml): settings taken as
published, targets its place effects were fitted to (seeds 100-102), checks never fitted. The
slow tests run each place on seeds 0-4 (not the fit's) and hold every target to its tolerance
(homicide rate 25%, prison population rate 30%, pretrial share 25%, firearm share 10%):
in-sample, on other seeds; the checks are reported in configs/CALIBRATION.md, not asserted.
"""

from __future__ import annotations

import math
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest
import yaml
from helpers import REPO

from sim import places
from sim.config import ConfigError, load
from sim.config_files import CONFIG_DIR

PLACES = sorted(p.stem for p in places.FIGURES_DIR.glob("*.yaml"))
PLACE_COMMAND = str(Path(sys.executable).with_name("vpsim-place"))


def test_at_least_eight_places_of_the_americas_and_a_low_violence_reference():
    assert len(PLACES) >= 8
    assert {"honduras", "el_salvador", "guatemala", "mexico", "colombia", "brazil", "jamaica",
            "trinidad_and_tobago"} <= set(PLACES)
    assert {"chile", "canada"} & set(PLACES)
    for name in PLACES:
        assert (CONFIG_DIR / "population" / f"{name}.yaml").is_file(), name


@pytest.mark.parametrize("name", PLACES)
def test_each_profile_holds_its_figures_settings_and_sources(name):
    """The profile sets what its figures file says, with the source beside each value."""
    figures = places.read_figures(places.FIGURES_DIR / f"{name}.yaml")
    assert figures.name == name
    assert {"homicides_per_100k_all_ages_per_year", "incarcerated_per_100k_all_ages",
            "pretrial_share_of_prisoners"} <= set(figures.targets)
    cfg = load([f"population={name}"])
    for key, fig in figures.settings.items():
        if key == "justice.pretrial_median_weeks" and \
                cfg.justice.pretrial_detention == places.PRETRIAL_CAP:
            continue  # the share held reached its cap: the time held was fitted instead
        section, *rest = key.split(".")
        value = getattr(cfg, section)
        for part in rest:
            value = getattr(value, part)
        assert value == pytest.approx(fig.value), key
        assert fig.source and fig.year is not None or fig.source == "illustrative", key
    text = (CONFIG_DIR / "population" / f"{name}.yaml").read_text()
    for line in text.splitlines():
        if ":" in line and not line.lstrip().startswith(("#", "-")) and \
                line.split(":")[1].strip() and line.strip().split(":")[0] != "name":
            assert "#" in line, f"{name}: a value without its source: {line}"


def test_a_place_brings_its_justice_and_the_command_line_still_wins():
    assert load(["population=city"]).justice.clearance_homicide == 0.6
    honduras = load(["population=honduras"])
    assert honduras.justice.clearance_homicide == pytest.approx(0.062)
    assert honduras.justice.pretrial_detention > 0
    assert load(["population=honduras", "justice.clearance_homicide=0.5"]
                ).justice.clearance_homicide == 0.5


def test_no_place_sets_what_a_structure_fits():
    """A structure's fitted values and a place's never meet, so the order of the groups in
    configs/config.yaml cannot change either. (`city`, the reference, holds the default
    structure's fitted values; a structure replaces them.)"""
    fitted = set()
    for path in (CONFIG_DIR / "structure").glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        for section in ("behaviour", "justice", "population"):
            fitted |= {f"{section}.{k}" for k in data.get(section) or {}}
    for path in (CONFIG_DIR / "population" / f"{name}.yaml" for name in PLACES):
        data = yaml.safe_load(path.read_text())
        for section in ("behaviour", "justice", "population"):
            keys = {f"{section}.{k}" for k in data.get(section) or {}}
            assert not keys & fitted, f"{path.name}: {sorted(keys & fitted)}"


@pytest.mark.parametrize("change, message", [
    ({"colour": 1}, "unknown field 'colour'"),
    ({"base": "atlantis"}, "base: no population profile 'atlantis'"),
    ({"name": "../x"}, "name"),
    ({"targets": {"violence": {"value": 1, "source": "x"}}}, "targets.violence: not a target"),
    ({"targets": {"homicides_per_100k_all_ages_per_year": {"value": 900, "source": "x"}}},
     r"targets.homicides_per_100k_all_ages_per_year.value: 900 is outside \[0.1, 300\]"),
    ({"targets": {"pretrial_share_of_prisoners": {"value": 0.3}}},
     "targets.pretrial_share_of_prisoners.source: say where"),
    ({"targets": {"pretrial_share_of_prisoners": {"value": 0.3, "source": "x",
                                                  "tolerance": 3}}}, "tolerance"),
    ({"settings": {"population.male_share": {"value": 1.5, "source": "x"}}},
     "population.male_share"),
    ({"settings": {"population.clearance_level": {"value": 0.5, "source": "x"}}},
     "fitted to a target"),
    ({"settings": {"behaviour.lethality": {"value": 0.5, "source": "x"}}},
     "a place sets population"),
])
def test_a_bad_figures_file_is_refused_in_one_line_naming_the_field(tmp_path, change, message):
    data = yaml.safe_load((places.FIGURES_DIR / "chile.yaml").read_text())
    for key, value in change.items():
        data[key] = value
    path = tmp_path / "figures.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=message) as error:
        places.read_figures(path)
    assert "\n" not in str(error.value)


def test_vpsim_place_refuses_bad_input_and_writes_nothing(tmp_path):
    def run(*args):
        return subprocess.run([PLACE_COMMAND, *args], capture_output=True, text=True,
                              timeout=120, cwd=tmp_path)

    missing = run("new", "x", "--from", str(tmp_path / "nope.yaml"), "--out", str(tmp_path))
    assert missing.returncode == 2 and "--from: no such file" in missing.stderr
    existing = tmp_path / "chile.yaml"
    existing.write_text("kept\n")
    refused = run("new", "chile", "--from", str(places.FIGURES_DIR / "chile.yaml"), "--out",
                  str(tmp_path))
    assert refused.returncode == 2 and "exists" in refused.stderr
    assert existing.read_text() == "kept\n"
    seeds = run("new", "y", "--from", str(places.FIGURES_DIR / "chile.yaml"), "--out",
                str(tmp_path), "--seeds", "abc")
    assert seeds.returncode == 2 and "--seeds" in seeds.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chile.yaml"]


def test_the_profile_writer_gives_the_fitted_values_and_their_split():
    figures = places.read_figures(places.FIGURES_DIR / "honduras.yaml")
    effects = {"homicides_per_100k_all_ages_per_year": 4.0,
               "incarcerated_per_100k_all_ages": 0.01, "pretrial_share_of_prisoners": 0.3,
               "firearm_share_of_homicides": 1.2}
    text = places.profile_text(figures, effects, seeds=[100, 101, 102],
                               source_path="experiments/places/honduras.yaml")
    data = yaml.safe_load(text)
    assert text.startswith("# @package _global_")
    assert data["defaults"] == ["city", "_self_"]
    pop, jus = data["population"], data["justice"]
    assert pop["offending_level"] * pop["lethality_level"] == pytest.approx(4.0)
    assert pop["offending_level"] == pytest.approx(2.0)
    assert pop["clearance_level"] == 0.01 and pop["firearm_carrying"]["scale"] == 1.2
    assert jus["pretrial_detention"] == 0.3 and jus["clearance_homicide"] == 0.062
    assert pop["share_of_all_ages"] == figures.settings["population.share_of_all_ages"].value
    assert jus["pretrial_median_weeks"] == 26  # the setting, below the cap
    held = yaml.safe_load(places.profile_text(
        figures, {**effects, "pretrial_share_of_prisoners": 1.6}, seeds=[100],
        source_path="x.yaml"))["justice"]
    assert held["pretrial_detention"] == places.PRETRIAL_CAP
    assert held["pretrial_median_weeks"] == pytest.approx(26 * 1.6 / places.PRETRIAL_CAP)


# -- slow: the fit holds on other seeds; the command builds a place --------------------------

def _summary(args):
    from sim.api import summary_of

    return summary_of(args)


@pytest.fixture(scope="module")
def place_runs():
    """Every place on seeds 0-4 (the fit used 100-102), run once for the module."""
    jobs = [(name, [f"population={name}", f"seed={seed}"]) for name in PLACES
            for seed in range(5)]
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        results = list(pool.map(_summary, [args for _, args in jobs]))
    out: dict[str, list[dict]] = {}
    for (name, _), summary in zip(jobs, results):
        out.setdefault(name, []).append(summary)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", PLACES)
def test_each_place_fits_its_published_figures_on_other_seeds(place_runs, name):
    figures = places.read_figures(places.FIGURES_DIR / f"{name}.yaml")
    rows = places.fit_table(figures, place_runs[name])
    for row in rows:
        if row["kind"] == "target":
            assert row["within"], (f"{name}: {row['key']} {row['model']:.4g} against "
                                   f"{row['published']:g} +-{row['tolerance']:.0%}")
            assert math.isfinite(row["low"])


@pytest.mark.slow
def test_vpsim_place_builds_a_shipped_place_from_its_figures_file(tmp_path):
    """The planner's path, on Chile's figures: read, fit, write, print the fit table. The
    profile it writes has the figures' settings and place effects near the shipped ones
    (the same seeds and rules: equal unless the model changed since they were fitted)."""
    result = subprocess.run([PLACE_COMMAND, "new", "chile", "--from",
                             str(places.FIGURES_DIR / "chile.yaml"), "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=1800, cwd=REPO)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "figure" in result.stdout and "ok (+-25%)" in result.stdout
    assert "MISS" not in result.stdout
    built = yaml.safe_load((tmp_path / "chile.yaml").read_text())
    shipped = yaml.safe_load((CONFIG_DIR / "population" / "chile.yaml").read_text())
    assert built["justice"]["clearance_homicide"] == shipped["justice"]["clearance_homicide"]
    for key in ("offending_level", "lethality_level", "clearance_level"):
        assert built["population"][key] == pytest.approx(shipped["population"][key], rel=0.3)
