"""The classroom run the educators' page drives, and the page's catalogue of levers.

A classroom run is two runs with the same seed, stepped together: the policy chosen with the
switches and sliders, and a baseline without programs. They share every random draw the policy
does not change (common random numbers), so the gap between their lines is the policy's doing.
Both are burned in when the run is built; Mesa's time on the page counts weeks since the policy
started. Nothing here imports Solara: the rules are testable without the page.
"""

from __future__ import annotations

import copy
import functools

import mesa
import numpy as np

from sim import catalogue as kinds
from sim.catalogue import KINDS, Lever
from sim.codes import (
    HOMICIDES,
    INCARCERATED,
    INCARCERATED_STOCK,
    POPULATION,
    VIOLENT_OFFENCES,
    WEEKS_PER_YEAR,
)
from sim.config import (
    CONFIG_DIR,
    JusticeConfig,
    PopulationConfig,
    ProgramConfig,
    ScenarioConfig,
    VpsimConfig,
    validate,
)
from sim.config import load as _load
from sim.model import ViolencePreventionModel

REFERENCE_PROFILE = kinds.REFERENCE_PROFILE

MAX_APP_RESIDENTS = 100_000
"""Profiles above this are left out: their burn-in takes minutes, not seconds."""

WINDOW_WEEKS = 13  # a quarter: weekly counts of a small town are too noisy to read


# -- the program catalogue as controls -------------------------------------------------------

@functools.cache
def catalogue() -> dict[str, ProgramConfig]:
    """Each program kind as its own scenario file defines it (`scenarios/<kind>.yaml`)."""
    programs = {}
    for kind in KINDS:
        (program,) = _load([f"scenario={kind}"]).scenario.programs.values()
        if program.kind != kind:
            raise ValueError(f"scenarios/{kind}.yaml holds a {program.kind} program, not {kind}")
        programs[kind] = program
    return programs


@functools.cache
def profile(name: str) -> PopulationConfig:
    return _load([f"population={name}"]).population


@functools.cache
def profiles() -> tuple[str, ...]:
    """Population profiles small enough for the page, smallest first."""
    names = [p.stem for p in (CONFIG_DIR / "population").glob("*.yaml")]
    fit = [n for n in names if profile(n).size <= MAX_APP_RESIDENTS]
    return tuple(sorted(fit, key=lambda n: (profile(n).size, n)))


@functools.cache
def levers() -> tuple[Lever, ...]:
    """One lever per kind of the catalogue, sized as its scenario file sizes it for the city."""
    return tuple(kinds.lever(catalogue()[kind], profile(REFERENCE_PROFILE)) for kind in KINDS)


def sized_program(kind: str, size: int, population: PopulationConfig) -> ProgramConfig:
    """The catalogue's program of `kind` at `size` (in its lever's unit) on `population`."""
    lever = next(lv for lv in levers() if lv.kind == kind)
    return kinds.sized(catalogue()[kind], lever, size, population)


def planned_cost_per_year(program: ProgramConfig, population: PopulationConfig) -> float | None:
    """USD a year at full use, officers at the default justice system's cost."""
    return kinds.planned_cost_per_year(program, population, justice())


@functools.cache
def justice() -> JusticeConfig:
    return _load([]).justice


# -- the model the page drives ---------------------------------------------------------------

def classroom_config(population: str, settings: dict, overrides=()) -> VpsimConfig:
    """The config of a classroom run: the profile, and each switched-on program at its size."""
    config = _load([f"population={population}", "scenario=baseline", "progress=false",
                    *overrides])
    programs = {}
    for lever in levers():
        if settings.get(lever.kind):
            size = settings.get(f"{lever.kind}_size", lever.default_size)
            programs[lever.kind] = sized_program(lever.kind, int(size), config.population)
    config.scenario = ScenarioConfig(name="classroom", description="chosen on the page",
                                     programs=programs)
    return validate(config)


def _current(value):
    """A control's value: Mesa hands over the reactive variable until the control moves."""
    return getattr(value, "value", value)


