"""The educators' page: a Mesa SolaraViz app over the model.

Served by `vpsim-app` (or `solara run sim/app.py`).

A classroom run is two runs with the same seed, stepped together: the policy chosen with the
switches and sliders, and a baseline without programs. They share every random draw the policy
does not change (common random numbers), so the gap between their lines is the policy's doing.
Both are burned in when the run is built (`burn_in_years`, 30 by default: prisons fill up);
Mesa's time on the page counts weeks since the policy started.

Controls hold their values per browser session (Solara reactive variables). Mesa passes them to
`ClassroomModel` when Reset is pressed; the switches, sizes and profile are handed to Mesa's
inputs as reactive variables, so the budget read-out follows the sliders as they move.
"""

from __future__ import annotations

import copy
import functools
import math
import warnings
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are PNGs sent to the browser; never a display
import markdown  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import mesa  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import solara  # noqa: E402
import solara.lab  # noqa: E402
from matplotlib.colors import Normalize, to_hex  # noqa: E402
from mesa.visualization import SolaraViz, SpaceRenderer, make_plot_component  # noqa: E402
from mesa.visualization.components import AgentPortrayalStyle  # noqa: E402
from mesa.visualization.space_drawers import NetworkSpaceDrawer  # noqa: E402
from mesa.visualization.user_param import Slider  # noqa: E402

from sim import plots  # noqa: E402  (absolute: `solara run sim/app.py` runs this file as a script)
from sim import catalogue as kinds  # noqa: E402
from sim.catalogue import KINDS, Lever  # noqa: E402
from sim.config import (CONFIG_DIR, PopulationConfig, ProgramConfig,  # noqa: E402
                        ScenarioConfig, VpsimConfig, load, validate)
from sim.codes import (HOMICIDES, INCARCERATED, INCARCERATED_STOCK,  # noqa: E402
                       POPULATION, VIOLENT_OFFENCES, WEEKS_PER_YEAR)
from sim.model import ViolencePreventionModel  # noqa: E402
from sim.outcomes import summary  # noqa: E402
from sim.report import report_markdown  # noqa: E402

REFERENCE_PROFILE = "city"
"""The profile the scenario files are sized for (README: one scenario per kind sized for city)."""

MAX_APP_RESIDENTS = 100_000
"""Profiles above this are left out: their burn-in takes minutes, not seconds."""

WINDOW_WEEKS = 13  # a quarter: weekly counts of a small town are too noisy to read

# Served on plain http on purpose (127.0.0.1): Solara's note about https cookies is noise here.
warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")

_hydra = threading.Lock()  # Hydra's compose is global state, shared by the page and compare panel


def _load(overrides: list[str]) -> VpsimConfig:
    with _hydra:
        return load(overrides)


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


SHORT_UNITS = {"places per 10,000 residents": "places per 10k",
               "% of the eligible enrolled": "% of eligible",
               "% of communities, most violent first": "% of communities"}  # slider labels


@functools.cache
def levers() -> tuple[Lever, ...]:
    """One lever per kind of the catalogue, sized as its scenario file sizes it for the city."""
    return tuple(kinds.lever(catalogue()[kind], profile(REFERENCE_PROFILE)) for kind in KINDS)


def sized_program(kind: str, size: int, population: PopulationConfig) -> ProgramConfig:
    """The catalogue's program of `kind` at `size` (in its lever's unit) on `population`."""
    lever = next(lv for lv in levers() if lv.kind == kind)
    return kinds.sized(catalogue()[kind], lever, size, population)


def resized_for(program: ProgramConfig, population: PopulationConfig) -> ProgramConfig:
    """A scenario file's program (sized for the reference city) on another profile."""
    return kinds.resized_for(program, population, profile(REFERENCE_PROFILE))


planned_cost_per_year = kinds.planned_cost_per_year


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
    return value.value if isinstance(value, solara.Reactive) else value


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


# -- live views ------------------------------------------------------------------------------

class CommunityMapRenderer(SpaceRenderer):
    """Mesa's space renderer, drawing communities where they lie on the model's lattice."""

    def _get_space_drawer(self):
        positions = {node: tuple(self.space[node].position) for node in self.space.G.nodes}
        return NetworkSpaceDrawer(self.space, layout_alg=lambda graph: positions,
                                  layout_kwargs={})


VIOLENCE_COLOURS = plt.get_cmap("YlOrRd")


