"""The educators' page: a Mesa SolaraViz app over the classroom run (`sim.app.classroom`).

Served by `vpsim-app` (or `solara run sim/app/page.py`). Controls hold their values per browser
session (Solara reactive variables). Mesa passes them to `ClassroomModel` when Reset is pressed;
the switches, sizes and profile are handed to Mesa's inputs as reactive variables, so the budget
read-out follows the sliders as they move.
"""

from __future__ import annotations

import math
import os
import tempfile
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are PNGs sent to the browser; never a display
import markdown  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import solara  # noqa: E402
import solara.lab  # noqa: E402
from matplotlib.colors import Normalize, to_hex  # noqa: E402
from mesa.visualization import SolaraViz, SpaceRenderer, make_plot_component  # noqa: E402
from mesa.visualization.components import AgentPortrayalStyle  # noqa: E402
from mesa.visualization.space_drawers import NetworkSpaceDrawer  # noqa: E402
from mesa.visualization.user_param import Slider  # noqa: E402

# absolute imports: `solara run sim/app/page.py` runs this file as a script
from sim import plots  # noqa: E402
from sim.accounts import against  # noqa: E402
from sim.app.classroom import (  # noqa: E402
    BASELINE,
    POLICY,
    WINDOW_WEEKS,
    ClassroomModel,
    budget,
    justice_counts,
    levers,
    profiles,
    scenario_names,
)
from sim.codes import HOMICIDES, VIOLENT_OFFENCES  # noqa: E402
from sim.i18n import check_language, number, signed, text  # noqa: E402
from sim.outcomes import summary  # noqa: E402
from sim.report import report_markdown, run_comparison  # noqa: E402

# Served on plain http on purpose (127.0.0.1): Solara's note about https cookies is noise here.
warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")

LANG = check_language(os.environ.get("VPSIM_LANG", "en"), "--lang")
"""The page's language (`vpsim-app --lang es` sets VPSIM_LANG); its words: sim/locales, page.*"""


def t(key: str, **fields) -> str:
    return text(f"page.{key}", LANG, **fields)


def n(x, spec: str = ",.0f") -> str:
    return number(x, LANG, spec)


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
    ax.set_title(t("map_title"), fontsize=8)
    fig = ax.get_figure()
    fig.set_size_inches(5.5, 3.3)
    fig.colorbar(plt.cm.ScalarMappable(Normalize(0, model.violence_colour_max),
                                       VIOLENCE_COLOURS), ax=ax, shrink=0.7,
                 label=t("map_colour"))
    return solara.FigureMatplotlib(fig, format="png", bbox_inches="tight")


def _titled(title: str, ylabel: str):
    def post_process(ax):
        ax.set_title(f"{title}\n{t('by_week')}", fontsize=9)
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
    _plot("violence", plots.PALETTE["violence"], t("plot_violence"), t("plot_violence_y")),
    _plot("homicides", plots.PALETTE["homicide"], t("plot_homicides"), t("plot_homicides_y")),
    _plot("incarcerated", plots.PALETTE["incarceration"], t("plot_incarceration"),
          t("plot_incarceration_y")),
    _plot("re-arrests", "#2874a6", t("plot_rearrests"), t("plot_rearrests_y")),
]


def Prose(markdown_text: str):
    """Markdown as plain HTML: solara.Markdown loads mermaid from a CDN on every mount, which a
    classroom without internet cannot reach."""
    html = markdown.markdown(markdown_text, extensions=["tables"])
    return solara.HTML(tag="div", unsafe_innerHTML=html, classes=["vpsim-text"])


def _money(x: float | None) -> str:
    return text("common.not_available", LANG) if x is None else t("money", amount=n(x))


def RunStatus(model: ClassroomModel):
    weeks = model.weeks_since_start
    pop = model.config.population
    if weeks <= 0:
        return Prose(t("status_before", place=pop.name, residents=n(pop.size),
                       seed=model.config.seed, years=model.config.burn_in_years))
    both = [summary(m) for m in (model, model.baseline)]
    policy, base = both
    lines = [
        t("status_week", week=weeks, weeks=model.total_weeks - model.burn_in_weeks,
          place=pop.name, seed=model.config.seed), "",
        "| " + " | ".join(t(f"status_{c}") for c in ("since", "policy", "baseline",
                                                    "difference")) + " |", "|---|---|---|---|"]
    h = [m.history[m.burn_in_weeks:m.week].astype(np.int64) for m in (model, model.baseline)]
    for key, stat in (("violent_incidents", VIOLENT_OFFENCES), ("homicides", HOMICIDES)):
        a, b = (int(x[:, stat].sum()) for x in h)
        lines.append(f"| {t('row_' + key)} | {n(a)} | {n(b)} | {signed(a - b, LANG)} |")
    for key in ("cost_programs", "cost_incarceration_marginal", "cost_incarceration",
                "cost_total_marginal", "pv_victims", "pv_justice"):
        a, b = policy[key], base[key]
        lines.append(f"| {t('row_' + key)} | {_money(a)} | {_money(b)} | {signed(a - b, LANG)} |")
    npv = against(policy, base)["net_present_value"]
    lines += ["", t("npv_so_far", npv=_money(npv), money=policy["money"])]
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
        return solara.Text(t("by_sex_waiting"))
    return solara.Image(by_sex_and_age_png(model), width="100%")


# -- compare panel ---------------------------------------------------------------------------

def compare_report(runs: pd.DataFrame) -> str:
    """The planners' comparison tables (`vpsim-report`), without the sweep's title."""
    report = report_markdown(runs, Path("compare panel"), lang=LANG)
    return report.split("\n", 2)[2]