class ClassroomModel(ViolencePreventionModel):
    """The policy chosen on the page, stepped together with its baseline (same seed).

    Args:
        population: a profile of `configs/population/`.
        rng: the seed of both runs.
        scenario: ignored; Mesa's Reset passes its own (empty) Scenario object. The policy is
            the program switches below, not a vpsim scenario file.
        overrides: extra Hydra overrides (e.g. `burn_in_years=2`, for tests).
        **programs: `<kind>=True` switches a program kind on; `<kind>_size` sizes it in its
            lever's unit (`levers()`).
    """

    def __init__(self, population: str = "small", rng: int = 0, scenario=None,
                 overrides: tuple[str, ...] = (), **programs) -> None:
        del scenario
        allowed = {lv.kind for lv in levers()} | {f"{lv.kind}_size" for lv in levers()
                                                 if lv.unit}
        unknown = sorted(set(programs) - allowed)
        if unknown:
            raise TypeError(f"unknown program control(s) {', '.join(unknown)}; allowed: "
                            f"{', '.join(sorted(allowed))}")
        settings = {name: _current(value) for name, value in programs.items()}
        config = classroom_config(_current(population), settings, tuple(overrides))
        super().__init__(config, rng=int(_current(rng)))
        baseline = copy.deepcopy(self.config)
        baseline.scenario = ScenarioConfig()
        self.baseline = ViolencePreventionModel(baseline)
        # Burn-in before the page's clock starts: the raw weekly step, not Mesa's (which counts
        # time); programs start after it, so both runs are identical until then.
        for _ in range(self.burn_in_weeks):
            ViolencePreventionModel.step(self)
            ViolencePreventionModel.step(self.baseline)
        self.violence_colour_max = 1.5 * max(float(self.violence_rate.max()), 1.0)
        self.datacollector = mesa.DataCollector(model_reporters=LIVE_REPORTERS)
        self.datacollector.collect(self)

    def step(self) -> None:
        """One week of both runs (the baseline first: the record reads both)."""
        if self.finished:
            self.running = False
            return
        ViolencePreventionModel.step(self.baseline)
        super().step()
        self.running = not self.finished

    @property
    def weeks_since_start(self) -> int:
        return self.week - self.burn_in_weeks


def violence_per_100k(model: ViolencePreventionModel) -> float:
    """Violent incidents per 100,000 residents a year over the last 13 weeks."""
    recent = model.history[max(0, model.week - WINDOW_WEEKS):model.week].astype(np.int64)
    person_weeks = recent[:, POPULATION].sum()
    return float(recent[:, VIOLENT_OFFENCES].sum() / person_weeks * WEEKS_PER_YEAR * 1e5
                 if person_weeks else 0.0)


def homicides_since_start(model: ViolencePreventionModel) -> int:
    return int(model.history[model.burn_in_weeks:model.week, HOMICIDES].sum())


def incarcerated_per_100k(model: ViolencePreventionModel) -> float:
    if model.week == 0:  # nothing recorded yet (a run without burn-in)
        return 0.0
    last = model.history[model.week - 1].astype(np.int64)
    return float(last[INCARCERATED_STOCK].sum() / last[POPULATION].sum() * 1e5)


def recent_rearrests(model: ViolencePreventionModel) -> int:
    return model.rearrests_between(model.week - WINDOW_WEEKS, model.week)


MEASURES = {
    "violence": violence_per_100k,
    "homicides": homicides_since_start,
    "incarcerated": incarcerated_per_100k,
    "re-arrests": recent_rearrests,
}
POLICY, BASELINE = "this policy", "baseline (same seed)"
LIVE_REPORTERS = {
    f"{name}: {run}": (measure if run == POLICY else lambda m, f=measure: f(m.baseline))
    for name, measure in MEASURES.items() for run in (POLICY, BASELINE)}


def justice_counts(model: ViolencePreventionModel) -> tuple[np.ndarray, np.ndarray]:
    """Per community: residents in prison, and residents released in the last 52 weeks."""
    r = model.residents
    n = len(model.violence_rate)
    in_prison = r.justice_state == INCARCERATED
    released = (~in_prison & (r.release_week >= model.week - WEEKS_PER_YEAR)
                & (r.release_week >= 0))
    return (np.bincount(r.community[in_prison], minlength=n),
            np.bincount(r.community[released], minlength=n))


def budget(settings: dict) -> tuple[list[tuple[str, float | None]], float]:
    """Planned cost a year of each switched-on program (by kind), and the total (known
    costs)."""
    population = profile(settings["population"])
    rows = []
    for lever in levers():
        if settings.get(lever.kind):
            program = sized_program(lever.kind, settings.get(f"{lever.kind}_size", 0)
                                    if lever.unit else 0, population)
            rows.append((lever.kind, planned_cost_per_year(program, population)))
    return rows, sum(cost for _, cost in rows if cost is not None)


@functools.cache
def scenario_names() -> tuple[str, ...]:
    names = sorted(p.stem for p in (CONFIG_DIR / "scenario").glob("*.yaml"))
    return tuple(sorted(names, key=lambda n: (n != "baseline", n)))
