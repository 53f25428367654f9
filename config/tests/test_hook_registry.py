"""The one registry shape behind accounts' hooks, billing's reservation checks and
storage's file references."""

from __future__ import annotations

from accounts.hooks import erasure, registered
from billing.services.ledger import reservation_checks
from config.hooks import Registry
from storage.hooks import in_use


def test_names_run_in_registration_order_and_a_name_again_replaces_in_place() -> None:
    hooks: Registry = Registry()
    hooks.register("a")(lambda: "a1")
    hooks.register("b")(lambda: "b")
    hooks.register("a")(lambda: "a2")

    assert hooks.names() == ["a", "b"]
    assert [fn() for fn in hooks] == ["a2", "b"]
    hooks.unregister("a")
    assert [name for name, _ in hooks.items()] == ["b"]


def test_override_undoes_what_a_test_registered() -> None:
    hooks: Registry = Registry()
    hooks.register("kept")(lambda: None)
    with hooks.override() as inside:
        inside.clear()
        inside.register("test")(lambda: None)
        assert hooks.names() == ["test"]
    assert hooks.names() == ["kept"]


def test_every_app_registers_from_its_app_config() -> None:
    # storage's erasure hook too, from StorageConfig.ready() (no longer at import)
    assert registered()["erasure"] == ["storage", "billing", "animations"]
    assert all(isinstance(r, Registry) for r in (erasure, reservation_checks, in_use))
    assert reservation_checks.names() == ["animations"]
    assert in_use.names() == ["animations"]
