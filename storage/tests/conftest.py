from accounts.tests.loopback import _loopback_only  # noqa: F401
from storage.tests.fixtures import *  # noqa: F403
