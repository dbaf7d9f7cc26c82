"""Counter-based random numbers.

A draw is a pure function of (run key, week, resident, stream): the SplitMix64 output function
applied to an injective packing of the counter. No generator state exists, so results do not
depend on thread count or evaluation order, and two scenarios run with the same seed share every
draw their policies do not change (common random numbers).

Counter layout (64 bits): week << 40 | resident << 8 | stream. Weeks < 2**24, residents < 2**32,
streams < 256.
"""

import numpy as np
from numba import njit

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S40 = np.uint64(40)
_S8 = np.uint64(8)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53

# Streams: one per independent decision, so that changing one decision leaves the others' draws.
OFFEND = 1
OFFENCE_TYPE = 2
VICTIM_SOURCE = 3
VICTIM_COMMUNITY = 4
LETHAL = 5
ARREST = 6
CONVICT = 7
PRISON = 8
SENTENCE_A = 9
SENTENCE_B = 10
REVOCATION = 11
MEDIATION = 12  # interrupters reach a shooting
REMAND = 13  # held in custody before trial (pretrial detention)
REMAND_LENGTH = 14  # 14 and 15: how long (a normal draw)
VICTIM_TRY = 16  # 16..31: candidate and acceptance draws for victim selection
ENTRANT = 32  # 32..47: traits of a new resident
STATE = 48  # 48..55: life-course risk states (STATE + k for risk factor k)
NETWORK = 64  # 64..127: peer ties
PROGRAM = 128  # 128..191: reserved for program enrolment and completion


@njit(inline="always", cache=True)
def splitmix64(z):
    """SplitMix64 output function (a bijection on uint64)."""
    z = z + _GAMMA
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def run_key(seed: int) -> np.uint64:
    """The key every draw of a run is hashed with."""
    if seed < 0:
        raise ValueError(f"seed = {seed}: must be a non-negative integer")
    # An njit function returns a Python int: keep the uint64 type, or numba would type keys
    # below 2**63 as int64 and every draw would change.
    return np.uint64(splitmix64(np.uint64(seed)))


@njit(inline="always", cache=True)
def uniform(key, week, resident, stream):
    """A float in [0, 1), fixed by (key, week, resident, stream)."""
    counter = (np.uint64(week) << _S40) | (np.uint64(resident) << _S8) | np.uint64(stream)
    z = splitmix64(splitmix64(key ^ counter))
    return np.float64(z >> _S11) * _TO_UNIT


@njit(inline="always", cache=True)
def normal(key, week, resident, stream):
    """A standard normal draw (Box-Muller) from streams `stream` and `stream + 1`."""
    u1 = 1.0 - uniform(key, week, resident, stream)  # in (0, 1]
    u2 = uniform(key, week, resident, stream + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@njit(cache=True)
def uniforms(key, week, residents, stream):
    """Vectorised `uniform` over an array of resident indices (for tests and set-up)."""
    out = np.empty(residents.shape[0], dtype=np.float64)
    for k in range(residents.shape[0]):
        out[k] = uniform(key, week, residents[k], stream)
    return out
