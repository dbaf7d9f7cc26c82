"""The Mesa model: communities as agents on a network space, residents as arrays.

`ViolencePreventionModel.step()` is one week; the order of its stages is documented once, in
`sim.kernels`. Python work per week is O(communities): two kernel calls over residents, a few
numpy operations over communities, and the record.
"""

from __future__ import annotations

import copy
import math

import mesa
import numba
import numpy as np
from mesa.discrete_space import FixedAgent, Network
from omegaconf import DictConfig, OmegaConf

from . import kernels, network, population, programs
from .config import AGE_BAND_EDGES, MIN_AGE, ConfigError, VpsimConfig, load, validate
from .kernels import N_INCARCERATED, N_SPELLS
from .rng import run_key

WEEKS_PER_YEAR = 52


def _logit(prevalence: float) -> float:
    if prevalence <= 0.0:
        return -math.inf
    if prevalence >= 1.0:
        return math.inf
    return math.log(prevalence / (1.0 - prevalence))


def _decay_rate(half_life_weeks: float) -> float:
    return math.log(2.0) / half_life_weeks


def _horizon(coefficient: float, half_life_weeks: float) -> int:
    """Weeks after which coefficient x exp(-rate x weeks) is below 1e-4 (0 if switched off)."""
    if coefficient == 0.0:
        return 0
    return int(math.ceil(math.log(abs(coefficient) / 1e-4) / _decay_rate(half_life_weeks)))


def kernel_params(cfg: VpsimConfig, key: np.uint64) -> kernels.Params:
    pop, beh, jus = cfg.population, cfg.behaviour, cfg.justice
    return kernels.Params(
        key=key,
        min_age_weeks=WEEKS_PER_YEAR * MIN_AGE,
        max_age_weeks=WEEKS_PER_YEAR * pop.max_age,
        male_share=pop.male_share,
        propensity_sigma=pop.propensity_sigma,
        disadvantage_risk_slope=pop.disadvantage_risk_slope,
        logit_family_adversity=_logit(pop.family_adversity),
        logit_disengagement=_logit(pop.disengagement),
        logit_substance_use=_logit(pop.substance_use),
        logit_gang_male=_logit(pop.gang_membership_male),
        logit_gang_female=_logit(pop.gang_membership_female),
        logit_firearm=_logit(pop.firearm_access),
        hr_family_adversity=beh.risk.family_adversity,
        hr_disengagement=beh.risk.disengagement,
        hr_substance_use=beh.risk.substance_use,
        hr_gang=beh.risk.gang_membership,
        hr_firearm=beh.risk.firearm_access,
        violent_share=beh.violent_share,
        peer_contagion=beh.peer_contagion,
        exposure_decay=0.5 ** (1.0 / beh.exposure_half_life_weeks),
        homicide_exposure_weight=beh.homicide_exposure_weight,
        retaliation=beh.retaliation,
        retaliation_rate=_decay_rate(beh.retaliation_half_life_weeks),
        retaliation_horizon=_horizon(beh.retaliation, beh.retaliation_half_life_weeks),
        prior_incarceration=beh.prior_incarceration,
        prior_incarceration_rate=_decay_rate(beh.prior_incarceration_half_life_weeks),
        prior_incarceration_horizon=_horizon(beh.prior_incarceration,
                                             beh.prior_incarceration_half_life_weeks),
        post_release=beh.post_release,
        post_release_rate=_decay_rate(beh.post_release_half_life_weeks),
        post_release_horizon=_horizon(beh.post_release, beh.post_release_half_life_weeks),
        victim_among_peers=beh.victim_among_peers,
        victim_in_own_community=beh.victim_in_own_community,
        lethality=beh.lethality,
        firearm_lethality_ratio=beh.firearm_lethality_ratio,
        clearance_violent=jus.clearance_violent,
        clearance_other=jus.clearance_other,
        clearance_homicide=jus.clearance_homicide,
        supervision_detection=jus.supervision_detection,
        conviction_probability=jus.conviction_probability,
        prison_probability_violent=jus.prison_probability_violent,
        prison_probability_other=jus.prison_probability_other,
        prison_prior_conviction_ratio=jus.prison_prior_conviction_ratio,
        sentence_median_weeks_violent=jus.sentence_median_weeks_violent,
        sentence_median_weeks_other=jus.sentence_median_weeks_other,
        sentence_median_weeks_homicide=jus.sentence_median_weeks_homicide,
        sentence_sigma=jus.sentence_sigma,
        parole_weeks=int(jus.parole_weeks),
        probation_weeks=int(jus.probation_weeks),
        revocation_probability=-math.expm1(-jus.revocation_per_year / WEEKS_PER_YEAR),
        revocation_weeks=int(jus.revocation_weeks),
    )


