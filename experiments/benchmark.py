#!/usr/bin/env python
"""Performance benchmark of vpsim: the JIT engine against the plain-Mesa reference, weekly-step
throughput and memory from 10,000 to 10,000,000 residents, 1 against 2 threads, compile and
start-up time, where the time of a week goes, the memory-bandwidth bound, and the default
quick-start run, each against its target.

    .venv/bin/python experiments/benchmark.py [--sizes 10000 100000 1000000 10000000]
        [--weeks 52] [--sections reference steps threads ...] [--out benchmark.json] [--quick]

Prints a table to stdout, progress to stderr, and writes every number (with the machine it ran
on) to a JSON file. Every measurement runs in its own fresh subprocess of this script
(`--worker NAME`), so peak memory and start-up times are those of a process that did only that
one thing. All of them run on one thread (NUMBA_NUM_THREADS=1) and share one numba cache
directory, created empty for this benchmark: the first subprocess measures a cold compile, the
rest load the compiled kernels from that cache.

Sections run in the order of `SECTIONS`; to add one (say, JIT against the plain-Mesa reference,
or 1 against 2 threads), write `run_X(ctx) -> dict` (calling `ctx.worker(...)` for anything
measured), `render_X(result) -> str`, any `Target`s that read its result, and, if it measures in
a subprocess, a `worker_X(args) -> dict` registered in `WORKERS`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from sim.codes import WEEKS_PER_YEAR

REPO = Path(__file__).resolve().parent.parent

# One thread everywhere. Set before anything imports numba; workers get the same through the
# environment their parent builds (`worker_env`), so a later section can ask for more threads.
THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
if "--worker" not in sys.argv:
    for _var in THREAD_VARS:
        os.environ[_var] = "1"

# Measured numbers are judged against these (issue 5's targets).
TARGET_STEPS_PER_S = 30e6  # resident-steps per second ...
TARGET_STEPS_AT = 1_000_000  # ... at this many residents, one thread
TARGET_BYTES_PER_RESIDENT = 150
TARGET_SCALING = 2.0  # throughput at the largest size within this factor of that at 100,000
TARGET_REFERENCE_RATIO = 100.0  # JIT engine against the plain-Mesa reference, same work
TARGET_CACHED_START_S = 2.0  # process start to the first week of the default run, cache warm
TARGET_PYTHON_GROWTH = 2.0  # Python ms a week at the largest size / at the smallest
TARGET_QUICKSTART_S = 30.0  # default run (city, default burn-in + 10 years), once compiled

# Population profiles in configs/population/, by size: a benchmark size that matches one uses it
# unchanged, so its numbers are those a user of that profile sees.
PROFILES = {10_000: "small", 100_000: "city", 1_000_000: "metro"}


def log(msg: str) -> None:
    print(f"[benchmark {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def population_overrides(size: int) -> list[str]:
    """Hydra overrides for a population of `size` residents."""
    if size in PROFILES:
        return [f"population={PROFILES[size]}"]
    # Otherwise the nearest profile (on a log scale), resized; keep its communities if they fit.
    nearest = min(PROFILES, key=lambda s: abs(math.log(s / size)))
    communities = {"small": 16, "city": 49, "metro": 196}[PROFILES[nearest]]
    return [f"population={PROFILES[nearest]}", f"population.size={size}",
            f"population.communities={max(1, min(communities, size // 20))}"]


# --------------------------------------------------------------------------------------------
# Running workers
# --------------------------------------------------------------------------------------------

@dataclass
class Context:
    args: argparse.Namespace
    cache_dir: Path  # NUMBA_CACHE_DIR shared by every worker of this benchmark
    results: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    cache_warm: bool = False  # the kernels are compiled into cache_dir

    def worker_env(self, threads: int = 1, cache_dir: Path | None = None) -> dict[str, str]:
        env = dict(os.environ)
        for var in THREAD_VARS:
            env[var] = str(threads)
        env["NUMBA_CACHE_DIR"] = str(cache_dir or self.cache_dir)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        return env

    def ensure_warm_cache(self) -> None:
        """Compile the kernels into the shared cache once, in a process of its own, so that no
        measuring process compiles (compiling takes time and hundreds of MiB)."""
        if not self.cache_warm:
            log("compiling the kernels into the benchmark's numba cache")
            self.worker("warm")
            self.cache_warm = True

    def worker(self, name: str, threads: int = 1, cache_dir: Path | None = None,
               **kwargs) -> dict:
        """Run `worker_<name>(kwargs)` in a fresh process; return its result dict.

        Adds `wall_start`: the parent's clock just before the process was started, so the worker's
        own `time.time()` stamps measure from process start (interpreter start-up included).
        """
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
            out = Path(f.name)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name,
               "--worker-args", json.dumps(kwargs), "--worker-out", str(out)]
        try:
            wall_start = time.time()
            # The worker's stdout goes to our stderr: stdout is kept for the table.
            proc = subprocess.run(cmd, env=self.worker_env(threads, cache_dir), cwd=REPO,
                                  stdout=sys.stderr, timeout=self.args.timeout)
            if proc.returncode != 0:
                raise RuntimeError(f"worker {name} {kwargs} exited with {proc.returncode}")
            result = json.loads(out.read_text())
        finally:
            out.unlink(missing_ok=True)
        result["wall_start"] = wall_start
        return result


# --------------------------------------------------------------------------------------------
# Workers: each runs in its own process and returns a JSON-able dict
# --------------------------------------------------------------------------------------------

def _max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def _current_rss_bytes() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _compile_stats() -> dict:
    """Numba cache hits and misses (a miss is a compile) of the kernels a run calls."""
    from sim import kernels, network, rng
    dispatchers = [kernels.step_residents, kernels.process_offences, kernels.init_residents,
                   network.draw_peer_ties, rng.uniforms]
    return {"cache_hits": sum(sum(d.stats.cache_hits.values()) for d in dispatchers),
            "cache_misses": sum(sum(d.stats.cache_misses.values()) for d in dispatchers)}


def worker_start(args: dict) -> dict:
    """Import, load the config, build the model and step one week; time each part."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    from sim import config
    from sim.model import ViolencePreventionModel
    t1 = time.perf_counter()
    cfg = config.load(args["overrides"])
    t2 = time.perf_counter()
    model = ViolencePreventionModel(cfg)
    t3 = time.perf_counter()
    model.step()
    t4 = time.perf_counter()
    return {"overrides": args["overrides"], "size": cfg.population.size,
            "import_s": t1 - t0, "config_s": t2 - t1, "build_s": t3 - t2,
            "first_week_s": t4 - t3, "import_to_first_week_s": t4 - t0,
            "cpu_over_wall": (time.process_time() - cpu0) / (t4 - t0),
            "first_week_done_wall": time.time(), **_compile_stats()}


