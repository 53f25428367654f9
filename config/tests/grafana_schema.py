"""Grafana's dashboard schema, as the typed models of ``grafana-foundation-sdk``.

The SDK's models are generated from the schemas Grafana itself publishes (its
CUE kinds), one build per Grafana release (requirements/dev.txt pins the one of
compose's Grafana). Its ``from_json`` is lenient, so ``dashboard_errors`` holds
a dashboard to the models strictly: every key must be a field of the model it
lands in (nothing silently dropped), every field the schema requires must be
there, and every value must have the field's type (enums and literals by their
allowed values; panel options, field config and queries by the models of their
panel plugin and data source).
"""

from __future__ import annotations

import enum
import re
import types
import typing
from typing import Any

from grafana_foundation_sdk.cog import plugins, runtime, variants
from grafana_foundation_sdk.models import dashboard as models

plugins.register_default_plugins()


def _json_key(attribute: str) -> str:
    head, *rest = attribute.removesuffix("_val").split("_")
    return head + "".join(part.title() for part in rest)


def _optional(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in (
        typing.get_args(hint)
    )


def _is_model(value: Any) -> bool:
    return type(value).__module__.startswith("grafana_foundation_sdk.models")


def _type_error(value: Any, hint: Any) -> str | None:
    """Why ``value`` (as the model holds it) does not fit ``hint``; None if it does."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint in (Any, object):
        return None
    if origin in (typing.Union, types.UnionType):
        reasons = [_type_error(value, arm) for arm in args]
        return None if None in reasons else " or ".join(r for r in reasons if r)
    if hint is type(None):
        return None if value is None else f"{value!r} is not null"
    if origin is typing.Literal:
        return None if value in args else f"{value!r} is not one of {list(args)}"
    if origin is list:
        if not isinstance(value, list):
            return f"{value!r} is not a list"
        return next((e for e in (_type_error(v, args[0]) for v in value) if e), None)
    if origin is dict:
        if not isinstance(value, dict):
            return f"{value!r} is not an object"
        return next((e for e in (_type_error(v, args[1]) for v in value.values()) if e), None)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        allowed = [m.value for m in hint]
        return (
            None if isinstance(value, hint) or value in allowed else f"{value!r} not in {allowed}"
        )
    if hint is bool:
        return None if isinstance(value, bool) else f"{value!r} is not a boolean"
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"{value!r} is not an integer"
    if hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else f"{value!r} is not a number"
    if hint is str:
        return None if isinstance(value, str) else f"{value!r} is not a string"
    if hint is variants.Dataquery:
        if isinstance(value, runtime.UnknownDataquery):
            return "a query of no known data source type"
        return None if isinstance(value, variants.Dataquery) else f"{value!r} is not a query"
    if isinstance(hint, type):
        return None if isinstance(value, hint) else f"{value!r} is not a {hint.__name__}"
    return None


def _check(model: Any, raw: Any, path: str, errors: list[str]) -> None:
    if isinstance(raw, list) and isinstance(model, list):
        for i, (m, r) in enumerate(zip(model, raw, strict=False)):
            _check(m, r, f"{path}[{i}]", errors)
        return
    if not (_is_model(model) and isinstance(raw, dict)):
        return
    hints = typing.get_type_hints(type(model))
    known = {_json_key(attribute) for attribute in hints}
    for key in raw:
        if key not in known:
            errors.append(f"{path}.{key}: not a field of {type(model).__name__}")
    for attribute, hint in hints.items():
        key = _json_key(attribute)
        if key not in raw or raw[key] is None:
            if not _optional(hint):
                errors.append(f"{path}.{key}: required by {type(model).__name__}")
            continue
        value = getattr(model, attribute)
        problem = _type_error(value, hint)
        if problem:
            errors.append(f"{path}.{key}: {problem}")
        _check(value, raw[key], f"{path}.{key}", errors)


def dashboard_errors(data: dict[str, Any]) -> list[str]:
    """What keeps ``data`` from being a dashboard of the schema; empty when it is one."""
    errors: list[str] = []
    _check(models.Dashboard.from_json(data), data, "dashboard", errors)
    return [re.sub(r"\s+", " ", e) for e in errors]