def compare_figures(runs: pd.DataFrame) -> list[bytes]:
    done = runs[runs.status == "complete"]
    figures = [_png(plots.by_sex_and_age, done)]
    if "baseline" in set(done.scenario) and done.scenario.nunique() > 1:
        figures[:0] = [_png(plots.forest_plot, done), _png(plots.cost_effectiveness_plane, done)]
        if "pv_victims" in done:
            figures.insert(2, _png(plots.net_present_value, done))
    return figures


def plan_for_page(budget: float, population: str, seed: int,
                  overrides: tuple[str, ...] = ()) -> tuple[str, bytes]:
    """`vpsim-plan`, small enough for a lesson (4 seeds, 6 random mixes, two rounds, the
    frontier at half, once and twice the budget): plan.md without its title, frontier.png."""
    from sim.plan import PlanConfig, make_plan

    years = {k: int(v) for k, v in (o.split("=", 1) for o in overrides)
             if k in ("years", "burn_in_years")}
    cfg = PlanConfig(budget=budget, population=population, seeds=4, candidates=6, rounds=2,
                     frontier=[0.5, 1.0, 2.0], seed=seed, lang=LANG, **years)
    with tempfile.TemporaryDirectory() as tmp:
        make_plan(cfg, Path(tmp), progress=lambda _: None)
        plan = (Path(tmp) / "plan.md").read_text(encoding="utf-8").split("\n", 2)[2]
        return plan.replace("![frontier](frontier.png)", ""), (Path(tmp) / "frontier.png"
                                                               ).read_bytes()


compare_choice = solara.reactive(["baseline", "hotspot_policing", "reentry_employment"])
compare_replicates = solara.reactive(5)
plan_budget = solara.reactive(2_000_000)


@solara.lab.task(prefer_threaded=True)
def planning(budget: float, population: str, seed: int):
    return plan_for_page(budget, population, seed)


@solara.lab.task(prefer_threaded=True)
def comparison(scenarios: list[str], replicates: int, population: str, seed: int):
    def progress(done, total):
        comparison.progress = 100 * done / total

    runs = run_comparison(scenarios, replicates, population, seed, on_run=progress)
    return compare_report(runs), compare_figures(runs)


def ComparePanel(model: ClassroomModel):
    population, seed = model.config.population.name, model.config.seed
    with solara.Column() as panel:
        Prose(t("compare_text", place=population, seed=seed, next=seed + 1))
        solara.SelectMultiple(t("compare_scenarios"), values=compare_choice,
                              all_values=list(scenario_names()))
        solara.SliderInt(t("compare_replicates"), value=compare_replicates, min=2, max=20)
        chosen = list(dict.fromkeys(["baseline", *compare_choice.value]))
        solara.Button(t("compare_run"), color="primary",
                      disabled=comparison.pending or len(chosen) < 2,
                      on_click=lambda: comparison(chosen, compare_replicates.value, population,
                                                  seed))
        if comparison.pending:
            solara.ProgressLinear(comparison.progress or True)
            solara.Text(t("compare_running", scenarios=len(chosen),
                          seeds=compare_replicates.value))
        elif comparison.error:
            solara.Error(t("compare_failed", error=comparison.exception))
        elif comparison.finished and comparison.value:
            report, figures = comparison.value
            for figure in figures:
                solara.Image(figure, width="100%")
            Prose(report)
        Prose(t("plan_text", place=population))
        solara.SliderInt(t("plan_budget"), value=plan_budget, min=250_000,
                         max=10_000_000, step=250_000)
        solara.Button(t("plan_run"), color="primary", disabled=planning.pending,
                      on_click=lambda: planning(plan_budget.value, population, seed))
        if planning.pending:
            solara.ProgressLinear(True)
            solara.Text(t("plan_running"))
        elif planning.error:
            solara.Error(t("plan_failed", error=planning.exception))
        elif planning.finished and planning.value:
            plan, frontier = planning.value
            solara.Image(frontier, width="100%")
            Prose(plan)
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
            "population": {"type": "Select", "label": t("control_population"),
                           "value": self.population, "values": list(profiles())},
            "rng": Slider(t("control_seed"), 0, 0, 99, 1),
        }
        for lever in levers():
            params[lever.kind] = {"type": "Checkbox", "label": text(f"kind.{lever.kind}", LANG),
                                  "value": self.switches[lever.kind]}
            if lever.unit:
                params[f"{lever.kind}_size"] = {
                    "type": "SliderInt", "label": text(f"unit_short.{lever.unit_key}", LANG),
                    "value": self.sizes[lever.kind], "min": 1, "max": lever.max_size,
                    "step": 1}
        return params


CONTROLS = Controls()


@solara.component
def Budget():
    settings = CONTROLS.settings()
    rows, total = budget(settings)
    lines = [t("budget_total", total=_money(total)), ""]
    lines += ([f"- {text('kind.' + kind, LANG)}: {_money(cost)}" for kind, cost in rows]
              or [t("budget_none")])
    lines += ["", t("budget_note", place=settings["population"])]
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
        solara.Error(t("build_failed", error=first.exception))
        return
    if not first.finished or first.value is None:
        with solara.Column(style={"padding": "2em"}):
            Prose(t("preparing"))
            solara.ProgressLinear(True)
        return
    SolaraViz(first.value, components=components(), model_params=CONTROLS.model_params(),
              name=t("name"), play_interval=50,
              render_interval=5)  # odd: Mesa's slider steps 1, 3, 5, ...
    with solara.Sidebar():
        with solara.Card(t("budget_card")):
            Budget()
    solara.Style(".vpsim-text table {border-collapse: collapse; font-size: 0.85em} "
                 ".vpsim-text th, .vpsim-text td {border: 1px solid #ccc; padding: 1px 6px}")
