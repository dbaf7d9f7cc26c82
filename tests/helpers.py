"""Test helpers: hand-built tiny worlds for the kernels, small configs, fresh-process runs.

Kernel tests build a few residents by hand (`TinyWorld`) and force outcomes through the kernel
parameters (clearance 1.0 or 0.0, lethality 1.0 or 0.0, a huge hazard to force offending...), so
that what a step does can be checked against a hand-computed expectation.

Never assert on a number that depends on the calibrated defaults in `configs/`: they change.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from sim import kernels, population, programs, stats
from sim.codes import (
    AGE_BAND_EDGES,
    INCARCERATED,
    N_RISK_FACTORS,
    N_STATS,
    N_TALLIES,
    NEVER,
    SUPERVISED,
    TALLY_INCARCERATED,
    TALLY_SPELLS,
    WEEKS_PER_YEAR,
)
from sim.config import VpsimConfig
from sim.kernels import params_from_config
from sim.rng import run_key

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
VPSIM = str(Path(sys.executable).parent / "vpsim")

FORCE = 50.0
"""A weekly hazard that forces an offence: P(offend) = 1 - exp(-50) == 1.0 in float64."""


def uint64_key(seed: int) -> np.uint64:
    """The run key of `seed`, as the uint64 that `sim.rng` documents it to be."""
    return np.uint64(run_key(seed))


def forced(params: kernels.Params, **changes) -> kernels.Params:
    """`params` with fields replaced, each cast to its field's type (numba compiles per type)."""
    return params._replace(**{name: type(getattr(params, name))(value)
                              for name, value in changes.items()})


def peer_csr(n: int, ties) -> tuple[np.ndarray, np.ndarray]:
    """CSR arrays (ptr int64, idx int32) of the undirected peer ties [(i, j), ...]."""
    neighbours = [[] for _ in range(n)]
    for i, j in ties:
        neighbours[i].append(j)
        neighbours[j].append(i)
    ptr = np.zeros(n + 1, np.int64)
    ptr[1:] = np.cumsum([len(x) for x in neighbours])
    idx = np.array([j for x in neighbours for j in x], np.int32)
    return ptr, idx


class TinyWorld:
    """A few residents in one community, stepped by the kernels in the model's order.

    Defaults make every outcome deterministic: nobody offends (base hazard 0) until a test sets a
    hazard; no arrest (every clearance 0); nobody dies (lethality 0); no technical violation; no
    hazard term beyond base x static risk x community; victims come from the own community.
    Every resident starts as a free 30-year-old woman (birth week -30 years) with a clean record
    and static risk 1.
    """

    MAX_AGE = 65

    def __init__(self, n: int, ties=(), seed: int = 12345, **param_changes) -> None:
        cfg = VpsimConfig()
        cfg.population.max_age = self.MAX_AGE
        deterministic = dict(
            clearance_violent=0.0, clearance_other=0.0, clearance_homicide=0.0, lethality=0.0,
            revocation_probability=0.0, supervision_detection=1.0, peer_contagion=0.0,
            retaliation=0.0, prior_incarceration=0.0, post_release=0.0, victim_among_peers=0.0,
            victim_in_own_community=1.0)
        deterministic.update(param_changes)
        self.params = forced(params_from_config(cfg, uint64_key(seed)), **deterministic)
        peer_ptr, peer_idx = peer_csr(n, ties)
        self.tables = kernels.Tables(
            base_hazard=np.zeros((2, self.MAX_AGE + 1)),
            band_of_age=population.band_of_age(self.MAX_AGE),
            victim_weight=np.ones((2, len(AGE_BAND_EDGES))),
            victim_lethality=np.ones((2, len(AGE_BAND_EDGES))),
            community_start=np.zeros(1, np.int64),
            community_size=np.full(1, n, np.int64),
            community_disadvantage=np.zeros(1),
            community_adj_ptr=np.zeros(2, np.int64),
            community_adj_idx=np.zeros(0, np.int64),
            peer_ptr=peer_ptr,
            peer_idx=peer_idx,
            # risk factors carry no hazard ratio, and nobody enters or leaves a state
            risk_hr=np.ones(1 << N_RISK_FACTORS),
            initial_logit=np.full((N_RISK_FACTORS, 2, self.MAX_AGE + 1), -np.inf),
            state_entry=np.zeros((N_RISK_FACTORS, 2, self.MAX_AGE + 1)),
            state_exit=np.zeros((N_RISK_FACTORS, self.MAX_AGE + 1)),
            entry_log_shift=np.zeros(1),
        )
        r = population.allocate(n)
        r.birth_week[:] = -30 * WEEKS_PER_YEAR
        r.propensity[:] = 1.0
        for name in ("release_week", "sentence_end_week", "supervision_end_week",
                     "last_arrest_week", "last_offence_week", "victimised_week", "grievance_week"):
            getattr(r, name)[:] = NEVER
        r.open_spell[:] = -1
        self.residents = r
        self.spells = kernels.empty_spells(8)
        self.tallies = np.zeros(N_TALLIES, np.int64)
        self.counts = np.zeros((N_STATS, 2, len(AGE_BAND_EDGES)), np.int64)
        self.offences = np.empty(n, np.int32)
        self.released = np.empty(n, np.int32)
        self.community_hazard = np.ones(1)
        self.police = np.ones(1)  # the week's arrest multiplier
        self.deter_all = np.zeros(1)
        self.deter_violent = np.zeros(1)
        self.incidents = np.zeros(1, np.int64)
        self.queued = np.zeros(0, np.int32)
        self.programs = programs.empty_tables(n, 1, len(AGE_BAND_EDGES))

    # -- set-up by hand --------------------------------------------------------------------
    def set_params(self, **changes) -> None:
        self.params = forced(self.params, **changes)

    def set_weekly_hazard(self, hazard: float) -> None:
        """The same base hazard for every sex and age."""
        self.tables = self.tables._replace(
            base_hazard=np.full((2, self.MAX_AGE + 1), float(hazard)))

    def only_offender(self, i: int) -> None:
        """Resident `i` offends every week; nobody else ever does."""
        self.set_weekly_hazard(FORCE)
        self.residents.propensity[:] = 0.0
        self.residents.propensity[i] = 1.0

    def incarcerate(self, i: int, sentence_ends: int) -> None:
        self.residents.justice_state[i] = INCARCERATED
        self.residents.sentence_end_week[i] = sentence_ends
        self.tallies[TALLY_INCARCERATED] += 1

    def on_parole(self, i: int, released: int, supervision_ends: int, age: int = 30) -> int:
        """Resident `i` released in week `released`, with an open recidivism spell (returned)."""
        r, s = self.residents, int(self.tallies[TALLY_SPELLS])
        r.justice_state[i] = SUPERVISED
        r.release_week[i] = released
        r.supervision_end_week[i] = supervision_ends
        r.open_spell[i] = s
        self.spells.resident[s] = i
        self.spells.release_week[s] = released
        self.spells.age_at_release[s] = age
        self.tallies[TALLY_SPELLS] = s + 1
        return s

    # -- one week, as ViolencePreventionModel.step runs the kernels ------------------------
    def step(self, week: int) -> np.ndarray:
        """Run week `week`; return the offences queued (i: violent, ~i: other)."""
        r, p, t = self.residents, self.params, self.tables
        self.counts[:] = 0
        self.incidents[:] = 0
        w = kernels.Week(self.community_hazard, self.police, self.deter_all, self.deter_violent,
                         self.counts, self.incidents, self.offences, self.released)
        rec = kernels.Records(self.spells, self.tallies)
        n = kernels.step_residents(week, r, p, t, self.programs, w, rec)
        self.queued = self.offences[:n].copy()
        kernels.process_offences(week, n, r, p, t, self.programs, w, rec)
        return self.queued

    def count(self, stat: int) -> int:
        """This week's total of statistic `stat` (e.g. codes.ARRESTS)."""
        return int(self.counts[stat].sum())


