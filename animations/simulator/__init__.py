"""A local, faithful DashScope wan2.2-animate endpoint for the embedded mode and the tests."""

from animations.simulator.server import DEFAULT_KEY, Simulator

__all__ = ["DEFAULT_KEY", "Simulator"]
