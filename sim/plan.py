"""vpsim-plan: the mix of programs an annual budget buys that does the most, and what more or less
money would buy (the frontier).

    vpsim-plan budget=2_000_000 population=small              # least violence for $2M a year
    vpsim-plan budget=5e6 population=city objective=net_present_value seeds=12

A plan gives each program kind with a size (`sim.catalogue` levers: places per 10,000
residents, % of communities) a share of the budget and buys the largest size that share pays for
a year (`catalogue.planned_cost_per_year`, restated in `costs.base_year` money). The search is
successive halving over candidate plans: each kind alone with the whole budget, an even split,
and random mixes (sparse Dirichlet draws); every candidate is run on the same few seeds (common
random numbers), the better half goes on to twice the seeds, until the last round runs them all.
The single-kind plans stay to the end as the benchmarks the chosen plan must beat. Every run
continues from its seed's burn-in (`ViolencePreventionModel.snapshot`): burned in once per seed
and process, not once per run.

The objective is `violence` (violent incidents per 100,000 a year, the least) or
`net_present_value` (against the no-program baseline of the same seed, `sim.accounts`, the
most). The frontier repeats the search at multiples of the budget (`frontier`), each search also
offered the plan chosen for the budget below it, so more money never buys a worse plan by
construction of the candidates, only by noise.

Writes into Hydra's output folder (`plans/<date>/<time>_...`): `plan.json` (the chosen mix, its
cost, its outcomes with 95% intervals, the benchmarks), `frontier.parquet` and `frontier.png`
(cost against violence averted over the budgets), and `plan.md` (for a council).
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import hydra
import numpy as np
import pandas as pd
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from .accounts import against, money_label, restated, wilson_interval
from .config import CONFIG_DIR, ConfigError, _check_ranges, bounded, load, one_line, validate
from .i18n import bracket, check_language, number, text
from .io import atomic_path, json_safe, write_parquet
from .stats import mean_interval

OBJECTIVES = {"violence": "violent_incidents_per_100k_per_year",
              "net_present_value": "net_present_value"}
"""What a plan is chosen for, and the outcome it is read from (least violence, most value)."""

OUTCOMES = ("violent_incidents_per_100k_per_year", "homicides_per_100k_per_year",
            "pv_victims", "pv_victims_tangible", "pv_justice", "pv_police", "pv_programs",
            "cost_programs")


@dataclass
class PlanConfig:
    budget: float = bounded(2_000_000.0, 0.0, 1e12, lo_open=True)  # a year, base-year money
    population: str = "small"
    objective: str = "violence"  # violence | net_present_value
    kinds: list[str] = field(default_factory=list)  # program kinds to mix; empty: every sized
    seeds: int = bounded(8, 2, 1000)  # replicates of the last round (earlier rounds: fewer)
    candidates: int = bounded(24, 0, 10_000)  # random mixes, beside each kind alone, even split
    rounds: int = bounded(3, 1, 10)  # of successive halving
    frontier: list[float] = field(default_factory=lambda: [0.25, 0.5, 1.0, 2.0])  # x budget
    seed: int = bounded(0, 0, 2**31 - 1)  # the first replicate's seed, and the mixes' draws
    jobs: int = bounded(0, 0, 256)  # processes; 0: one per core
    years: int | None = None  # policy years of each run; None: vpsim's default
    burn_in_years: int | None = None
    overrides: list[str] = field(default_factory=list)  # vpsim's, e.g. ["structure=..."]
    lang: str = "en"  # plan.md in en (English) or es (Spanish)

    def vpsim_overrides(self) -> list[str]:
        return ([f"years={self.years}"] * (self.years is not None)
                + [f"burn_in_years={self.burn_in_years}"] * (self.burn_in_years is not None)
                + list(self.overrides))


ConfigStore.instance().store(name="vpsim_plan_schema", node=PlanConfig)


# -- sizes and their cost ----------------------------------------------------------------------

def sized_kinds(requested: list[str]) -> list[str]:
    """The kinds a plan mixes: those asked for, each with a size and a cost."""
    from .app.classroom import levers

    sized = [lv.kind for lv in levers() if lv.unit]
    unknown = [k for k in requested if k not in sized]
    if unknown:
        raise ConfigError(f"kinds: {', '.join(unknown)} cannot be sized; allowed "
                          f"{', '.join(sized)}")
    return list(requested) or sized


class Costing:
    """Annual cost of a kind at a size on a place, in `costs.base_year` money."""

    def __init__(self, population: str, overrides: list[str]) -> None:
        from .app.classroom import levers

        base = load([f"population={population}", *overrides])
        self.population = base.population
        self.costs = base.costs
        self.justice = base.justice
        self.to_base = restated(1.0, base.costs.program_cost_year, base.costs.base_year)
        self.levers = {lv.kind: lv for lv in levers()}
        self._cache: dict[tuple[str, int], float] = {}

    def cost(self, kind: str, size: int) -> float:
        if size <= 0:
            return 0.0
        if (kind, size) not in self._cache:
            from . import catalogue
            from .app.classroom import sized_program

            program = sized_program(kind, size, self.population)
            per_year = catalogue.planned_cost_per_year(program, self.population, self.justice)
            self._cache[kind, size] = float(per_year or 0.0) * self.to_base
        return self._cache[kind, size]

    def size_for(self, kind: str, money: float) -> int:
        """The largest size `money` pays for a year (0: not even the smallest)."""
        lo, hi = 0, self.levers[kind].max_size
        while lo < hi:  # cost rises with size
            mid = (lo + hi + 1) // 2
            if self.cost(kind, mid) <= money:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def plan(self, shares: dict[str, float], budget: float) -> tuple[tuple[str, int], ...]:
        """Each kind's share of `budget` as the largest size it buys; what sizes leave unspent
        then goes to the kinds of the mix in order of their shares."""
        sizes = {k: self.size_for(k, s * budget) for k, s in shares.items() if s > 0}
        for k in sorted(sizes, key=lambda k: -shares[k]):
            left = budget - sum(self.cost(j, n) for j, n in sizes.items())
            sizes[k] = self.size_for(k, self.cost(k, sizes[k]) + left)
        return tuple(sorted((k, n) for k, n in sizes.items() if n > 0))

    def plan_cost(self, plan) -> float:
        return sum(self.cost(k, n) for k, n in plan)


def candidate_plans(costing: Costing, kinds: list[str], budget: float, n_random: int,
                    rng: np.random.Generator, extra=()) -> tuple[list, list]:
    """(candidates, benchmarks): each kind alone with the whole budget (the benchmarks), an even
    split, `n_random` sparse random mixes, and `extra` plans that fit; duplicates once."""
    benchmarks = [costing.plan({k: 1.0}, budget) for k in kinds]
    mixes = [{k: 1.0 / len(kinds) for k in kinds}]
    mixes += [dict(zip(kinds, rng.dirichlet(np.full(len(kinds), 0.5)), strict=True))
              for _ in range(n_random)]
    plans = benchmarks + [costing.plan(m, budget) for m in mixes]
    plans += [p for p in extra if costing.plan_cost(p) <= budget]
    seen, out = set(), []
    for p in plans:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out, [p for p in dict.fromkeys(benchmarks) if p]


# -- running plans -------------------------------------------------------------------------------

_WORKER: dict = {}


def _worker_setup(population: str, overrides: list[str]) -> None:
    logging.getLogger("MESA").setLevel(logging.WARNING)
    _WORKER.clear()
    _WORKER.update(base=load([f"population={population}", "scenario=baseline",
                              "progress=false", "figures=false", *overrides]),
                   snapshots={})


def _run(plan: tuple[tuple[str, int], ...], seed: int) -> dict[str, float]:
    """One plan on one seed, continuing from the seed's burn-in (made once per process)."""
    import copy

    from .app.classroom import sized_program
    from .config import ScenarioConfig
    from .model import ViolencePreventionModel
    from .outcomes import summary

    base = _WORKER["base"]
    if seed not in _WORKER["snapshots"]:
        cfg = copy.deepcopy(base)
        cfg.seed = seed
        model = ViolencePreventionModel(cfg)
        model.run(weeks=model.burn_in_weeks)
        _WORKER["snapshots"][seed] = model.snapshot()
    cfg = copy.deepcopy(base)
    cfg.seed = seed
    cfg.scenario = ScenarioConfig(
        name="plan", description="a budget's mix",
        programs={k: sized_program(k, n, base.population) for k, n in plan})
    model = ViolencePreventionModel(validate(cfg), snapshot=_WORKER["snapshots"][seed])
    model.run()
    s = summary(model)
    return {k: float(s[k]) for k in OUTCOMES}


