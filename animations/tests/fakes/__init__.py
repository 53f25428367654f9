"""Loopback servers for the animations tests: the DashScope simulator and a static media host."""
