"""The synthetic population and the networks it lives on."""

from collections import Counter

import numpy as np
from helpers import small_config, uint64_key

from sim import codes, network, population
from sim.codes import AGE_BAND_EDGES
from sim.model import ViolencePreventionModel


def test_community_blocks_are_contiguous_and_near_equal():
    starts, sizes = population.community_blocks(1003, 7)
    assert sizes.sum() == 1003
    assert sizes.max() - sizes.min() <= 1
    assert starts[0] == 0
    assert np.array_equal(starts[1:], np.cumsum(sizes)[:-1])


def test_age_bands_follow_the_band_edges():
    band = population.band_of_age(65)
    assert len(band) == 66
    for b, edge in enumerate(AGE_BAND_EDGES):
        assert band[edge] == b
        if edge > AGE_BAND_EDGES[0]:
            assert band[edge - 1] == b - 1
    assert band[64] == len(AGE_BAND_EDGES) - 1
    labels = codes.band_labels(65)
    assert labels[0] == f"{AGE_BAND_EDGES[0]}-{AGE_BAND_EDGES[1] - 1}"
    assert labels[-1] == f"{AGE_BAND_EDGES[-1]}-64"
    assert len(labels) == len(AGE_BAND_EDGES)


def test_initial_population_is_aged_within_range_ordered_by_age_with_consistent_records():
    cfg = small_config(size=2000, communities=5, seed=0)
    model = ViolencePreventionModel(cfg)
    r, t = model.residents, model.tables
    age_weeks = -r.birth_week.astype(np.int64)  # at week 0
    assert age_weeks.min() >= 52 * 10
    assert age_weeks.max() < 52 * cfg.population.max_age
    for c in range(cfg.population.communities):
        block = slice(t.community_start[c], t.community_start[c] + t.community_size[c])
        assert (r.community[block] == c).all()
        assert (np.diff(age_weeks[block]) >= 0).all()  # ordered by age within a community
    # The simulated past: some in prison (until week 0 or later), some on parole after a past
    # release, records no longer than arrests allow; no spell open (follow-up starts at week 0).
    state = r.justice_state
    assert np.isin(state, [codes.FREE, codes.INCARCERATED, codes.SUPERVISED]).all()
    assert 0 < (state == codes.INCARCERATED).mean() < 0.05
    assert (r.sentence_end_week[state == codes.INCARCERATED] >= 0).all()
    assert (r.supervision_end_week[state == codes.SUPERVISED] >= 0).all()
    released = r.release_week != codes.NEVER
    assert released.any() and (r.release_week[released] < 0).all()
    assert (r.convictions <= r.prior_arrests).all() and r.prior_arrests.any()
    arrested = r.prior_arrests > 0
    assert (r.last_arrest_week[arrested] < 0).all()
    assert (r.last_arrest_week[~arrested] == codes.NEVER).all()
    assert (r.open_spell == -1).all()
    assert (r.propensity > 0).all()
    assert model.tallies[codes.TALLY_INCARCERATED] == (state == codes.INCARCERATED).sum()


def test_peer_ties_are_undirected_without_self_ties():
    cfg = small_config(size=2000, communities=5, seed=0)
    model = ViolencePreventionModel(cfg)
    ptr, idx = model.tables.peer_ptr, model.tables.peer_idx
    n = cfg.population.size
    assert ptr[0] == 0 and ptr[-1] == len(idx) and (np.diff(ptr) >= 0).all()
    assert ((idx >= 0) & (idx < n)).all()
    owner = np.repeat(np.arange(n), np.diff(ptr))
    assert not (owner == idx).any()
    ties = Counter(zip(owner.tolist(), idx.tolist()))
    assert all(ties[(j, i)] == k for (i, j), k in ties.items())
    # About twice peer_ties per resident (each draws its own, and is drawn by others).
    assert len(idx) / n > cfg.population.peer_ties


def test_peer_ties_stay_in_the_community_when_all_ties_are_local():
    starts, sizes = population.community_blocks(1200, 4)
    community = np.repeat(np.arange(4), sizes).astype(np.int16)
    flags = np.zeros(1200, np.uint8)
    flags[::10] = codes.GANG_MEMBERSHIP
    adj_ptr, adj_idx = network.adjacency_csr(network.community_graph(4))
    ptr, idx = network.draw_peer_ties(uint64_key(5), community, flags, starts, sizes, adj_ptr,
                                      adj_idx, 4, 1.0, 0.1, 3)
    owner = np.repeat(np.arange(1200), np.diff(ptr))
    assert len(idx) > 0
    assert (community[owner] == community[idx]).all()


def test_community_lattice_neighbours():
    g = network.community_graph(16)  # 4 x 4
    degree = dict(g.degree())
    assert degree[0] == 2 and degree[3] == 2 and degree[15] == 2  # corners
    assert degree[5] == 4  # interior
    assert g.has_edge(0, 1) and g.has_edge(0, 4) and not g.has_edge(3, 4)
    ptr, idx = network.adjacency_csr(g)
    assert sorted(idx[ptr[5]:ptr[6]].tolist()) == [1, 4, 6, 9]