def community_portrayal(community) -> AgentPortrayalStyle:
    model = community.model
    norm = Normalize(0.0, model.violence_colour_max, clip=True)
    columns = math.ceil(math.sqrt(len(model.violence_rate)))
    return AgentPortrayalStyle(color=to_hex(VIOLENCE_COLOURS(norm(
        community.recent_violence_per_1000))), marker="s", size=(190 / columns) ** 2,
        edgecolors="#555555", linewidths=0.6, zorder=2)


def justice_counts(model: ViolencePreventionModel) -> tuple[np.ndarray, np.ndarray]:
    """Per community: residents in prison, and residents released in the last 52 weeks."""
    r = model.residents
    n = len(model.violence_rate)
    in_prison = r.justice_state == INCARCERATED
    released = (~in_prison & (r.release_week >= model.week - WEEKS_PER_YEAR)
                & (r.release_week >= 0))
    return (np.bincount(r.community[in_prison], minlength=n),
            np.bincount(r.community[released], minlength=n))


def CommunityMap(model: ClassroomModel):
    renderer = CommunityMapRenderer(model, backend="matplotlib")
    renderer.setup_structure(node_kwargs={"node_size": 0}, edge_kwargs={"alpha": 0.4})
    renderer.setup_agents(community_portrayal).render()
    ax = renderer.canvas
    in_prison, released = justice_counts(model)
    drawer = renderer.space_drawer
    for node, (x, y) in drawer.pos.items():
        ax.text(x, y, f"{in_prison[node]}\n{released[node]}", ha="center", va="center",
                fontsize=7, zorder=3)
    xs, ys = zip(*drawer.pos.values())
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)  # whole squares, not the drawer's tight frame
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    ax.set_title("Communities: recent violence (colour); in prison / released in the last "
                 "year (numbers)", fontsize=8)
    fig = ax.get_figure()
    fig.set_size_inches(5.5, 3.3)
    fig.colorbar(plt.cm.ScalarMappable(Normalize(0, model.violence_colour_max),
                                       VIOLENCE_COLOURS), ax=ax, shrink=0.7,
                 label="violent incidents per 1,000 a year")
    return solara.FigureMatplotlib(fig, format="png", bbox_inches="tight")


def _titled(title: str, ylabel: str):
    def post_process(ax):
        ax.set_title(f"{title}\n(by week since the policy started)", fontsize=9)
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7, loc="lower left")
        ax.figure.set_size_inches(6, 3.3)  # fits a grid cell of Mesa's page
    return post_process


def _plot(measure: str, colour: str, title: str, ylabel: str):
    return make_plot_component({f"{measure}: {POLICY}": colour,
                                f"{measure}: {BASELINE}": "#888888"},
                               post_process=_titled(title, ylabel))


LIVE_PLOTS = [
    _plot("violence", plots.PALETTE["violence"], "Violence (13-week mean)",
          "violent incidents\nper 100,000 a year"),
    _plot("homicides", plots.PALETTE["homicide"], "Homicides since the policy started",
          "homicides"),
    _plot("incarcerated", plots.PALETTE["incarceration"], "Incarceration",
          "in prison per 100,000"),
    _plot("re-arrests", "#2874a6", "Re-arrests after release (last 13 weeks)",
          "first arrests\nafter a release"),
]


def Prose(markdown_text: str):
    """Markdown as plain HTML: solara.Markdown loads mermaid from a CDN on every mount, which a
    classroom without internet cannot reach."""
    html = markdown.markdown(markdown_text, extensions=["tables"])
    return solara.HTML(tag="div", unsafe_innerHTML=html, classes=["vpsim-text"])


def _money(x: float | None) -> str:
    return "n/a" if x is None else f"${x:,.0f}"


def RunStatus(model: ClassroomModel):
    weeks = model.weeks_since_start
    if weeks <= 0:
        return Prose(
            f"**{model.config.population.name}**: {model.config.population.size:,} residents, "
            f"seed {model.config.seed}, after {model.config.burn_in_years} years of burn-in. "
            "Press Step or ▶ to start the policy.")
    both = [summary(m) for m in (model, model.baseline)]
    policy, base = both
    lines = [
        f"**Week {weeks}** of {model.total_weeks - model.burn_in_weeks} since the policy "
        f"started ({model.config.population.name}, seed {model.config.seed}).", "",
        "| since the start | this policy | baseline | difference |", "|---|---|---|---|"]
    h = [m.history[m.burn_in_weeks:m.week].astype(np.int64) for m in (model, model.baseline)]
    for label, stat in (("violent incidents", VIOLENT_OFFENCES), ("homicides", HOMICIDES)):
        a, b = (int(x[:, stat].sum()) for x in h)
        lines.append(f"| {label} | {a:,} | {b:,} | {a - b:+,} |")
    for label, key in (("program cost", "cost_programs"),
                       ("incarceration cost", "cost_incarceration"),
                       ("total cost", "cost_total")):
        a, b = policy[key], base[key]
        lines.append(f"| {label} | {_money(a)} | {_money(b)} | {a - b:+,.0f} |")
    return Prose("\n".join(lines))