def _state_digest(model) -> str:
    """A fingerprint of everything a run computed: weekly record, residents, spells, tallies."""
    h = hashlib.sha256()
    for a in (model.history, *model.residents, *model.spells, model.tallies,
              *[x for x in model.programs.tables if hasattr(x, "tobytes")]):
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def _tiny_model():
    """Build and step a 1,000-resident model: loads (or compiles) every kernel a run calls."""
    from sim import config
    from sim.model import ViolencePreventionModel
    cfg = config.load(["population=small", "population.size=1000", "burn_in_years=0", "years=1"])
    model = ViolencePreventionModel(cfg)
    model.step()
    return model


def _dispatch_overhead(model, calls: int = 200) -> float:
    """Seconds per kernel call spent before the kernel runs: `process_offences` with no offences
    to process returns at once, so its call time is numba's argument typing and dispatch.
    Called after the timed weeks."""
    from sim import kernels
    args = (model.week, 0, model.residents, model.params, model.tables, model.programs.tables,
            model._week_buffers, model._records)
    kernels.process_offences(*args)
    t = time.perf_counter()
    for _ in range(calls):
        kernels.process_offences(*args)
    return (time.perf_counter() - t) / calls


def worker_steps(args: dict) -> dict:
    """Throughput and memory at one size: build, warm up, then time `model.step()` week by week."""
    import statistics

    from sim import codes, config, population
    from sim.model import ViolencePreventionModel

    size, weeks, warmup = args["size"], args["weeks"], args["warmup_weeks"]
    cfg = config.load(args["overrides"] + [f"threads={args.get('model_threads', 1)}"])
    # Long enough for warm-up and measured weeks, and not a week of burn-in more than needed.
    cfg.burn_in_years = 0
    cfg.years = max(1, -(-(warmup + weeks) // WEEKS_PER_YEAR))
    assert cfg.population.size == size, (cfg.population.size, size)
    rss_imports = _max_rss_bytes()  # interpreter, numpy, numba, mesa, hydra
    # Load the compiled kernels (tens of MiB of code, whatever the size) on a tiny model first,
    # so the peak above this baseline is what the population itself costs.
    _tiny_model()
    rss_baseline = _max_rss_bytes()

    t = time.perf_counter()
    model = ViolencePreventionModel(cfg)
    build_s = time.perf_counter() - t
    rss_built = _max_rss_bytes()

    # Warm-up: the first calls at this size, and weeks for the prison stock and exposure to build
    # up from the empty start, so the timed weeks look more like the rest of a run.
    t = time.perf_counter()
    for _ in range(warmup):
        model.step()
    warmup_s = time.perf_counter() - t

    week_s = []
    offences = 0
    cpu = time.process_time()
    stages = model.time_stages()  # the model's own clock per stage (sim.model.STAGES)
    for _ in range(weeks):
        t = time.perf_counter()
        model.step()
        week_s.append(time.perf_counter() - t)
        offences += model._n_offences
    cpu_s = time.process_time() - cpu
    step_s = sum(week_s)
    kernel_s = stages["residents"] + stages["offences"]
    digest = _state_digest(model)
    dispatch_s = _dispatch_overhead(model)
    stage_ms = {
        "residents (kernel)": 1e3 * stages["residents"] / weeks,
        "offences (kernel)": 1e3 * stages["offences"] / weeks,
        "programs (Python)": 1e3 * stages["programs"] / weeks,
        "communities (numpy)": 1e3 * stages["communities"] / weeks,
        "record (history, DataCollector)": 1e3 * stages["record"] / weeks,
    }
    stage_ms["other Python in model.step"] = 1e3 * step_s / weeks - sum(stage_ms.values())

    state = {
        "residents": population.nbytes(model.residents),
        "peer_network": int(model.tables.peer_ptr.nbytes + model.tables.peer_idx.nbytes),
        "offence_queue": int(model._week_buffers.offences.nbytes),
        "spells": population.nbytes(model.spells),
    }
    state_total = sum(state.values())
    steps = size * weeks
    return {
        "size": size, "overrides": args["overrides"], "communities": cfg.population.communities,
        "weeks": weeks, "warmup_weeks": warmup, "build_s": build_s, "warmup_s": warmup_s,
        "step_s": step_s,
        # Below 1 when the process waited for a CPU: other load on the machine, numbers too low.
        "cpu_over_wall": cpu_s / step_s,
        "step_ms_mean": 1e3 * step_s / weeks,
        "step_ms_median": 1e3 * statistics.median(week_s),
        "step_ms_min": 1e3 * min(week_s),
        "step_ms_max": 1e3 * max(week_s),
        "resident_steps_per_s": steps / step_s,
        "resident_steps_per_s_median": size / statistics.median(week_s),
        "threads": model.threads,
        "state_digest": digest,
        "kernel_ms_mean": {"step_residents": 1e3 * stages["residents"] / weeks,
                           "process_offences": 1e3 * stages["offences"] / weeks},
        "stage_ms_mean": stage_ms,
        "kernel_resident_steps_per_s": steps / kernel_s,
        "python_share": (step_s - kernel_s) / step_s,
        "python_ms_per_week": 1e3 * (step_s - kernel_s) / weeks,
        # Calling a kernel costs this much before it does anything (numba types every argument,
        # field by field for the NamedTuples). Included in the kernel times above.
        "dispatch_us_per_call": 1e6 * dispatch_s,
        "offences_per_week": offences / weeks,
        "incarcerated": int(model.tallies[codes.TALLY_INCARCERATED]),
        "state_bytes": state,
        "state_bytes_total": state_total,
        "state_bytes_per_resident": state_total / size,
        "history_bytes": int(model.history.nbytes),  # fixed: weeks x stats x sex x band
        "max_rss_after_imports": rss_imports,
        "max_rss_baseline": rss_baseline,  # imports + compiled kernels loaded
        "max_rss_after_build": rss_built,
        "max_rss": _max_rss_bytes(),
        "rss_now": _current_rss_bytes(),
        "max_rss_above_baseline_per_resident": (_max_rss_bytes() - rss_baseline) / size,
        **_compile_stats(),
    }


def worker_quickstart(args: dict) -> dict:
    """The default run (`vpsim` with no overrides: population=city, the configured burn-in and
    years) end to end, once compiled, then its outputs."""
    t0 = time.perf_counter()
    from sim import config, results
    from sim.model import ViolencePreventionModel
    import_s = time.perf_counter() - t0

    # Load the compiled kernels (from the warm cache) on a tiny run, outside the timing.
    t = time.perf_counter()
    _tiny_model()
    warm_s = time.perf_counter() - t
    misses_before = _compile_stats()["cache_misses"]

    t, cpu = time.perf_counter(), time.process_time()
    cfg = config.load([])
    model = ViolencePreventionModel(cfg)
    model.run()
    run_s = time.perf_counter() - t
    cpu_s = time.process_time() - cpu
    with tempfile.TemporaryDirectory(prefix="vpsim-bench-run-") as run_dir:
        t = time.perf_counter()
        summary = results.write_run(Path(run_dir), model, figures=cfg.figures)
        write_s = time.perf_counter() - t
        files = sorted(p.name for p in Path(run_dir).iterdir())
    stats = _compile_stats()
    return {
        "population": cfg.population.name, "size": cfg.population.size,
        "burn_in_years": cfg.burn_in_years, "years": cfg.years, "weeks": model.week,
        "figures": cfg.figures, "import_s": import_s, "warm_kernels_s": warm_s,
        "run_s": run_s, "cpu_over_wall": cpu_s / run_s,
        "resident_steps_per_s": cfg.population.size * model.week / run_s,
        "write_s": write_s, "files": files, "summary_entries": len(summary),
        "compiled_during_run": stats["cache_misses"] - misses_before,
        "max_rss": _max_rss_bytes(),
    }


def worker_reference(args: dict) -> dict:
    """The engine and the plain-Mesa reference on the same weeks of the same population (the
    small profile after the engine's burn-in): seconds per week of each, and whether the two
    gave the same record (they must: same rules, same draws)."""
    import numpy as np

    from sim import config
    from sim.model import ViolencePreventionModel
    from sim.reference import ReferenceModel

    weeks = args["weeks"]
    cfg = config.load(args["overrides"])
    cfg.years = max(1, -(-weeks // WEEKS_PER_YEAR))
    _tiny_model()  # load the compiled kernels outside the timing
    engine = ViolencePreventionModel(cfg)
    engine.run(weeks=engine.burn_in_weeks)
    t = time.perf_counter()
    engine.run(weeks=weeks)
    engine_s = time.perf_counter() - t

    reference = ReferenceModel(cfg, engine_weeks=engine.burn_in_weeks)
    reference.run(weeks=reference.burn_in_weeks)
    t = time.perf_counter()
    reference.step()  # the take-over week: residents become agents (timed separately)
    first_s = time.perf_counter() - t
    t = time.perf_counter()
    reference.run(weeks=weeks - 1)
    reference_s = time.perf_counter() - t
    t = time.perf_counter()
    reference.write_back()
    write_back_s = time.perf_counter() - t
    span = slice(engine.burn_in_weeks, engine.burn_in_weeks + weeks)
    size = cfg.population.size
    return {
        "size": size, "weeks": weeks, "overrides": args["overrides"],
        "engine_s": engine_s, "reference_s": reference_s, "reference_take_over_week_s": first_s,
        "reference_write_back_s": write_back_s,
        "engine_resident_steps_per_s": size * weeks / engine_s,
        "reference_resident_steps_per_s": size * (weeks - 1) / reference_s,
        "identical": bool(np.array_equal(engine.history[span], reference.history[span])
                          and all(np.array_equal(a, b) for a, b in
                                  zip(engine.residents, reference.residents))),
    }


def worker_bandwidth(args: dict) -> dict:
    """Memory copy bandwidth of this machine (numpy, one thread), and the cost of one
    counter-based draw, the compute floor of a resident-step."""
    import numpy as np

    from sim import rng

    n = args["bytes"] // 8
    src = np.ones(n)
    dst = np.empty_like(src)
    best = math.inf
    for _ in range(args["repeats"]):
        t = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t)
    idx = np.arange(10_000_000, dtype=np.int64)
    key = rng.run_key(0)
    rng.uniforms(key, 0, idx[:10], rng.OFFEND)  # compile / load
    t = time.perf_counter()
    rng.uniforms(key, 1, idx, rng.OFFEND)
    draw_s = (time.perf_counter() - t) / idx.size
    return {"copy_bytes": int(src.nbytes), "copy_s": best,
            # a copy reads and writes every byte
            "copy_bandwidth_bytes_per_s": 2 * src.nbytes / best,
            "draw_ns": 1e9 * draw_s}


def worker_warm(args: dict) -> dict:
    """Compile every kernel into the (empty) cache."""
    _tiny_model()
    return _compile_stats()


WORKERS: dict[str, Callable[[dict], dict]] = {
    "warm": worker_warm,
    "start": worker_start,
    "steps": worker_steps,
    "quickstart": worker_quickstart,
    "reference": worker_reference,
    "bandwidth": worker_bandwidth,
}


# --------------------------------------------------------------------------------------------
# Sections: run in the parent (workers do the measuring), render a block of the table
# --------------------------------------------------------------------------------------------

def _cmd(*cmd: str) -> str | None:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO,
                              timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _source_fingerprint() -> str:
    h = hashlib.sha256()
    for path in sorted([*REPO.glob("sim/*.py"), *REPO.glob("configs/**/*.yaml")]):
        h.update(path.relative_to(REPO).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def run_machine(ctx: Context) -> dict:
    cpu: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("model name", "cpu family", "model", "stepping", "cpu MHz") \
                    and key not in cpu:
                cpu[key] = value.strip()
            if key == "flags" and "flags" not in cpu:
                flags = set(value.split())
                cpu["flags"] = " ".join(f for f in ("avx2", "avx512f", "fma", "hypervisor")
                                        if f in flags)
    except OSError:
        pass
    mem_total = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_total = int(line.split()[1]) * 1024
    except OSError:
        pass
    versions = {}
    for pkg in ("numpy", "numba", "llvmlite", "mesa", "hydra-core", "pandas", "pyarrow"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "hostname": platform.node(),
        "cpu_model": cpu.get("model name"),
        "cpu_family_model_stepping": "/".join(cpu.get(k, "?") for k in
                                              ("cpu family", "model", "stepping")),
        "cpu_mhz": cpu.get("cpu MHz"),
        "cpu_flags": cpu.get("flags"),
        "cores_online": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "load_average_at_start": os.getloadavg(),
        "memory_bytes": mem_total,
        "os": platform.platform(),
        "python": platform.python_version(),
        "threads": 1,
        "versions": versions,
        "git_commit": _cmd("git", "rev-parse", "--short", "HEAD"),
        # sim/ and configs/ change under a commit while people work: fingerprint what ran.
        "source_sha256": _source_fingerprint(),
        "git_dirty": bool(_cmd("git", "status", "--porcelain", "--", "sim", "configs")),
    }


def render_machine(m: dict) -> str:
    v = m["versions"]
    load = ", ".join(f"{x:.2f}" for x in m["load_average_at_start"])
    return "\n".join([
        f"Machine   {m['cpu_model']} (family/model/stepping {m['cpu_family_model_stepping']}), "
        f"{m['cores_usable']} of {m['cores_online']} cores usable, "
        f"{m['memory_bytes'] / 2**30:.1f} GiB; load average {load} at start",
        f"Software  Python {m['python']}, numpy {v['numpy']}, numba {v['numba']}, "
        f"mesa {v['mesa']}; {m['os']}",
        f"Run       {m['date']}, commit {m['git_commit']}"
        f"{' + uncommitted changes in sim/ or configs/' if m['git_dirty'] else ''} "
        f"(sources {m['source_sha256']}); "
        f"{m['threads']} thread (NUMBA_NUM_THREADS=1)",
    ])


def run_compile(ctx: Context) -> dict:
    """Cold compile (empty numba cache), then start-up with that cache, default population."""
    overrides = population_overrides(ctx.args.start_size)
    out = {}
    for label in ("cold", "cached"):
        log(f"start-up, {label} numba cache: {' '.join(overrides)}")
        r = ctx.worker("start", overrides=overrides)
        r["process_start_to_first_week_s"] = r.pop("first_week_done_wall") - r.pop("wall_start")
        out[label] = r
    ctx.cache_warm = True
    return out


def render_compile(c: dict) -> str:
    rows = [f"Compile and start-up ({c['cold']['size']:,} residents; process = from process "
            "start to first week done; only numba's cache starts empty)",
            f"  {'numba cache':<12}{'process':>9}{'import':>9}{'config':>9}{'build':>9}"
            f"{'1st week':>10}{'import->1st wk':>16}{'compiled':>10}{'cpu/wall':>10}"]
    for label in ("cold", "cached"):
        r = c[label]
        rows.append(f"  {label:<12}{r['process_start_to_first_week_s']:>8.2f}s"
                    f"{r['import_s']:>8.2f}s{r['config_s']:>8.2f}s{r['build_s']:>8.2f}s"
                    f"{r['first_week_s']:>9.2f}s{r['import_to_first_week_s']:>15.2f}s"
                    f"{r['cache_misses']:>10}{r['cpu_over_wall']:>10.2f}")
    rows.append("  cold compile time (build + first week, empty cache): "
                f"{c['cold']['build_s'] + c['cold']['first_week_s']:.2f} s; with the cache: "
                f"{c['cached']['build_s'] + c['cached']['first_week_s']:.2f} s")
    if any(c[label]["cpu_over_wall"] < 0.95 for label in ("cold", "cached")):
        rows.append("  WARNING: cpu/wall < 0.95: other load on the machine slowed these")
    return "\n".join(rows)


def steps_in_processes(ctx: Context, size: int, threads: int = 1) -> dict:
    """`worker_steps` in `--repeats` fresh processes: the process with the median throughput,
    with every process's throughput beside it.

    On this project's VM a process's single-thread speed falls into one of two modes (about
    1.6x apart) and keeps it for its life; one process is a coin toss, three show both."""
    overrides = population_overrides(size)
    runs = []
    for k in range(ctx.args.repeats):
        log(f"weekly step: {size:,} residents ({' '.join(overrides)}), threads={threads}, "
            f"{ctx.args.warmup_weeks} warm-up + {ctx.args.weeks} timed weeks "
            f"(process {k + 1} of {ctx.args.repeats})")
        r = ctx.worker("steps", threads=threads, model_threads=threads, size=size,
                       weeks=ctx.args.weeks, warmup_weeks=ctx.args.warmup_weeks,
                       overrides=overrides)
        r.pop("wall_start")
        log(f"  {r['resident_steps_per_s_median'] / 1e6:.1f} M resident-steps/s (median week), "
            f"peak RSS {r['max_rss'] / 2**20:.0f} MiB")
        runs.append(r)
    runs.sort(key=lambda r: r["resident_steps_per_s_median"])
    chosen = dict(runs[len(runs) // 2])
    chosen["processes"] = [{"resident_steps_per_s_median": r["resident_steps_per_s_median"],
                            "step_ms_median": r["step_ms_median"],
                            "state_digest": r["state_digest"]} for r in runs]
    return chosen


def run_steps(ctx: Context) -> dict:
    ctx.ensure_warm_cache()
    return {"sizes": [steps_in_processes(ctx, size) for size in ctx.args.sizes]}


def _cell(value: float | None, width: int, fmt: str, scale: float = 1.0) -> str:
    """A right-aligned table cell; 'n/a' where the value could not be measured."""
    return f"{'n/a':>{width}}" if value is None else f"{value * scale:>{width}{fmt}}"


def _range(r: dict) -> str:
    """Lowest-highest M/s (median week) over the processes measured."""
    values = [p["resident_steps_per_s_median"] / 1e6 for p in r.get("processes", [])]
    return f"{min(values):.1f}-{max(values):.1f}" if values else "n/a"


def _disturbed(r: dict) -> bool:
    """Did other processes take the CPU from this measurement?"""
    return r["cpu_over_wall"] < 0.95 or r["step_ms_mean"] > 1.2 * r["step_ms_median"]


def render_steps(s: dict) -> str:
    sizes = s["sizes"]
    if not sizes:
        return "Weekly step: no sizes measured"
    r0 = sizes[0]
    rows = [f"Weekly step throughput (one thread; {r0['weeks']} timed weeks after "
            f"{r0['warmup_weeks']} warm-up weeks; M/s = million resident-steps per second; "
            f"the median of {len(r0['processes'])} fresh processes, each's M/s med in 'range')",
            f"  {'residents':>10}{'ms/week':>9}{'M/s':>7}{'M/s med':>9}{'range':>12}"
            f"{'kernels M/s':>13}"
            f"{'step_res ms':>13}{'proc_off ms':>13}{'python ms':>11}{'python %':>10}"
            f"{'dispatch us':>13}{'offences/wk':>13}{'cpu/wall':>10}"]
    for r in sizes:
        k = r["kernel_ms_mean"] or {}
        rows.append(
            f"  {r['size']:>10,}{r['step_ms_mean']:>9.2f}{r['resident_steps_per_s'] / 1e6:>7.1f}"
            f"{r['resident_steps_per_s_median'] / 1e6:>9.1f}{_range(r):>12}"
            + _cell(r["kernel_resident_steps_per_s"], 13, ".1f", 1e-6)
            + _cell(k.get("step_residents"), 13, ".2f")
            + _cell(k.get("process_offences"), 13, ".3f")
            + _cell(r["python_ms_per_week"], 11, ".3f")
            + _cell(r["python_share"], 10, ".1f", 100.0)
            + _cell(r["dispatch_us_per_call"], 13, ".0f")
            + f"{r['offences_per_week']:>13,.0f}{r['cpu_over_wall']:>10.2f}")
    rows.append("  kernels = step_residents + process_offences calls, each including its dispatch "
                "(the time numba takes to type the arguments); python = the rest of model.step()")
    disturbed = [f"{r['size']:,}" for r in sizes if _disturbed(r)]
    if disturbed:
        rows.append(f"  WARNING: timings at {', '.join(disturbed)} residents were disturbed by "
                    "other load (cpu/wall < 0.95 or mean far above median): M/s med is the "
                    "better estimate there")
    rows.append("")
    rows.append("Memory (state = resident arrays + peer network + offence queue + release spells;"
                " RSS = peak resident set of a fresh process per size)")
    rows.append(f"  {'residents':>10}{'residents':>11}{'peers':>9}{'queue':>8}{'spells':>8}"
                f"{'state MiB':>11}{'B/res':>8}{'base MiB':>10}{'peak MiB':>10}"
                f"{'peak-base B/res':>17}")
    for r in sizes:
        b = r["state_bytes"]
        n = r["size"]
        rows.append(
            f"  {n:>10,}{b['residents'] / n:>9.1f} B{b['peer_network'] / n:>7.1f} B"
            f"{b['offence_queue'] / n:>6.1f} B{b['spells'] / n:>6.1f} B"
            f"{r['state_bytes_total'] / 2**20:>11.1f}{r['state_bytes_per_resident']:>8.1f}"
            f"{r['max_rss_baseline'] / 2**20:>10.0f}{r['max_rss'] / 2**20:>10.0f}"
            f"{r['max_rss_above_baseline_per_resident']:>17.1f}")
    rows.append("  base = peak RSS after imports and loading the compiled kernels, before the "
                "population is built")
    rows.append("")
    rows.append(render_stages(s))
    if len(sizes) >= 2:
        lo, hi = min(sizes, key=lambda r: r["size"]), max(sizes, key=lambda r: r["size"])
        grow = [r["max_rss"] - r["max_rss_baseline"] for r in (lo, hi)]
        slope = (grow[1] - grow[0]) / (hi["size"] - lo["size"])
        rows.append(f"  peak - base grows by {slope:.0f} B per extra resident between "
                    f"{lo['size']:,} and {hi['size']:,}")
    compiled = [f"{r['size']:,}" for r in sizes if r["cache_misses"]]
    if compiled:
        rows.append(f"  WARNING: kernels were compiled in the process for {', '.join(compiled)}: "
                    "its base and peak RSS include the compiler")
    return "\n".join(rows)


def run_quickstart(ctx: Context) -> dict:
    ctx.ensure_warm_cache()
    log("quick-start run: the default config (config.load([])), then write_run")
    r = ctx.worker("quickstart")
    r["process_wall_s"] = time.time() - r.pop("wall_start")
    log(f"  run {r['run_s']:.1f} s, write {r['write_s']:.1f} s")
    return r


def render_quickstart(q: dict) -> str:
    return "\n".join([
        f"Quick-start run (population={q['population']}, {q['size']:,} residents, "
        f"{q['burn_in_years']} + {q['years']} years = {q['weeks']} weeks, compiled)",
        f"  config + build + run  {q['run_s']:6.2f} s  ({q['resident_steps_per_s'] / 1e6:.1f} M "
        f"resident-steps/s; kernels compiled during the run: {q['compiled_during_run']})",
        f"  write_run             {q['write_s']:6.2f} s  ({len(q['files'])} files"
        f"{', figures included' if q['figures'] else ''})",
        f"  whole process         {q['process_wall_s']:6.2f} s  (interpreter start, imports "
        f"{q['import_s']:.2f} s, kernel load {q['warm_kernels_s']:.2f} s, run, write)",
        f"  peak RSS              {q['max_rss'] / 2**20:6.0f} MiB",
        *([f"  WARNING: cpu/wall {q['cpu_over_wall']:.2f} during the run: other load on the "
           "machine slowed it"] if q["cpu_over_wall"] < 0.95 else []),
    ])


# Bytes of resident state the resident kernel reads for every resident every week (the rest is
# read only for residents in prison, on parole or in a program): birth week, justice state, peer
# exposure, sex, community, propensity, risk factors, week released, week victimised.
STREAMED_FIELDS = ("birth_week", "justice_state", "exposure", "sex", "community", "propensity",
                   "risk_flags", "release_week", "victimised_week")


def run_reference(ctx: Context) -> dict:
    ctx.ensure_warm_cache()
    log(f"JIT engine against the plain-Mesa reference: population=small, "
        f"{ctx.args.reference_weeks} weeks after the burn-in")
    r = ctx.worker("reference", weeks=ctx.args.reference_weeks, overrides=["population=small"])
    r.pop("wall_start")
    r["ratio"] = r["engine_resident_steps_per_s"] / r["reference_resident_steps_per_s"]
    log(f"  engine {r['engine_resident_steps_per_s'] / 1e6:.1f} M/s, reference "
        f"{r['reference_resident_steps_per_s'] / 1e3:.0f} k/s: {r['ratio']:.0f}x")
    return r


def render_reference(r: dict) -> str:
    return "\n".join([
        f"JIT engine against the plain-Mesa reference (sim/reference.py; {r['size']:,} residents, "
        f"{r['weeks']} weeks after the engine's burn-in, model.step() on both sides)",
        f"  {'':<28}{'seconds':>9}{'resident-steps/s':>18}",
        f"  {'engine (numba)':<28}{r['engine_s']:>9.3f}{r['engine_resident_steps_per_s']:>18,.0f}",
        f"  {'reference (Mesa agents)':<28}{r['reference_s']:>9.2f}"
        f"{r['reference_resident_steps_per_s']:>18,.0f}",
        f"  engine / reference: {r['ratio']:.0f}x; same weekly record and resident state: "
        f"{'yes' if r['identical'] else 'NO'}",
        f"  (reference set-up excluded: its take-over week, residents becoming agents, "
        f"{r['reference_take_over_week_s']:.2f} s; writing them back "
        f"{r['reference_write_back_s']:.2f} s)",
    ])


def run_threads(ctx: Context) -> dict:
    ctx.ensure_warm_cache()
    size = ctx.args.threads_size
    out = {str(threads): steps_in_processes(ctx, size, threads) for threads in (1, 2)}
    one, two = out["1"], out["2"]
    out["identical"] = len({p["state_digest"] for n in ("1", "2")
                            for p in out[n]["processes"]}) == 1
    out["speedup_median_week"] = one["step_ms_median"] / two["step_ms_median"]
    k1, k2 = one["kernel_ms_mean"], two["kernel_ms_mean"]
    out["speedup_resident_kernel"] = (k1["step_residents"] / k2["step_residents"]
                                      if k1 and k2 else None)
    return out


def render_threads(t: dict) -> str:
    rows = [f"Threads (parallel resident kernel, opt-in: threads=2; {t['1']['size']:,} residents; "
            f"median of {len(t['1']['processes'])} fresh processes each)",
            f"  {'threads':>8}{'ms/week med':>13}{'M/s med':>9}{'range':>12}"
            f"{'resident kernel ms':>20}{'state digest':>18}{'cpu/wall':>10}"]
    for n in ("1", "2"):
        r = t[n]
        k = r["kernel_ms_mean"] or {}
        rows.append(f"  {n:>8}{r['step_ms_median']:>13.2f}"
                    f"{r['resident_steps_per_s_median'] / 1e6:>9.1f}{_range(r):>12}"
                    + _cell(k.get("step_residents"), 20, ".2f")
                    + f"{r['state_digest']:>18}{r['cpu_over_wall']:>10.2f}")
    rows.append(f"  speed-up 2 vs 1 thread: {t['speedup_median_week']:.2f}x a week"
                + (f", {t['speedup_resident_kernel']:.2f}x the resident kernel"
                   if t["speedup_resident_kernel"] else "")
                + "; bit-identical results (every process, both thread counts): "
                + ("yes" if t["identical"] else "NO"))
    rows.append("  (cpu/wall of a 2-thread run is up to 2; with other load on the machine the "
                "parallel kernel loses most)")
    return "\n".join(rows)


def run_bandwidth(ctx: Context) -> dict:
    log("memory copy bandwidth and the cost of a draw")
    r = ctx.worker("bandwidth", bytes=ctx.args.bandwidth_mib * 2**20, repeats=5)
    r.pop("wall_start")
    sys.path.insert(0, str(REPO))
    import numpy as np

    from sim.population import _DTYPES
    r["streamed_fields"] = list(STREAMED_FIELDS)
    r["bytes_per_resident_step"] = sum(np.dtype(_DTYPES[f]).itemsize for f in STREAMED_FIELDS)
    r["bound_resident_steps_per_s"] = (r["copy_bandwidth_bytes_per_s"]
                                       / r["bytes_per_resident_step"])
    r["draw_bound_resident_steps_per_s"] = 1e9 / r["draw_ns"]  # at least one draw each
    steps = [x for x in ctx.results.get("steps", {}).get("sizes", [])]
    big = max(steps, key=lambda x: x["size"]) if steps else None
    at = next((x for x in steps if x["size"] == TARGET_STEPS_AT), big)
    if at is not None:
        achieved = at["resident_steps_per_s_median"]
        r["compared_at_size"] = at["size"]
        r["achieved_resident_steps_per_s"] = achieved
        r["share_of_bandwidth_bound"] = achieved / r["bound_resident_steps_per_s"]
        r["achieved_bytes_per_s"] = achieved * r["bytes_per_resident_step"]
    return r


def render_bandwidth(b: dict) -> str:
    rows = ["Memory-bandwidth bound of the weekly step (one thread)",
            f"  copy bandwidth (numpy copy of {b['copy_bytes'] / 2**20:.0f} MiB, read + write): "
            f"{b['copy_bandwidth_bytes_per_s'] / 1e9:.1f} GB/s",
            f"  bytes read per resident-step, every resident every week: "
            f"{b['bytes_per_resident_step']} ({', '.join(b['streamed_fields'])})",
            f"  bound: {b['bound_resident_steps_per_s'] / 1e6:,.0f} M resident-steps/s if the "
            "step only streamed its state"]
    if "achieved_resident_steps_per_s" in b:
        rows.append(f"  engine at {b['compared_at_size']:,} residents: "
                    f"{b['achieved_resident_steps_per_s'] / 1e6:.1f} M/s = "
                    f"{100 * b['share_of_bandwidth_bound']:.0f}% of the bound "
                    f"({b['achieved_bytes_per_s'] / 1e9:.2f} GB/s of state)")
    rows.append(f"  one counter-based draw: {b['draw_ns']:.1f} ns (a resident-step makes at least "
                f"one: at most {b['draw_bound_resident_steps_per_s'] / 1e6:,.0f} M/s from draws "
                "alone); the step is bound by arithmetic (hashing, exp), not by memory")
    return "\n".join(rows)


def render_stages(s: dict) -> str:
    sizes = [r for r in s["sizes"] if r.get("stage_ms_mean")]
    if not sizes:
        return "Where the time goes: not measured"
    names = list(sizes[0]["stage_ms_mean"])
    rows = ["Where the time of a week goes (ms a week, mean of the timed weeks; % of the week)",
            "  " + f"{'stage':<36}" + "".join(f"{r['size']:>18,}" for r in sizes)]
    for name in names:
        cells = []
        for r in sizes:
            ms = r["stage_ms_mean"][name]
            cells.append(f"{ms:>10.3f} ({100 * ms / r['step_ms_mean']:>4.1f}%)")
        rows.append(f"  {name:<36}" + "".join(cells))
    python = [r["python_ms_per_week"] for r in sizes]
    rows.append(f"  Python outside the kernels: {min(python):.3f} to {max(python):.3f} ms a week "
                f"from {sizes[0]['size']:,} to {sizes[-1]['size']:,} residents (communities: "
                + ", ".join(str(r["communities"]) for r in sizes) + ")")
    return "\n".join(rows)


@dataclass
class Section:
    name: str
    run: Callable[[Context], dict]
    render: Callable[[dict], str]


SECTIONS = [
    Section("machine", run_machine, render_machine),
    Section("compile", run_compile, render_compile),
    Section("reference", run_reference, render_reference),
    Section("steps", run_steps, render_steps),
    Section("threads", run_threads, render_threads),
    Section("bandwidth", run_bandwidth, render_bandwidth),
    Section("quickstart", run_quickstart, render_quickstart),
]


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------

OPERATORS = {">=": float.__ge__, "<=": float.__le__, "<": float.__lt__}


@dataclass
class Target:
    name: str
    measure: Callable[[dict], float | None]  # from all results; None if not measured
    op: str  # a key of OPERATORS: the measured value passes if `measured op limit`
    limit: float
    fmt: Callable[[float], str]


def _at_size(results: dict, size: int, key: str):
    for r in results.get("steps", {}).get("sizes", []):
        if r["size"] == size:
            return r[key]
    return None


def _scaling(results: dict) -> float | None:
    """Throughput at 100,000 residents over that at the largest size measured above it."""
    sizes = results.get("steps", {}).get("sizes", [])
    base = _at_size(results, 100_000, "resident_steps_per_s_median")
    big = max((r for r in sizes if r["size"] > 100_000), key=lambda r: r["size"], default=None)
    return None if base is None or big is None else base / big["resident_steps_per_s_median"]


def _python_growth(results: dict) -> float | None:
    """Python ms a week at the largest size over the smallest size with as many communities
    (Python's work a week is O(communities), so sizes are compared at equal communities)."""
    sizes = [r for r in results.get("steps", {}).get("sizes", [])
             if r.get("python_ms_per_week") is not None]
    if not sizes:
        return None
    hi = max(sizes, key=lambda r: r["size"])
    lo = min((r for r in sizes if r["communities"] == hi["communities"]),
             key=lambda r: r["size"])
    if lo is hi:
        return None
    return hi["python_ms_per_week"] / lo["python_ms_per_week"]


def _threads_identical(results: dict) -> float | None:
    t = results.get("threads")
    return None if t is None else float(t["identical"])


TARGETS = [
    Target("JIT engine / plain-Mesa reference, same work",
           lambda res: res.get("reference", {}).get("ratio"),
           ">=", TARGET_REFERENCE_RATIO, lambda v: f"{v:.0f}x"),
    # The median week: the code's speed, robust to a few weeks slowed by other processes (the
    # mean is in the table and the JSON).
    Target(f"weekly step at {TARGET_STEPS_AT:,} residents, 1 thread (median week)",
           lambda res: _at_size(res, TARGET_STEPS_AT, "resident_steps_per_s_median"),
           ">=", TARGET_STEPS_PER_S, lambda v: f"{v / 1e6:.1f} M resident-steps/s"),
    Target("throughput at 100,000 / at the largest size",
           _scaling, "<=", TARGET_SCALING, lambda v: f"{v:.2f}x"),
    Target(f"state bytes per resident at {TARGET_STEPS_AT:,}",
           lambda res: _at_size(res, TARGET_STEPS_AT, "state_bytes_per_resident"),
           "<=", TARGET_BYTES_PER_RESIDENT, lambda v: f"{v:.0f} B"),
    Target(f"peak RSS above base per resident at {TARGET_STEPS_AT:,}",
           lambda res: _at_size(res, TARGET_STEPS_AT, "max_rss_above_baseline_per_resident"),
           "<=", TARGET_BYTES_PER_RESIDENT, lambda v: f"{v:.0f} B"),
    Target("1 and 2 threads bit-identical", _threads_identical, ">=", 1.0,
           lambda v: "yes" if v >= 1.0 else "no"),
    Target("cached start of the default run, process start to week 1",
           lambda res: res.get("compile", {}).get("cached", {}).get(
               "process_start_to_first_week_s"),
           "<", TARGET_CACHED_START_S, lambda v: f"{v:.2f} s"),
    Target("Python ms a week, largest / smallest size (same communities)", _python_growth,
           "<=", TARGET_PYTHON_GROWTH, lambda v: f"{v:.2f}x"),
    Target("quick-start run (default config), compiled",
           lambda res: res.get("quickstart", {}).get("run_s"),
           "<", TARGET_QUICKSTART_S, lambda v: f"{v:.1f} s"),
]


def check_targets(results: dict) -> list[dict]:
    out = []
    for t in TARGETS:
        value = t.measure(results)
        verdict = "n/a" if value is None else (
            "PASS" if OPERATORS[t.op](float(value), float(t.limit)) else "MISS")
        out.append({"name": t.name, "measured": value, "op": t.op, "limit": t.limit,
                    "verdict": verdict,
                    "measured_text": "not measured" if value is None else t.fmt(value),
                    "target_text": f"{t.op} {t.fmt(t.limit)}"})
    return out


def render_targets(checks: list[dict]) -> str:
    width = max(len(c["name"]) for c in checks)
    rows = ["Targets", f"  {'':<{width}}  {'measured':>24}  {'target':>26}  verdict"]
    for c in checks:
        rows.append(f"  {c['name']:<{width}}  {c['measured_text']:>24}  "
                    f"{c['target_text']:>26}  {c['verdict']}")
    return "\n".join(rows)


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

# Options left unset take (--quick value, full value).
DEFAULTS = {
    "sizes": ([10_000, 100_000], [10_000, 100_000, 1_000_000, 10_000_000]),
    "reference_weeks": (13, 52),
    "repeats": (1, 3),
    "threads_size": (100_000, 1_000_000),
    "weeks": (26, 52),
    "warmup_weeks": (4, 260),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=None,
                    help="residents per throughput/memory run "
                         "(default 10000 100000 1000000 10000000)")
    ap.add_argument("--weeks", type=int, default=None, help="timed weeks per size (default 52)")
    ap.add_argument("--warmup-weeks", type=int, default=None,
                    help="untimed weeks before timing (default 260, five years: the prison "
                         "stock and peer exposure build up from the empty start, and a week "
                         "costs more once they have)")
    ap.add_argument("--repeats", type=int, default=None,
                    help="fresh processes per throughput measurement (default 3; --quick 1)")
    ap.add_argument("--reference-weeks", type=int, default=None,
                    help="weeks timed on the engine and the reference (default 52)")
    ap.add_argument("--threads-size", type=int, default=None,
                    help="residents for 1 against 2 threads (default 1000000)")
    ap.add_argument("--bandwidth-mib", type=int, default=512,
                    help="MiB copied to measure memory bandwidth (default 512)")
    ap.add_argument("--start-size", type=int, default=100_000,
                    help="residents for the compile / start-up runs (default: the city profile)")
    ap.add_argument("--out", type=Path, default=Path("benchmark.json"))
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 10000 and 100000 residents, 26 weeks, 4 warm-up weeks, "
                         "13 reference weeks, threads at 100000")
    ap.add_argument("--sections", nargs="+", choices=[s.name for s in SECTIONS],
                    default=[s.name for s in SECTIONS], help="run only these sections")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per worker")
    # Internal: run one measurement in this (fresh) process.
    ap.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    ap.add_argument("--worker-args", default="{}", help=argparse.SUPPRESS)
    ap.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    for name, (quick, full) in DEFAULTS.items():  # unset options: the --quick or full value
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    if args.reference_weeks < 2:
        ap.error("--reference-weeks must be >= 2 (the first week of the reference is its set-up)")
    if args.weeks < 1 or args.warmup_weeks < 1:
        ap.error("--weeks and --warmup-weeks must be >= 1 "
                 "(the first week at a size is never timed)")
    return args


def run_worker(args: argparse.Namespace) -> None:
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    result = WORKERS[args.worker](json.loads(args.worker_args))
    args.worker_out.write_text(json.dumps(result))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        run_worker(args)
        return 0

    with tempfile.TemporaryDirectory(prefix="vpsim-bench-numba-") as cache_dir:
        ctx = Context(args=args, cache_dir=Path(cache_dir))
        settings = {"sizes": args.sizes, "weeks": args.weeks, "warmup_weeks": args.warmup_weeks,
                    "start_size": args.start_size, "quick": args.quick, "threads": 1,
                    "reference_weeks": args.reference_weeks, "repeats": args.repeats,
                    "threads_size": args.threads_size, "sections": args.sections}
        blocks = []
        for section in SECTIONS:
            if section.name not in args.sections:
                continue
            log(f"section {section.name}")
            t = time.perf_counter()
            try:
                ctx.results[section.name] = section.run(ctx)
                blocks.append(section.render(ctx.results[section.name]))
            except Exception as e:  # record and go on: one broken section keeps the others
                msg = f"{section.name}: {type(e).__name__}: {e}"
                ctx.failures.append(msg)
                log(f"FAILED {msg}")
                blocks.append(f"{section.name}: FAILED ({type(e).__name__}: {e})")
            log(f"section {section.name} done in {time.perf_counter() - t:.1f} s")

    if "machine" in ctx.results:
        ctx.results["machine"]["load_average_at_end"] = os.getloadavg()
    checks = check_targets(ctx.results)
    blocks.append(render_targets(checks))
    print("\n\n".join(blocks))

    report = {"benchmark": "vpsim", "format": 1, "command": sys.argv, "settings": settings,
              **ctx.results, "targets": checks, "failures": ctx.failures}
    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(tmp, out)  # atomic: a killed benchmark leaves no half-written file
    log(f"wrote {out}")
    return 1 if ctx.failures else 0


if __name__ == "__main__":
    sys.exit(main())
