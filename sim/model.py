"""The Mesa model: communities as agents on a network space, residents as arrays.

One week (`ViolencePreventionModel.step`) runs these stages, in this order (`STAGES`); the
numbers in brackets are the steps of the weekly loop in DESIGN.md:

1. programs     `_run_programs`: programs whose week has come start; intakes enrol residents
                (eligibility, priority, uptake, completion); this week's police presence [2].
2. residents    `_live_week`, one compiled pass over every resident (`kernels.step_residents`):
                a resident killed last week or at the maximum age leaves and an entrant takes
                the slot [1]; peer exposure fades; a sentence that ends releases the resident
                onto parole and opens a recidivism spell [6]; a free resident offends with
                this week's hazard, and the offence is queued [3]; supervision ends, or a
                technical violation sends the resident back to prison [5].
3. offences     `_resolve_offences`, each queued offence in order (`kernels.process_offences`):
                a victim [4], lethality, the peers of victim and offender exposed [7]; arrest,
                conviction, prison or probation [5].
4. communities  `_update_communities`: violence's moving average, spill-over from adjacent
                communities, collective efficacy, and the offending multiplier of next week [7].
5. record       `_record`: the week's counts by statistic, sex and age band into the history and
                Mesa's DataCollector [8].

Programs run before demography: an intake sees the residents as the week begins. Python work
per week is O(communities); the kernels do the O(residents) work. `sim/reference.py` overrides
stages 2 and 3 with the same rules in plain Python; everything else is shared.
"""

from __future__ import annotations

import copy
import functools
import json
import time
from collections.abc import Mapping

import mesa
import numba
import numpy as np
from mesa.discrete_space import FixedAgent, Network
from omegaconf import DictConfig, OmegaConf

from . import kernels, network, population, programs
from .codes import (
    ADMISSIONS,
    ARRESTS,
    GANG_MEMBERSHIP,
    HOMICIDES,
    INCARCERATED,
    MAX_RUN_WEEKS,
    N_STATS,
    N_TALLIES,
    RELEASES,
    TALLY_INCARCERATED,
    TALLY_SPELLS,
    VIOLENT_OFFENCES,
    WEEKS_PER_YEAR,
    band_labels,
    weekly_retention,
)
from .config import ConfigError, VpsimConfig, load, validate
from .rng import run_key

STAGES = {
    "programs": "_run_programs",
    "residents": "_live_week",
    "offences": "_resolve_offences",
    "communities": "_update_communities",
    "record": "_record",
}
"""The stages of one week and their methods, in the order they run (see the module's
docstring)."""


class Community(FixedAgent):
    """A community: a block of residents, a place on the network of adjacent communities.

    Its dynamic state lives in the model's per-community arrays (so a week costs numpy
    operations, not a Python loop); these properties read it.
    """

    def __init__(self, model: ViolencePreventionModel, index: int, cell) -> None:
        super().__init__(model)
        self.index = index
        self.cell = cell

    @property
    def residents(self) -> range:
        start = int(self.model.tables.community_start[self.index])
        return range(start, start + int(self.model.tables.community_size[self.index]))

    @property
    def disadvantage(self) -> float:
        return float(self.model.tables.community_disadvantage[self.index])

    @property
    def collective_efficacy(self) -> float:
        return float(self.model.collective_efficacy[self.index])

    @property
    def police_presence(self) -> float:
        return float(self.model.police_presence[self.index])

    @property
    def recent_violence_per_1000(self) -> float:
        """Moving average of violent incidents per 1,000 residents a year."""
        return float(self.model.violence_rate[self.index])