def _png(draw, frame: pd.DataFrame) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "figure.png"
        draw(frame, path)
        return path.read_bytes()


def by_sex_and_age_png(model: ClassroomModel) -> bytes:
    """Violent offending by sex and age band since the start, this policy against baseline;
    redrawn once a quarter (13 weeks): it is the page's costliest figure and moves slowly."""
    quarter = (model.weeks_since_start - 1) // WINDOW_WEEKS
    cached = getattr(model, "_by_sex_and_age", None)
    if cached is None or cached[0] != quarter:
        rows = []
        for name, m in ((POLICY, model), ("baseline", model.baseline)):
            row = pd.json_normalize(summary(m)).iloc[0].to_dict()
            row["scenario"] = name
            rows.append(row)
        cached = model._by_sex_and_age = (quarter, _png(plots.by_sex_and_age, pd.DataFrame(rows)))
    return cached[1]


def BySexAndAge(model: ClassroomModel):
    if model.weeks_since_start <= 0:
        return solara.Text("Outcomes by sex and age band appear once the policy runs.")
    return solara.Image(by_sex_and_age_png(model), width="100%")


# -- compare panel ---------------------------------------------------------------------------

@functools.cache
def scenario_names() -> tuple[str, ...]:
    names = sorted(p.stem for p in (CONFIG_DIR / "scenario").glob("*.yaml"))
    return tuple(sorted(names, key=lambda n: (n != "baseline", n)))


def compare_config(name: str, population: str, seed: int, overrides=()) -> VpsimConfig:
    config = _load([f"population={population}", f"scenario={name}", f"seed={seed}",
                    "progress=false", *overrides])
    config.scenario.programs = {key: resized_for(p, config.population)
                                for key, p in config.scenario.programs.items()}
    return validate(config)


def compare(scenarios, replicates: int, population: str = "small", seed: int = 0,
            overrides=(), on_run=None) -> pd.DataFrame:
    """Run each scenario with seeds seed .. seed + replicates - 1 (paired across scenarios:
    common random numbers); one row per run, as `report.aggregate` makes from a sweep."""
    runs = [(name, seed + k) for name in scenarios for k in range(replicates)]
    rows = []
    for done, (name, run_seed) in enumerate(runs):
        model = ViolencePreventionModel(compare_config(name, population, run_seed, overrides))
        model.run()
        row = pd.json_normalize(summary(model)).iloc[0].to_dict()
        row.update(run_dir=f"{name} seed {run_seed}", status="complete", error=None)
        rows.append(row)
        if on_run is not None:
            on_run(done + 1, len(runs))
    return pd.DataFrame(rows)


def compare_report(runs: pd.DataFrame) -> str:
    """The planners' comparison tables (`vpsim-report`), without the sweep's title."""
    text = report_markdown(runs, Path("compare panel"))
    return text.split("\n", 2)[2]


def compare_figures(runs: pd.DataFrame) -> list[bytes]:
    done = runs[runs.status == "complete"]
    figures = [_png(plots.by_sex_and_age, done)]
    if "baseline" in set(done.scenario) and done.scenario.nunique() > 1:
        figures[:0] = [_png(plots.forest_plot, done), _png(plots.cost_effectiveness_plane, done)]
    return figures


compare_choice = solara.reactive(["baseline", "hotspot_policing", "reentry_employment"])
compare_replicates = solara.reactive(5)


@solara.lab.task(prefer_threaded=True)
def comparison(scenarios: list[str], replicates: int, population: str, seed: int):
    def progress(done, total):
        comparison.progress = 100 * done / total

    runs = compare(scenarios, replicates, population, seed, on_run=progress)
    return compare_report(runs), compare_figures(runs)


