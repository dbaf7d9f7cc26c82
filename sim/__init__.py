"""vpsim: an agent-based violence-prevention policy simulator.

Residents are numpy arrays stepped weekly by numba kernels (`sim.kernels`) inside a Mesa model
(`sim.model.ViolencePreventionModel`); runs are configured with Hydra (`sim.cli`).
"""

__version__ = "0.1.0"
