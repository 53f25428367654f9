"""Fixtures: the DashScope simulator and a media host, both real servers on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from animations.simulator import Simulator
from animations.tests.fakes.media_host import MediaHost

# Provider minutes become milliseconds: a std task of a 3 s video "runs" 95 s, here 0.095 s.
TEST_TIME_SCALE = 1000.0


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    sim = Simulator(time_scale=TEST_TIME_SCALE, schedule_delay=0.0)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def media_host() -> Iterator[MediaHost]:
    host = MediaHost()
    yield host
    host.close()