def small_config(size: int = 2000, communities: int = 4, years: int = 2,
                 burn_in_years: int = 1, seed: int = 0) -> VpsimConfig:
    """The schema defaults at a small size: quick runs for model-level tests."""
    cfg = VpsimConfig()
    cfg.population.size = size
    cfg.population.communities = communities
    cfg.years = years
    cfg.burn_in_years = burn_in_years
    cfg.seed = seed
    cfg.progress = False
    cfg.figures = False
    return cfg


def run_python(code: str, *, env: dict | None = None, timeout: float = 300) -> str:
    """Run `code` in a fresh interpreter of the project's venv; return its stdout."""
    full_env = {**os.environ, **(env or {})}
    done = subprocess.run([PYTHON, "-c", code], cwd=REPO, env=full_env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"subprocess failed:\n{done.stderr[-3000:]}"
    return done.stdout


SUMMARY_SCRIPT = """
import json, sys
from sim.config import load
from sim.model import ViolencePreventionModel
from sim import outcomes
from sim.io import json_safe
out = {{}}
for seed in {seeds!r}:
    cfg = load({overrides!r} + [f"seed={{seed}}"])
    model = ViolencePreventionModel(cfg)
    model.run()
    out[str(seed)] = json_safe(outcomes.summary(model))
print(json.dumps(out, sort_keys=True))
"""


def summaries_in_fresh_process(overrides: list[str], seeds: list[int],
                               env: dict | None = None) -> dict:
    """Run `seeds` one after another in one fresh process; {str(seed): summary as JSON}."""
    stdout = run_python(SUMMARY_SCRIPT.format(overrides=overrides, seeds=seeds), env=env)
    return json.loads(stdout.strip().splitlines()[-1])


# -- programs and scenarios ---------------------------------------------------------------------

def program_overrides(name: str, **settings) -> list[str]:
    """Hydra overrides `scenario.programs.<name>.<key>=<value>`; '__' in a key stands for '.'.

    program_overrides("cbt_youth", capacity=50, targeting__sexes="[male]")
    -> ["scenario.programs.cbt_youth.capacity=50",
        "scenario.programs.cbt_youth.targeting.sexes=[male]"]
    """
    return [f"scenario.programs.{name}.{key.replace('__', '.')}={value}"
            for key, value in settings.items()]


def paired_interval(differences, level: float = 0.95) -> tuple[float, float]:
    """t-interval of the mean of per-seed paired differences (program minus baseline)."""
    if len(differences) < 2:
        raise ValueError("a paired interval needs at least two seeds")
    _, lo, hi = stats.mean_interval(differences, level)
    return lo, hi