class ViolencePreventionModel(mesa.Model):
    """Communities of residents carrying risk factors, stepped one week at a time.

    Args:
        config: a `VpsimConfig` or a Hydra/OmegaConf config (validated here); None for the
            defaults of `configs/` (the calibrated city).
        rng: seed for the run; defaults to `config.seed`. Residents' draws are counter-based
            (`sim.rng`) from this seed. The communities' map comes from
            `population.layout_seed`, the same for every replicate of a place.
        snapshot: the arrays of another model's `snapshot()`, made with the same settings but
            the scenario: this model continues from that state (the burn-in a sweep's
            scenarios share, `sim.burn_in`) instead of generating its residents. A snapshot
            that does not fit these settings is refused (ValueError naming the array).
    """

    program_book = programs.ProgramBook  # stage 1's bookkeeping (sim.reference swaps it)

    def __init__(self, config: VpsimConfig | DictConfig | None = None,
                 rng: int | None = None, *,
                 snapshot: Mapping[str, np.ndarray] | None = None) -> None:
        # A copy: the model sets its seed, and must not change the caller's config.
        config = load() if config is None else validate(copy.deepcopy(config))
        seed = config.seed if rng is None else int(rng)
        config.seed = seed
        super().__init__(rng=seed)
        self.config = config
        pop, beh = config.population, config.behaviour
        self.key = run_key(seed)
        self.burn_in_weeks = WEEKS_PER_YEAR * config.burn_in_years
        self.total_weeks = self.burn_in_weeks + WEEKS_PER_YEAR * config.years
        self.week = 0  # the next week to simulate
        self.band_labels = band_labels(pop.max_age)
        self.stage_seconds: dict[str, float] | None = None  # see time_stages()

        # Places, people and their ties.
        graph = network.community_graph(pop.communities)
        disadvantage = population.community_disadvantage(graph, pop)
        self.params = kernels.params_from_config(config, self.key)
        self.tables = population.tables(config, graph, disadvantage)
        if snapshot is None:
            self.residents = population.generate(config, self.params, self.tables)
            peers = network.peer_network(self.key, self.residents, self.tables, pop)
        else:  # the residents and their ties as the snapshot has them
            self.residents = population.Residents(*(
                _snapshot_array(snapshot, f"residents.{name}", dtype, (pop.size,)).copy()
                for name, dtype in population.RESIDENT_DTYPES.items()))
            peers = {"peer_ptr": _snapshot_array(snapshot, "tables.peer_ptr", np.int64,
                                                 (pop.size + 1,)).copy(),
                     "peer_idx": _snapshot_array(snapshot, "tables.peer_idx", np.int32).copy()}
        self.tables = self.tables._replace(**peers)

        # Per-community state (Community agents read these), updated in place each week.
        self.violence_rate = np.zeros(pop.communities)
        self.collective_efficacy = np.clip(
            beh.efficacy_baseline - beh.efficacy_disadvantage_slope * disadvantage, 0.0, 1.0)
        self.police_presence = np.full(pop.communities, config.justice.police_presence)
        self.community_hazard = population.community_hazard_at_rest(config, disadvantage)
        # Community violence is felt relative to the place's recent mean, which is fixed once the
        # policy period starts: a policy that quiets some communities does not raise the others'.
        self.violence_reference: float | None = None
        self._base_police_presence = self.police_presence.copy()
        self._neighbour_count = np.maximum(np.diff(self.tables.community_adj_ptr), 1)
        self.space = Network(graph, random=self.random,
                             layout={c: graph.nodes[c]["pos"] for c in graph.nodes})
        for c in range(pop.communities):
            Community(self, c, self.space[c])

        self.programs = self.program_book(config, pop.size, pop.communities,
                                          self.burn_in_weeks, self.total_weeks)

        # The week's buffers, the records kept between weeks, and the history.
        n_bands = len(self.band_labels)
        self._counts = np.zeros((N_STATS, 2, n_bands), np.int64)
        self._incidents = np.zeros(pop.communities, np.int64)
        # what police presence does this week: clearance x presence ^ arrest elasticity x
        # system programs' certainty; deterrence as log hazard ratios (0 at presence 1)
        self.arrest_multiplier = np.ones(pop.communities)
        self.deter_all = np.zeros(pop.communities)
        self.deter_violent = np.zeros(pop.communities)
        self._police_effects()
        self._week_buffers = kernels.Week(
            community_hazard=self.community_hazard, arrest_multiplier=self.arrest_multiplier,
            deter_all=self.deter_all, deter_violent=self.deter_violent,
            counts=self._counts, incidents=self._incidents,
            offences=np.empty(pop.size, np.int32), released=np.empty(pop.size, np.int32))
        self.tallies = np.zeros(N_TALLIES, np.int64)
        self.tallies[TALLY_INCARCERATED] = np.count_nonzero(
            self.residents.justice_state == INCARCERATED)
        self.spells = kernels.empty_spells(max(1024, pop.size // 50))
        self._records = kernels.Records(self.spells, self.tallies)
        self._n_offences = 0
        self.threads = config.threads
        self._blocks = None
        if self.threads > 1:  # the parallel kernel: per-block counters, a few blocks a thread
            available = numba.config.NUMBA_NUM_THREADS
            if self.threads > available:
                raise ConfigError(
                    f"threads = {self.threads}: numba may use at most {available} here "
                    f"(NUMBA_NUM_THREADS={available}); allowed [1, {available}]")
            self._blocks = kernels.empty_blocks(4 * self.threads, self._counts,
                                                self.programs.tables.ind_stats)
        self.history = np.zeros((self.total_weeks, N_STATS, 2, n_bands), np.int32)
        self.community_incidents_after_burn_in = np.zeros(pop.communities, np.int64)
        # Once a year after burn-in: residents, and gang members, by single year of age.
        self.residents_by_age = np.zeros(pop.max_age + 1, np.int64)
        self.gang_members_by_age = np.zeros(pop.max_age + 1, np.int64)
        self.datacollector = mesa.DataCollector(model_reporters={
            "violent_offences": functools.partial(_week_total_of, VIOLENT_OFFENCES),
            "homicides": functools.partial(_week_total_of, HOMICIDES),
            "arrests": functools.partial(_week_total_of, ARRESTS),
            "admissions": functools.partial(_week_total_of, ADMISSIONS),
            "incarcerated": _incarcerated,
            "releases": functools.partial(_week_total_of, RELEASES),
        })
        self.datacollector.collect(self)
        if snapshot is not None:
            self._restore(snapshot)

    # -- one week ------------------------------------------------------------------------------
    def step(self) -> None:
        """One week: the stages of `STAGES`, in order."""
        week = self.week
        self._open_week(week)
        timings = self.stage_seconds
        for name, method in STAGES.items():
            stage = getattr(self, method)
            if timings is None:
                stage(week)
            else:
                started = time.perf_counter()
                stage(week)
                timings[name] += time.perf_counter() - started

    def _open_week(self, week: int) -> None:
        """Room for this week's release spells; the week's counters at zero."""
        if week >= MAX_RUN_WEEKS:
            raise RuntimeError(f"runs are limited to {MAX_RUN_WEEKS} weeks")
        # At most everyone in prison is released this week.
        need = int(self.tallies[TALLY_SPELLS] + self.tallies[TALLY_INCARCERATED]) + 1
        if need > self.spells.resident.shape[0]:
            self.spells = kernels.grow_spells(self.spells, max(need, 2 * len(self.spells[0])))
            self._records = kernels.Records(self.spells, self.tallies)
        self._counts[:] = 0
        self._incidents[:] = 0

    def _run_programs(self, week: int) -> None:
        """Stage 1: programs start and enrol; police presence of the week (hot spots,
        coordination)."""
        self.programs.step(self, week)
        np.multiply(self._base_police_presence,
                    self.programs.police_multiplier(len(self.police_presence)),
                    out=self.police_presence)
        self._police_effects()

    def _police_effects(self) -> None:
        """Police presence P deters where it is (hazard x P ** -deterrence, more for violent
        offences) and, felt, in adjacent communities (a program's spillover); it raises
        clearance only where it is, as P ** arrest_presence_elasticity."""
        beh, jus = self.config.behaviour, self.config.justice
        presence = self.police_presence
        certainty = self.programs.certainty_multiplier()
        np.multiply(presence ** jus.arrest_presence_elasticity, certainty,
                    out=self.arrest_multiplier)
        log_presence = np.log(presence) + self.programs.felt_presence_spillover(
            self.tables.community_adj_ptr, self.tables.community_adj_idx)
        np.multiply(log_presence, -beh.deterrence_other, out=self.deter_all)
        np.multiply(log_presence, beh.deterrence_other - beh.deterrence_violent,
                    out=self.deter_violent)

    def _live_week(self, week: int) -> None:
        """Stage 2: every resident's week (demography, release, offending, supervision)."""
        r, p, t, pt = self.residents, self.params, self.tables, self.programs.tables
        if self._blocks is None:
            self._n_offences = kernels.step_residents(week, r, p, t, pt, self._week_buffers,
                                                      self._records)
        else:
            numba.set_num_threads(self.threads)
            self._n_offences = kernels.step_residents_parallel(
                week, r, p, t, pt, self._week_buffers, self._records, self._blocks)

    def _resolve_offences(self, week: int) -> None:
        """Stage 3: victims, lethality, peer exposure and justice for the queued offences."""
        kernels.process_offences(week, self._n_offences, self.residents, self.params,
                                 self.tables, self.programs.tables, self._week_buffers,
                                 self._records)

    def _update_communities(self, week: int) -> None:
        """Stage 4: violence moving average, spill-over, collective efficacy, and the
        community multiplier on next week's offending hazard."""
        beh = self.config.behaviour
        t = self.tables
        rate = self._incidents / t.community_size * (WEEKS_PER_YEAR * 1000.0)
        keep = weekly_retention(beh.violence_half_life_weeks)
        self.violence_rate = keep * self.violence_rate + (1.0 - keep) * rate
        neighbours = np.add.reduceat(
            np.append(self.violence_rate[t.community_adj_idx], 0.0), t.community_adj_ptr[:-1]
        ) if len(t.community_adj_idx) else np.zeros_like(self.violence_rate)
        neighbours = neighbours * (np.diff(t.community_adj_ptr) > 0) / self._neighbour_count
        felt = (1.0 - beh.spillover) * self.violence_rate + beh.spillover * neighbours
        city = self.violence_reference
        if city is None:
            city = float(np.average(self.violence_rate, weights=t.community_size))
            if week + 1 >= max(self.burn_in_weeks, WEEKS_PER_YEAR):
                self.violence_reference = city
        relative = np.clip(felt / city, 0.0, 5.0) if city > 0 else np.ones_like(felt)
        target = np.clip((beh.efficacy_baseline
                          - beh.efficacy_disadvantage_slope * t.community_disadvantage
                          - beh.efficacy_violence_erosion * (relative - 1.0))
                         * self.programs.efficacy_multiplier(len(felt)),
                         0.0, 1.0)
        self.collective_efficacy += beh.efficacy_adjustment_per_week * (
            target - self.collective_efficacy)
        self.community_hazard[:] = np.exp(
            beh.community_disadvantage * t.community_disadvantage
            + beh.community_violence * (relative - 1.0)
            - beh.efficacy_protection * (self.collective_efficacy - beh.efficacy_baseline))

    def _record(self, week: int) -> None:
        """Stage 5: the week's counts into the history; the week is done."""
        self.history[week] = self._counts
        if week >= self.burn_in_weeks:
            self.community_incidents_after_burn_in += self._incidents
            if (week - self.burn_in_weeks) % WEEKS_PER_YEAR == WEEKS_PER_YEAR - 1:
                self._count_by_age(week)
        self.week = week + 1
        self.datacollector.collect(self)

    def _count_by_age(self, week: int) -> None:
        """Residents and gang members by single year of age (once a year: O(residents))."""
        r = self.residents
        age = (week - r.birth_week) // WEEKS_PER_YEAR
        n = len(self.residents_by_age)
        self.residents_by_age += np.bincount(age, minlength=n)[:n]
        self.gang_members_by_age += np.bincount(
            age[(r.risk_flags & GANG_MEMBERSHIP) != 0], minlength=n)[:n]

    # -- running and reading -----------------------------------------------------------------
    def time_stages(self) -> dict[str, float]:
        """Start timing each stage: `stage_seconds` then accumulates wall seconds per stage
        (for profiling and the benchmark; untimed steps skip the clock)."""
        self.stage_seconds = dict.fromkeys(STAGES, 0.0)
        return self.stage_seconds

    @property
    def finished(self) -> bool:
        return self.week >= self.total_weeks

    def run(self, progress: bool = False, weeks: int | None = None) -> None:
        """Step to the end of the run (or `weeks` more), with a progress bar if asked."""
        end = self.total_weeks if weeks is None else min(self.total_weeks, self.week + weeks)
        bar = None
        if progress:
            from tqdm import tqdm
            # disable=None: no bar when stderr is not a terminal (logs, CI), only the summary.
            bar = tqdm(total=end - self.week, unit="wk", desc="weeks", disable=None,
                       postfix={"residents": f"{self.config.population.size:,}"},
                       mininterval=0.5, leave=False)
        while self.week < end:
            self.step()
            if bar is not None:
                bar.update(1)
                rate = bar.format_dict.get("rate")
                if rate and bar.n % 26 == 0 and not bar.disable:
                    size = self.config.population.size
                    bar.set_postfix(residents=f"{size:,}",
                                    resident_steps_per_s=f"{rate * size:.3g}")
        if bar is not None:
            bar.close()

    # -- one burn-in, many scenarios ---------------------------------------------------------------
    def continue_as(self, config: VpsimConfig | DictConfig) -> None:
        """Run the rest of this model with `config`'s scenario: the burn-in does not depend on
        the scenario (programs start after it; draws are counter-based), so every scenario of a
        seed can start from one burned-in state (`sim.burn_in`) with the results, bit for bit,
        of a run from scratch. Only before any program has started, and only when everything
        but the scenario (and how the run is shown or threaded) is as this model's."""
        config = validate(copy.deepcopy(config))
        if self.week > self.burn_in_weeks or any(p.weeks_running for p in self.programs.programs):
            raise ValueError(f"continue_as: week {self.week} is past the burn-in "
                             f"({self.burn_in_weeks} weeks) or a program has started")
        mine, theirs = (burn_in_identity(c) for c in (self.config, config))
        if mine != theirs:
            differ = sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))
            raise ValueError(f"continue_as: the burn-in differs in {', '.join(differ)}")
        self.config = config
        pop = config.population
        self.programs = self.program_book(config, pop.size, pop.communities,
                                          self.burn_in_weeks, self.total_weeks)
        self.threads = config.threads
        self._blocks = None
        if self.threads > 1:
            self._blocks = kernels.empty_blocks(4 * self.threads, self._counts,
                                                self.programs.tables.ind_stats)
        self._police_effects()

    def snapshot(self) -> dict[str, np.ndarray]:
        """This model's state as named arrays (numbers only, no objects), for
        `ViolencePreventionModel(config, snapshot=...)` to continue from: the residents, their
        ties, the release spells and tallies, the history, the communities' state, Mesa's clock
        and random generators, and what the DataCollector has collected: the model's own arrays,
        not copies. Its settings are not in it: the model that continues brings its own. Only
        before any program has started (programs are rebuilt from the continuing model's
        scenario)."""
        if self.week > self.burn_in_weeks or any(p.weeks_running for p in self.programs.programs):
            raise ValueError(f"snapshot: week {self.week} is past the burn-in "
                             f"({self.burn_in_weeks} weeks) or a program has started")
        arrays: dict[str, np.ndarray] = {"format": np.array(SNAPSHOT_FORMAT)}
        for group, record in (("residents", self.residents), ("spells", self.spells)):
            arrays.update((f"{group}.{name}", values)
                          for name, values in zip(record._fields, record, strict=True))
        arrays["tables.peer_ptr"] = self.tables.peer_ptr
        arrays["tables.peer_idx"] = self.tables.peer_idx
        arrays.update((name, getattr(self, name)) for name in _STATE_ARRAYS)
        arrays["week"] = np.array(self.week)
        arrays["n_offences"] = np.array(self._n_offences)
        arrays["violence_reference"] = np.array(
            np.nan if self.violence_reference is None else self.violence_reference)
        version, words, gauss = self.random.getstate()
        arrays["mesa.random"] = np.array([version, *words], np.int64)
        arrays["mesa.random_gauss"] = np.array([] if gauss is None else [gauss])
        arrays["mesa.rng"] = np.array(json.dumps(self.rng.bit_generator.state))
        arrays["mesa.steps"] = np.array(self.steps)
        arrays["mesa.time"] = np.array(self.time, np.float64)
        collector = self.datacollector
        arrays["collected.time"] = np.array(collector._collection_steps, np.float64)
        arrays.update((f"collected.{name}", np.array(values, np.int64))
                      for name, values in collector.model_vars.items())
        return arrays

    def _restore(self, snapshot: Mapping[str, np.ndarray]) -> None:
        """The state of `snapshot()` (residents and ties are read in `__init__`), in place: the
        week's buffers and records keep referring to the model's arrays."""
        if _snapshot_array(snapshot, "format", np.int64, ()) != SNAPSHOT_FORMAT:
            raise ValueError(f"snapshot: format {snapshot['format']} is not {SNAPSHOT_FORMAT}")
        for name in _STATE_ARRAYS:
            mine = getattr(self, name)
            mine[...] = _snapshot_array(snapshot, name, mine.dtype, mine.shape)
        fields = kernels.Spells._fields
        first = _snapshot_array(snapshot, f"spells.{fields[0]}", self.spells[0].dtype)
        self.spells = kernels.Spells(*(
            _snapshot_array(snapshot, f"spells.{name}", mine.dtype, first.shape).copy()
            for name, mine in zip(fields, self.spells, strict=True)))
        self._records = kernels.Records(self.spells, self.tallies)
        self.week = int(_snapshot_array(snapshot, "week", np.int64, ()))
        if not 0 <= self.week <= self.burn_in_weeks:
            raise ValueError(f"snapshot: week {self.week} is outside the burn-in "
                             f"[0, {self.burn_in_weeks}]")
        self._n_offences = int(_snapshot_array(snapshot, "n_offences", np.int64, ()))
        reference = float(_snapshot_array(snapshot, "violence_reference", np.float64, ()))
        self.violence_reference = None if np.isnan(reference) else reference
        # Mesa's clock: its own scheduler steps to the snapshot's time with our week a no-op
        steps = int(_snapshot_array(snapshot, "mesa.steps", np.int64, ()))
        until = float(_snapshot_array(snapshot, "mesa.time", np.float64, ()))
        user_step, self._user_step = self._user_step, _no_week
        try:
            if until > self.time:
                self.run_until(until)
        finally:
            self._user_step = user_step
        if (self.steps, self.time) != (steps, until):
            raise ValueError(f"snapshot: Mesa's clock at step {steps}, time {until} cannot be "
                             f"reached (it is at {self.steps}, {self.time})")
        words = _snapshot_array(snapshot, "mesa.random", np.int64, (626,))
        gauss = _snapshot_array(snapshot, "mesa.random_gauss", np.float64)
        self.random.setstate((int(words[0]), tuple(int(w) for w in words[1:]),
                              float(gauss[0]) if len(gauss) else None))
        self.rng.bit_generator.state = json.loads(str(snapshot["mesa.rng"]))
        collector = self.datacollector
        collector._collection_steps = _snapshot_array(
            snapshot, "collected.time", np.float64).tolist()
        for name in collector.model_vars:
            values = _snapshot_array(snapshot, f"collected.{name}", np.int64,
                                     (len(collector._collection_steps),))
            collector.model_vars[name] = [int(v) for v in values]
        self._police_effects()

    def _week_total(self, stat: int) -> int:
        return int(self._counts[stat].sum()) if self.week > 0 else 0

    def rearrests_between(self, start_week: int, end_week: int) -> int:
        """Released people arrested for the first time since their release, in weeks
        [start_week, end_week): the events `outcomes.release_spells` follows up."""
        recorded = self.spells.rearrest_week[:int(self.tallies[TALLY_SPELLS])]
        return int(np.count_nonzero((recorded >= start_week) & (recorded < end_week)))

    def resolved_config(self) -> dict:
        return OmegaConf.to_container(OmegaConf.structured(self.config), resolve=True)