class Runner:
    """Runs (plan, seed) pairs in a pool of processes, each result once."""

    def __init__(self, population: str, overrides: list[str], jobs: int) -> None:
        self.jobs = jobs or os.cpu_count() or 1
        self.results: dict[tuple, dict[str, float]] = {}
        # spawned, not forked: the parent may hold numba's and Hydra's threads
        self.pool = ProcessPoolExecutor(self.jobs, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_worker_setup,
                                        initargs=(population, overrides))
        self.runs = 0

    def run(self, pairs) -> None:
        todo = sorted({p for p in pairs if p not in self.results}, key=lambda x: x[1])
        chunk = max(1, len(todo) // (4 * self.jobs))
        for pair, out in zip(todo, self.pool.map(_run, *zip(*todo), chunksize=chunk)
                             if todo else (), strict=True):
            self.results[pair] = out
        self.runs += len(todo)

    def frame(self, plan, seeds) -> pd.DataFrame:
        """Outcomes of `plan` per seed, with its net present value against the empty plan."""
        rows = []
        for s in seeds:
            row = dict(self.results[plan, s])
            row.update(against(row, self.results[(), s]))
            rows.append(row)
        return pd.DataFrame(rows, index=pd.Index(seeds, name="seed"))

    def close(self) -> None:
        self.pool.shutdown()


def score(frame: pd.DataFrame, objective: str) -> float:
    """Lower is better: mean violence, or minus the mean net present value."""
    values = frame[OBJECTIVES[objective]].mean()
    return float(values if objective == "violence" else -values)


def search(runner: Runner, candidates: list, benchmarks: list, seeds: list[int],
           objective: str, rounds: int) -> tuple:
    """Successive halving: the better half of the candidates goes on to twice the seeds; the
    benchmarks are kept to the last round. Returns the best plan on the last round's seeds."""
    alive = list(candidates)
    for r in range(rounds):
        n = max(2, math.ceil(len(seeds) / 2 ** (rounds - 1 - r)))
        used = seeds[:n]
        runner.run([(p, s) for p in [(), *alive] for s in used])
        ranked = sorted(alive, key=lambda p: score(runner.frame(p, used), objective))
        if r < rounds - 1:
            keep = ranked[:max(1, math.ceil(len(ranked) / 2))]
            alive = keep + [b for b in benchmarks if b not in keep]
    return ranked[0]


# -- what a plan did -----------------------------------------------------------------------------

def interval(values) -> dict[str, float]:
    m, lo, hi = mean_interval(list(values))
    return {"mean": m, "low": lo, "high": hi}


def describe(runner: Runner, costing: Costing, plan, seeds, budget: float) -> dict:
    frame = runner.frame(plan, seeds)
    base = runner.frame((), seeds)
    wins = int((frame.net_present_value > 0).sum())
    lever = costing.levers
    return {
        "budget_per_year": budget,
        "cost_per_year": costing.plan_cost(plan),
        "programs": {k: {"size": n, "unit": lever[k].unit, "unit_key": lever[k].unit_key,
                         "label": lever[k].label,
                         "cost_per_year": costing.cost(k, n)} for k, n in plan},
        "violent_incidents_per_100k_per_year": interval(
            frame.violent_incidents_per_100k_per_year),
        "violent_incidents_averted_per_100k_per_year": interval(
            base.violent_incidents_per_100k_per_year
            - frame.violent_incidents_per_100k_per_year),
        "homicides_averted_per_100k_per_year": interval(
            base.homicides_per_100k_per_year - frame.homicides_per_100k_per_year),
        "net_present_value": interval(frame.net_present_value),
        "benefits": interval(frame.benefits),
        "costs": interval(frame.costs),
        "chance_benefits_exceed_costs": [wins / len(seeds), *wilson_interval(wins, len(seeds))],
    }


def plan_markdown(result: dict, lang: str = "en") -> str:
    chosen = result["plan"]
    money = result["money"]

    def t(key: str, **fields) -> str:
        return text(f"plan.{key}", lang, **fields)

    def m(x: float) -> str:
        return t("millions", amount=number(x / 1e6, lang, ",.2f"))

    def iv(d: dict, scale: float = 1.0, spec: str = ",.0f") -> str:
        return t("with_interval", mean=number(d["mean"] * scale, lang, spec),
                 low=number(d["low"] * scale, lang, spec),
                 high=number(d["high"] * scale, lang, spec))

    def label(kind: str) -> str:
        return text(f"kind.{kind}", lang)

    lines = [t("title", budget=m(result["budget_per_year"]), population=result["population"]),
             "", t("chosen", aim=t(f"aim_{result['objective']}"), candidates=result["candidates"],
                   kinds=len(result["kinds"]), seeds=len(result["seeds"]),
                   years=result["years"], money=money),
             "", t("fund_heading"), ""]
    if not chosen["programs"]:
        lines.append(t("nothing"))
    for kind, p in chosen["programs"].items():
        unit = text(f"unit.{p['unit_key']}", lang) if p.get("unit_key") else ""
        lines.append(t("program_line", label=label(kind), size=p["size"], unit=unit,
                       cost=m(p["cost_per_year"])))
    averted = chosen["violent_incidents_averted_per_100k_per_year"]
    homicides = chosen["homicides_averted_per_100k_per_year"]
    chance = chosen["chance_benefits_exceed_costs"][0]
    lines += ["", t("cost", cost=m(chosen["cost_per_year"])), "", t("should_heading"), "",
              t("averted", value=iv(averted)),
              t("homicides", value=iv(homicides, spec=",.2f")),
              t("npv", value=iv(chosen["net_present_value"], 1e-6, ",.1f")),
              t("chance", value=number(chance, lang, ".0%")),
              "", t("alone_heading"), "",
              "| " + " | ".join(t(f"alone_{c}") for c in ("program", "cost", "averted", "npv"))
              + " |", "|---|---|---|---|"]
    for b in result["benchmarks"]:
        (kind,) = b["programs"]
        lines.append(f"| {label(kind)} | {m(b['cost_per_year'])} | "
                     f"{number(b['violent_incidents_averted_per_100k_per_year']['mean'], lang)}"
                     f" | {number(b['net_present_value']['mean'] / 1e6, lang, ',.1f')} |")
    lines += ["", t("frontier_heading"), "", "![frontier](frontier.png)", "",
              "| " + " | ".join(t(f"frontier_{c}") for c in ("budget", "cost", "averted"))
              + " |", "|---|---|---|"]
    for row in result["frontier"]:
        low, high = (number(row[k], lang) for k in ("averted_low", "averted_high"))
        lines.append(f"| {m(row['budget_per_year'])} | {m(row['cost_per_year'])} | "
                     f"{number(row['averted_mean'], lang)} {bracket(low, high, lang)} |")
    lines += ["", t("caveat"), ""]
    return "\n".join(lines)


def make_plan(cfg: PlanConfig, out_dir: Path, progress=print) -> dict:
    """The search, the frontier and the files; returns plan.json's contents."""
    _check_ranges(PlanConfig, cfg, "")
    check_language(cfg.lang, "lang")
    if cfg.objective not in OBJECTIVES:
        raise ConfigError(f"objective = {cfg.objective!r}: allowed {', '.join(OBJECTIVES)}")
    if not cfg.frontier or any(not (0 < f <= 100) for f in cfg.frontier):
        raise ConfigError(f"frontier = {list(cfg.frontier)}: multiples of the budget, each in "
                          "(0, 100]")
    kinds = sized_kinds(list(cfg.kinds))
    costing = Costing(cfg.population, cfg.vpsim_overrides())
    money = money_label(costing.costs)
    seeds = list(range(cfg.seed, cfg.seed + cfg.seeds))
    rng = np.random.default_rng(cfg.seed)
    runner = Runner(cfg.population, cfg.vpsim_overrides(), cfg.jobs)
    started = time.perf_counter()
    budgets = sorted({*(cfg.budget * f for f in cfg.frontier), cfg.budget})
    chosen, frontier, benchmarks_main = {}, [], []
    try:
        previous = ()
        for budget in budgets:
            candidates, benchmarks = candidate_plans(costing, kinds, budget, cfg.candidates, rng,
                                                     extra=[previous])
            best = search(runner, candidates, benchmarks, seeds, cfg.objective, cfg.rounds)
            chosen[budget] = best
            previous = best
            d = describe(runner, costing, best, seeds, budget)
            frontier.append({"budget_per_year": budget, "cost_per_year": d["cost_per_year"],
                             "plan": json.dumps({k: n for k, n in best}),
                             **{f"averted_{k}": v for k, v in
                                d["violent_incidents_averted_per_100k_per_year"].items()},
                             **{f"npv_{k}": v for k, v in d["net_present_value"].items()}})
            if budget == cfg.budget:
                benchmarks_main = [describe(runner, costing, b, seeds, budget)
                                   for b in benchmarks]
                n_candidates = len(candidates)
            progress(f"vpsim-plan: budget {budget:,.0f} a year: {len(candidates)} candidates, "
                     f"chosen {dict(best) or 'no program'} "
                     f"({time.perf_counter() - started:.0f} s, {runner.runs} runs)")
    finally:
        runner.close()
    base = load([f"population={cfg.population}", *cfg.vpsim_overrides()])
    result = {
        "budget_per_year": cfg.budget, "population": cfg.population,
        "objective": cfg.objective, "money": money, "kinds": kinds, "seeds": seeds,
        "years": base.years, "candidates": n_candidates,
        "plan": describe(runner, costing, chosen[cfg.budget], seeds, cfg.budget),
        "benchmarks": benchmarks_main, "frontier": frontier,
        "runs": runner.runs, "seconds": time.perf_counter() - started,
    }
    table = pd.DataFrame(frontier)
    write_parquet(out_dir / "frontier.parquet", table)
    from . import plots  # matplotlib only once there is something to draw

    plots.plan_frontier(table, money, out_dir / "frontier.png")
    with atomic_path(out_dir / "plan.json") as tmp:
        tmp.write_text(json.dumps(json_safe(result), indent=2))
    with atomic_path(out_dir / "plan.md") as tmp:
        tmp.write_text(plan_markdown(result, cfg.lang), encoding="utf-8")
    return result


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR / "planner"), config_name="plan")
def _app(cfg: DictConfig) -> None:
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        result = make_plan(OmegaConf.to_object(cfg), out_dir)
    except ConfigError as error:
        _discard(out_dir)
        print(f"vpsim-plan: config error: {error}", file=sys.stderr)
        sys.exit(2)
    p = result["plan"]
    sizes = {k: v["size"] for k, v in p["programs"].items()} or "no program"
    print(f"vpsim-plan: {out_dir / 'plan.md'}: {sizes}, {p['cost_per_year']:,.0f} a year of "
          f"{result['budget_per_year']:,.0f}; {result['runs']} runs in "
          f"{result['seconds']:.0f} s")


_STARTED = time.time()


def _discard(out_dir: Path) -> None:
    """A refused plan leaves no folder behind: only one Hydra made for this call is removed."""
    names = {p.name for p in out_dir.iterdir()} if out_dir.is_dir() else set()
    made_now = all(p.stat().st_mtime >= _STARTED - 1 for p in out_dir.rglob("*"))
    if names <= {".hydra", "plan.log"} and made_now:
        shutil.rmtree(out_dir, ignore_errors=True)
        for parent in (out_dir.parent, out_dir.parent.parent):  # plans/<date>/, plans/
            try:
                parent.rmdir()  # only when empty
            except OSError:
                break


def main() -> None:
    try:
        _app()
    except ConfigError as error:
        print(f"vpsim-plan: config error: {one_line(error)}", file=sys.stderr)
        sys.exit(2)
