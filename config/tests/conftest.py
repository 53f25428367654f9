"""Fixtures of the platform-wide tests: the payment simulators, for journeys that pay."""

from billing.tests.simulators import stripe_simulator  # noqa: F401