def ComparePanel(model: ClassroomModel):
    population, seed = model.config.population.name, model.config.seed
    with solara.Column() as panel:
        Prose(
            f"### Compare scenarios\nEach scenario file of `scenarios/` runs {population!r} "
            f"with seeds {seed}, {seed + 1}, ... (the same seeds for every scenario: paired "
            "differences). Scenario files are sized for the city; here places scale with "
            "residents and covered communities with the number of communities. `baseline` "
            "is added when missing: differences are taken from it.")
        solara.SelectMultiple("Scenarios", values=compare_choice,
                              all_values=list(scenario_names()))
        solara.SliderInt("Replicates (seeds) per scenario", value=compare_replicates, min=2,
                         max=20)
        chosen = list(dict.fromkeys(["baseline", *compare_choice.value]))
        solara.Button("Run comparison", color="primary",
                      disabled=comparison.pending or len(chosen) < 2,
                      on_click=lambda: comparison(chosen, compare_replicates.value, population,
                                                  seed))
        if comparison.pending:
            solara.ProgressLinear(comparison.progress or True)
            solara.Text(f"running {len(chosen)} scenarios x {compare_replicates.value} seeds ...")
        elif comparison.error:
            solara.Error(f"comparison failed: {comparison.exception}")
        elif comparison.finished and comparison.value:
            text, figures = comparison.value
            for figure in figures:
                solara.Image(figure, width="100%")
            Prose(text)
    return panel


# -- the page --------------------------------------------------------------------------------

class Controls:
    """The page's inputs; each browser session has its own values."""

    def __init__(self) -> None:
        self.population = solara.reactive("small")
        self.switches = {lv.kind: solara.reactive(False) for lv in levers()}
        self.sizes = {lv.kind: solara.reactive(lv.default_size) for lv in levers() if lv.unit}

    def reset(self) -> None:
        self.population.set("small")
        for lever in levers():
            self.switches[lever.kind].set(False)
            if lever.unit:
                self.sizes[lever.kind].set(lever.default_size)

    def settings(self) -> dict:
        """Plain values, as ClassroomModel takes them."""
        out = {"population": self.population.value}
        for kind, switch in self.switches.items():
            out[kind] = switch.value
        for kind, size in self.sizes.items():
            out[f"{kind}_size"] = size.value
        return out

    def model_params(self) -> dict:
        """Mesa's inputs. Reactive values let the budget follow the sliders as they move."""
        params = {
            "population": {"type": "Select", "label": "Population profile",
                           "value": self.population, "values": list(profiles())},
            "rng": Slider("Seed (same seed: same chance events)", 0, 0, 99, 1),
        }
        for lever in levers():
            params[lever.kind] = {"type": "Checkbox", "label": lever.label,
                                  "value": self.switches[lever.kind]}
            if lever.unit:
                params[f"{lever.kind}_size"] = {
                    "type": "SliderInt", "label": SHORT_UNITS[lever.unit],
                    "value": self.sizes[lever.kind], "min": 1, "max": lever.max_size,
                    "step": 1}
        return params


CONTROLS = Controls()


def budget(settings: dict) -> tuple[list[tuple[str, float | None]], float]:
    """Planned cost a year of each switched-on program, and the total (known costs)."""
    population = profile(settings["population"])
    rows = []
    for lever in levers():
        if settings.get(lever.kind):
            program = sized_program(lever.kind, settings.get(f"{lever.kind}_size", 0)
                                    if lever.unit else 0, population)
            rows.append((lever.label, planned_cost_per_year(program, population)))
    return rows, sum(cost for _, cost in rows if cost is not None)


@solara.component
def Budget():
    settings = CONTROLS.settings()
    rows, total = budget(settings)
    lines = [f"**Planned budget a year: {_money(total)}**", ""]
    lines += [f"- {label}: {_money(cost)}" for label, cost in rows] or ["- no program"]
    lines += ["", f"({settings['population']}; every place filled; Reset to run it)"]
    Prose("\n".join(lines))


def components() -> list:
    return [(CommunityMap, 0), *LIVE_PLOTS, (RunStatus, 0), (BySexAndAge, 0),
            (ComparePanel, 1)]


@solara.component
def Page():
    def build() -> ClassroomModel:
        return ClassroomModel(**CONTROLS.settings())

    first = solara.lab.use_task(build, dependencies=[])
    if first.error:
        solara.Error(f"The model could not be built: {first.exception}")
        return
    if not first.finished or first.value is None:
        with solara.Column(style={"padding": "2em"}):
            Prose("## Preparing the model\nBuilding the town and running its "
                            "burn-in; the first start after installing also compiles the "
                            "kernels (about 10 s).")
            solara.ProgressLinear(True)
        return
    SolaraViz(first.value, components=components(), model_params=CONTROLS.model_params(),
              name="vpsim: violence-prevention policy, live", play_interval=50,
              render_interval=5)  # odd: Mesa's slider steps 1, 3, 5, ...
    with solara.Sidebar():
        with solara.Card("Budget of the next run"):
            Budget()
    solara.Style(".vpsim-text table {border-collapse: collapse; font-size: 0.85em} "
                 ".vpsim-text th, .vpsim-text td {border: 1px solid #ccc; padding: 1px 6px}")