SNAPSHOT_FORMAT = 1
"""The layout of `ViolencePreventionModel.snapshot()`; a snapshot of another is refused."""

_STATE_ARRAYS = ("violence_rate", "collective_efficacy", "police_presence",
                 "_base_police_presence", "community_hazard", "_counts", "_incidents", "tallies",
                 "history", "community_incidents_after_burn_in", "residents_by_age",
                 "gang_members_by_age")
"""The model's arrays that a snapshot carries beside residents, ties and spells (what presence
does is recomputed from `police_presence`)."""


def _snapshot_array(snapshot: Mapping[str, np.ndarray], name: str, dtype,
                    shape: tuple[int, ...] | None = None) -> np.ndarray:
    """`snapshot[name]`, refused unless it has `dtype` (and `shape`)."""
    if name not in snapshot:
        raise ValueError(f"snapshot: no array {name!r}")
    values = np.asarray(snapshot[name])
    if values.dtype != np.dtype(dtype) or (shape is not None and values.shape != shape):
        raise ValueError(f"snapshot: {name} is {values.dtype}{list(values.shape)}, expected "
                         f"{np.dtype(dtype)}{list(shape) if shape is not None else ''}")
    return values


def _no_week() -> None:
    """A week in which nothing happens: Mesa's clock moves to a snapshot's time."""


def _week_total_of(stat: int, model: ViolencePreventionModel) -> int:
    return model._week_total(stat)


def _incarcerated(model: ViolencePreventionModel) -> int:
    return int(model.tallies[TALLY_INCARCERATED])


NOT_IN_BURN_IN = ("scenario", "costs", "progress", "figures", "threads", "sweep_name",
                  "report")
"""Config keys a burn-in does not depend on (the scenario's programs start after it; costs
change no behaviour)."""


def burn_in_identity(config: VpsimConfig) -> dict:
    """Everything a burn-in depends on: the resolved config without `NOT_IN_BURN_IN`."""
    resolved = OmegaConf.to_container(OmegaConf.structured(config), resolve=True)
    return {k: v for k, v in resolved.items() if k not in NOT_IN_BURN_IN}


__all__ = ["ViolencePreventionModel", "Community", "STAGES", "burn_in_identity"]
