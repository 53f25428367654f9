from storage.tests.fixtures import *  # noqa: F403
