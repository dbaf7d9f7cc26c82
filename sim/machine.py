"""What this machine can hold, checked before a run allocates anything: memory and threads.

Memory a run needs is estimated from measurements and compared with what the machine has left
(the cgroup limit if one is set, else MemAvailable); more threads than numba may use here are
refused too (the model checks that as well, but only once it is building).

Measured peak resident memory of a whole run (build, a year of weeks, `write_run`) above the
process's memory just before it (peak reset through /proc/self/clear_refs), on `metro` profiles,
2026-12-02:

| residents | peer ties | gang ties (members) | bytes a resident |
|---|---|---|---|
| 1,000,000 | 0 | 3 (about 1%) | 97 |
| 1,000,000 | 3 | 3 (about 1%) | 109 |
| 3,000,000 | 3 | 3 (about 1%) | 111 |
| 1,000,000 | 5 | 3 (about 1%) | 141 |
| 1,000,000 | 20 | 3 | 381 |
| 1,000,000 | 50 | 3 | 860 |
| 1,000,000 | 3 | 50 (30% of men, all women) | 633 |

that is the larger of about 100 bytes (the residents' arrays and queues) and 64 bytes plus 16 for
each tie a resident makes (the peer network is drawn as edge lists, then stored both ways: the
peak of building it); and about 2.6 KB for each simulated week (the weekly record and the time
series written from it; 300 years at 1,000 residents: 38 MB).
"""

from __future__ import annotations

import math
from pathlib import Path

from .codes import WEEKS_PER_YEAR
from .config import ConfigError, VpsimConfig

BYTES_STATE = 100
BYTES_PER_RESIDENT = 72  # the resident arrays (remand ones since issue 16) and their copies
BYTES_PER_TIE = 16
BYTES_PER_WEEK = 3 * 1024
HEADROOM = 256 * 2**20  # figures, pandas, the first call of a kernel at a new size


def ties_per_resident(cfg: VpsimConfig) -> float:
    pop = cfg.population
    # gang members: at most twice the largest prevalence (more where disadvantage is high)
    gang = pop.gang_membership
    gang_share = min(1.0, 2 * gang.scale * max(*gang.prevalence_male, *gang.prevalence_female))
    return pop.peer_ties + gang_share * pop.gang_ties


def bytes_per_resident(cfg: VpsimConfig) -> float:
    return max(BYTES_STATE, BYTES_PER_RESIDENT + BYTES_PER_TIE * ties_per_resident(cfg))


def estimate_bytes(cfg: VpsimConfig) -> int:
    """Peak memory a run of `cfg` needs above the process's start-up, in bytes."""
    per_resident = bytes_per_resident(cfg)
    weeks = WEEKS_PER_YEAR * (cfg.years + cfg.burn_in_years)
    return int(cfg.population.size * per_resident + weeks * BYTES_PER_WEEK + HEADROOM)


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max": no limit


def _cgroup_room() -> int | None:
    """Bytes left under this process's cgroup memory limits (v2 or v1), if any limit is set."""
    rooms = []
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, rel = line.split(":", 2)
        if controllers == "":  # cgroup v2: every level up to the root may set a limit
            root = Path("/sys/fs/cgroup")
            if not (root / "cgroup.controllers").exists():
                root = root / "unified"  # the hybrid layout
            folder = root / rel.lstrip("/")
            while True:
                limit = _read_int(folder / "memory.max")
                used = _read_int(folder / "memory.current")
                if limit is not None and used is not None:
                    rooms.append(limit - used)
                if folder == root or folder == folder.parent:
                    break
                folder = folder.parent
        elif "memory" in controllers.split(","):
            base = Path("/sys/fs/cgroup/memory")
            for folder in (base / rel.lstrip("/"), base):
                limit = _read_int(folder / "memory.limit_in_bytes")
                used = _read_int(folder / "memory.usage_in_bytes")
                if limit is not None and used is not None and limit < 2**60:
                    rooms.append(limit - used)
                    break
    return min(rooms) if rooms else None


def _mem_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def available_bytes() -> tuple[int, str] | None:
    """Memory this process may still use, and where the figure comes from (None: unknown)."""
    candidates = []
    room = _cgroup_room()
    if room is not None:
        candidates.append((max(room, 0), "under this process's cgroup memory limit"))
    free = _mem_available()
    if free is not None:
        candidates.append((free, "MemAvailable in /proc/meminfo"))
    return min(candidates) if candidates else None


def check_memory(cfg: VpsimConfig) -> None:
    """Refuse, with one line naming population.size, a run this machine cannot hold."""
    available = available_bytes()
    if available is None:
        return
    room, source = available
    needed = estimate_bytes(cfg)
    if needed <= room:
        return
    per_resident = bytes_per_resident(cfg)
    fixed = needed - cfg.population.size * per_resident
    fits = max(0, math.floor((room - fixed) / per_resident))
    raise ConfigError(f"population.size = {cfg.population.size:,} needs about "
                      f"{needed / 2**30:.1f} GiB of memory ({per_resident:.0f} bytes a "
                      f"resident); {room / 2**30:.1f} GiB is available ({source}): allowed "
                      f"about {fits:,} residents here")


def check_threads(cfg: VpsimConfig) -> None:
    """More threads than numba may use here: refused (the same rule as the model's)."""
    if cfg.threads > 1:
        import numba

        available = numba.config.NUMBA_NUM_THREADS
        if cfg.threads > available:
            raise ConfigError(f"threads = {cfg.threads}: numba may use at most {available} here "
                              f"(NUMBA_NUM_THREADS={available}); allowed [1, {available}]")


def check(cfg: VpsimConfig) -> None:
    """Refuse a run this machine cannot do: ConfigError, one line naming the key."""
    check_threads(cfg)
    check_memory(cfg)