def base_hazard(cfg: VpsimConfig) -> np.ndarray:
    """Weekly offending hazard by [sex, age in years] for a resident with static risk 1."""
    beh = cfg.behaviour
    ages = np.arange(cfg.population.max_age + 1)
    curve = np.interp(ages, beh.age_curve_ages, beh.age_curve_relative)
    weekly = beh.base_offending_per_year * cfg.population.offending_level / WEEKS_PER_YEAR * curve
    return np.stack([weekly * beh.female_relative_offending, weekly]).astype(np.float64)


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
    """

    program_book = programs.ProgramBook  # stage 2's bookkeeping (sim.reference swaps it)

    def __init__(self, config: VpsimConfig | DictConfig | None = None,
                 rng: int | None = None) -> None:
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
        self.band_labels = population.band_labels(pop.max_age)

        # Communities: a lattice of adjacent places; disadvantage is spatially smoothed noise.
        graph = network.community_graph(pop.communities)
        adj_ptr, adj_idx = network.adjacency_csr(graph)
        noise = np.random.default_rng(pop.layout_seed).normal(size=pop.communities)
        smoothed = noise + np.array([noise[list(graph.neighbors(c))].sum() for c in graph.nodes])
        smoothed = (smoothed - smoothed.mean()) / (smoothed.std() or 1.0)
        disadvantage = pop.disadvantage_sd * smoothed
        starts, sizes = population.community_blocks(pop.size, pop.communities)
        self.params = kernel_params(config, self.key)
        tables = kernels.Tables(
            base_hazard=base_hazard(config),
            band_of_age=population.band_of_age(pop.max_age),
            victim_weight=self._victim_weight(),
            community_start=starts,
            community_size=sizes,
            community_disadvantage=disadvantage.astype(np.float64),
            community_adj_ptr=adj_ptr,
            community_adj_idx=adj_idx,
            peer_ptr=np.zeros(pop.size + 1, np.int64),
            peer_idx=np.zeros(0, np.int32),
        )
        self.residents = population.generate(config, self.params, tables)
        window_share = pop.peer_age_window_years / (pop.max_age - MIN_AGE)
        peer_ptr, peer_idx = network.draw_peer_ties(
            self.key, self.residents.community, self.residents.risk_flags, starts, sizes,
            adj_ptr, adj_idx, pop.peer_ties, pop.peer_ties_within_community, window_share,
            pop.gang_ties)
        self.tables = tables._replace(peer_ptr=peer_ptr, peer_idx=peer_idx)

        # Per-community dynamic state (Community agents read these).
        self.violence_rate = np.zeros(pop.communities)
        self.collective_efficacy = np.clip(
            beh.efficacy_baseline - beh.efficacy_disadvantage_slope * disadvantage, 0.0, 1.0)
        self.police_presence = np.full(pop.communities, config.justice.police_presence)
        self.community_hazard = np.ones(pop.communities)
        self._neighbour_count = np.maximum(np.diff(adj_ptr), 1)

        self.space = Network(graph, random=self.random,
                             layout={c: graph.nodes[c]["pos"] for c in graph.nodes})
        for c in range(pop.communities):
            Community(self, c, self.space[c])

        self.programs = self.program_book(config, pop.size, pop.communities,
                                          self.burn_in_weeks, self.total_weeks)
        self._base_police_presence = self.police_presence.copy()

        # Buffers and records.
        self.tallies = np.zeros(kernels.N_TALLIES, np.int64)
        self.spells = kernels.empty_spells(max(1024, pop.size // 50))
        self._offences = np.empty(pop.size, np.int32)
        self._released = np.empty(pop.size, np.int32)
        self._counts = np.zeros((kernels.N_STATS, 2, len(self.band_labels)), np.int64)
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
        self._incidents = np.zeros(pop.communities, np.int64)
        self.history = np.zeros((self.total_weeks, kernels.N_STATS, 2, len(self.band_labels)),
                                np.int32)
        self.community_incidents_after_burn_in = np.zeros(pop.communities, np.int64)
        self.datacollector = mesa.DataCollector(model_reporters={
            "violent_offences": lambda m: m._week_total(kernels.VIOLENT_OFFENCES),
            "homicides": lambda m: m._week_total(kernels.HOMICIDES),
            "arrests": lambda m: m._week_total(kernels.ARRESTS),
            "admissions": lambda m: m._week_total(kernels.ADMISSIONS),
            "incarcerated": lambda m: int(m.tallies[N_INCARCERATED]),
            "releases": lambda m: m._week_total(kernels.RELEASES),
        })
        self.datacollector.collect(self)

    def _victim_weight(self) -> np.ndarray:
        beh = self.config.behaviour
        by_band = np.asarray(beh.victim_age_relative, np.float64)
        w = np.stack([by_band * beh.victim_female_relative, by_band])
        return w / w.max()

    def _week_total(self, stat: int) -> int:
        return int(self._counts[stat].sum()) if self.week > 0 else 0

    def rearrests_between(self, start_week: int, end_week: int) -> int:
        """Released people arrested for the first time since their release, in weeks
        [start_week, end_week): the events `outcomes.release_spells` follows up."""
        recorded = self.spells.rearrest_week[:int(self.tallies[N_SPELLS])]
        return int(np.count_nonzero((recorded >= start_week) & (recorded < end_week)))

    @property
    def finished(self) -> bool:
        return self.week >= self.total_weeks

    def step(self) -> None:
        """One week: residents (kernels), then communities, then the record."""
        week = self.week
        if week >= 2**24 - 1:
            raise RuntimeError("runs are limited to 2**24 - 1 weeks")
        self._reserve_spells()
        self._counts[:] = 0
        self._incidents[:] = 0
        self.programs.step(self, week)
        self.police_presence = self._base_police_presence * self.programs.police_multiplier(
            len(self.police_presence))
        r, p, t, pt = self.residents, self.params, self.tables, self.programs.tables
        if self._blocks is None:
            n_offences = kernels.step_residents(week, r, p, t, pt, self.community_hazard,
                                                self._counts, self._offences, self._released,
                                                self.spells, self.tallies)
        else:
            numba.set_num_threads(self.threads)
            n_offences = kernels.step_residents_parallel(
                week, r, p, t, pt, self.community_hazard, self._counts, self._offences,
                self._released, self.spells, self.tallies, self._blocks)
        year_start = week - week % WEEKS_PER_YEAR
        kernels.process_offences(week, year_start, n_offences, self._offences, r, p, t, pt,
                                 self.police_presence, self._counts, self._incidents,
                                 self.spells, self.tallies)
        self._update_communities()
        self.history[week] = self._counts
        if week >= self.burn_in_weeks:
            self.community_incidents_after_burn_in += self._incidents
        self.week = week + 1
        self.datacollector.collect(self)

    def _reserve_spells(self) -> None:
        """At most everyone in prison is released this week: keep room for their spells."""
        need = int(self.tallies[N_SPELLS] + self.tallies[N_INCARCERATED]) + 1
        if need > self.spells.resident.shape[0]:
            self.spells = kernels.grow_spells(self.spells, max(need, 2 * len(self.spells[0])))

    def _update_communities(self) -> None:
        """Stage 7 for communities: violence moving average, spill-over, collective efficacy."""
        beh = self.config.behaviour
        t = self.tables
        rate = self._incidents / t.community_size * (WEEKS_PER_YEAR * 1000.0)
        keep = 0.5 ** (1.0 / beh.violence_half_life_weeks)
        self.violence_rate = keep * self.violence_rate + (1.0 - keep) * rate
        neighbours = np.add.reduceat(
            np.append(self.violence_rate[t.community_adj_idx], 0.0), t.community_adj_ptr[:-1]
        ) if len(t.community_adj_idx) else np.zeros_like(self.violence_rate)
        neighbours = neighbours * (np.diff(t.community_adj_ptr) > 0) / self._neighbour_count
        felt = (1.0 - beh.spillover) * self.violence_rate + beh.spillover * neighbours
        city = float(np.average(self.violence_rate, weights=t.community_size))
        relative = np.clip(felt / city, 0.0, 5.0) if city > 0 else np.ones_like(felt)
        target = np.clip((beh.efficacy_baseline
                          - beh.efficacy_disadvantage_slope * t.community_disadvantage
                          - beh.efficacy_violence_erosion * (relative - 1.0))
                         * self.programs.efficacy_multiplier(len(felt)),
                         0.0, 1.0)
        self.collective_efficacy += beh.efficacy_adjustment_per_week * (
            target - self.collective_efficacy)
        self.community_hazard = np.exp(
            beh.community_disadvantage * t.community_disadvantage
            + beh.community_violence * (relative - 1.0)
            - beh.collective_efficacy * (self.collective_efficacy - beh.efficacy_baseline))

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
                    bar.set_postfix(residents=f"{self.config.population.size:,}",
                                    resident_steps_per_s=f"{rate * self.config.population.size:.3g}")
        if bar is not None:
            bar.close()

    def resolved_config(self) -> dict:
        return OmegaConf.to_container(OmegaConf.structured(self.config), resolve=True)


__all__ = ["ViolencePreventionModel", "Community", "kernel_params", "AGE_BAND_EDGES"]
