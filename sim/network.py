"""The peer network over residents (CSR arrays) and the adjacency of communities.

Ties are mostly within the resident's community and age band (homophily), some to an adjacent
community; gang members get extra ties to other members of their community. The network is
drawn once; a slot that takes a new entrant keeps its slot's ties (within a community, slots are
ordered by age and recycled in that order, so ties stay roughly age-similar).
"""

import networkx as nx
import numpy as np
from numba import njit

from . import rng
from .codes import GANG_MEMBERSHIP, MIN_AGE
from .rng import uniform


def peer_network(key, residents, tables, pop) -> dict:
    """The peer ties of a generated population, as the `Tables` fields `peer_ptr`, `peer_idx`.

    `pop` is the population config: ties per resident, the share within the own community, the
    age window (years), and gang members' extra ties.
    """
    window_share = pop.peer_age_window_years / (pop.max_age - MIN_AGE)
    ptr, idx = draw_peer_ties(
        key, residents.community, residents.risk_flags, tables.community_start,
        tables.community_size, tables.community_adj_ptr, tables.community_adj_idx,
        pop.peer_ties, pop.peer_ties_within_community, window_share, pop.gang_ties)
    return {"peer_ptr": ptr, "peer_idx": idx}


def community_graph(communities: int) -> nx.Graph:
    """Communities on a near-square lattice: each is adjacent to its 2-4 neighbours."""
    cols = int(np.ceil(np.sqrt(communities)))
    g = nx.Graph()
    for c in range(communities):
        g.add_node(c, pos=(c % cols, c // cols))
        if c % cols > 0:
            g.add_edge(c, c - 1)
        if c >= cols:
            g.add_edge(c, c - cols)
    return g


def adjacency_csr(g: nx.Graph) -> tuple[np.ndarray, np.ndarray]:
    n = g.number_of_nodes()
    ptr = np.zeros(n + 1, np.int64)
    idx = []
    for c in range(n):
        neighbours = sorted(g.neighbors(c))
        idx.extend(neighbours)
        ptr[c + 1] = ptr[c] + len(neighbours)
    return ptr, np.asarray(idx, np.int64)


@njit(cache=True)
def draw_peer_ties(key, community, risk_flags, community_start, community_size, adj_ptr,
                   adj_idx, ties, within, window_share, gang_ties):
    """Undirected peer ties as CSR (ptr int64, idx int32); duplicates are kept as stronger ties."""
    n = community.shape[0]
    n_gang = 0
    for i in range(n):
        if risk_flags[i] & GANG_MEMBERSHIP:
            n_gang += 1
    max_edges = n * ties + n_gang * gang_ties
    src = np.empty(max_edges, np.int32)
    dst = np.empty(max_edges, np.int32)
    m = 0
    for i in range(n):
        c = community[i]
        size = community_size[c]
        position = i - community_start[c]
        for k in range(ties):
            cj = c
            if uniform(key, k, i, rng.NETWORK) >= within:
                na = adj_ptr[c + 1] - adj_ptr[c]
                if na > 0:
                    cj = adj_idx[adj_ptr[c] + np.int64(uniform(key, k, i, rng.NETWORK + 1) * na)]
            size_j = community_size[cj]
            window = max(1, np.int64(window_share * size_j))
            centre = np.int64((position + 0.5) * size_j / size)  # same relative age
            offset = np.int64(uniform(key, k, i, rng.NETWORK + 2) * (2 * window + 1)) - window
            j = community_start[cj] + (centre + offset) % size_j
            if j != i:
                src[m] = i
                dst[m] = j
                m += 1
        if risk_flags[i] & GANG_MEMBERSHIP:
            for k in range(gang_ties):
                for attempt in range(20):
                    j = community_start[c] + np.int64(
                        uniform(key, k * 20 + attempt, i, rng.NETWORK + 3) * size)
                    if j != i and risk_flags[j] & GANG_MEMBERSHIP:
                        src[m] = i
                        dst[m] = j
                        m += 1
                        break
    ptr = np.zeros(n + 1, np.int64)
    for e in range(m):
        ptr[src[e] + 1] += 1
        ptr[dst[e] + 1] += 1
    for i in range(n):
        ptr[i + 1] += ptr[i]
    fill = ptr[:-1].copy()
    idx = np.empty(2 * m, np.int32)
    for e in range(m):
        a = src[e]
        b = dst[e]
        idx[fill[a]] = b
        fill[a] += 1
        idx[fill[b]] = a
        fill[b] += 1
    return ptr, idx
