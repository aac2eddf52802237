"""Field readers for JSON payloads that name the offending field.

Handlers read payloads through these functions so that every rejection says
exactly which field is wrong and why (a 422 problem), instead of a KeyError
turning into a 500.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from mocks.core.problems import ValidationFailed

_MISSING = object()


class Payload:
    """A JSON object whose fields are read with type checks."""

    def __init__(self, body: Any, prefix: str = "") -> None:
        if not isinstance(body, dict):
            raise ValidationFailed(prefix or "body", "must be a JSON object")
        self.body = body
        self.prefix = prefix

    def _name(self, field: str) -> str:
        return f"{self.prefix}{field}"

    def _get(self, field: str, default: Any) -> Any:
        value = self.body.get(field, _MISSING)
        if value is _MISSING or value is None:
            if default is _MISSING:
                raise ValidationFailed(self._name(field), "is required")
            return default
        return value

    def str(self, field: str, default: Any = _MISSING, max_len: int | None = None) -> Any:
        value = self._get(field, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str) or not value:
            raise ValidationFailed(self._name(field), "must be a non-empty string")
        if max_len is not None and len(value) > max_len:
            raise ValidationFailed(
                self._name(field), f"is {len(value)} characters; at most {max_len} allowed"
            )
        return value

    def int(self, field: str, default: Any = _MISSING, minimum: int | None = None, maximum: int | None = None) -> Any:
        value = self._get(field, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationFailed(self._name(field), "must be an integer")
        if minimum is not None and value < minimum:
            raise ValidationFailed(self._name(field), f"must be >= {minimum}")
        if maximum is not None and value > maximum:
            raise ValidationFailed(self._name(field), f"must be <= {maximum}")
        return value

    def bool(self, field: str, default: Any = _MISSING) -> Any:
        value = self._get(field, default)
        if not isinstance(value, bool):
            raise ValidationFailed(self._name(field), "must be true or false")
        return value

    def decimal(self, field: str, default: Any = _MISSING) -> Any:
        value = self._get(field, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str):
            raise ValidationFailed(self._name(field), "must be a decimal string such as \"7.25\"")
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise ValidationFailed(self._name(field), f"{value!r} is not a decimal number") from None
        if not number.is_finite():
            raise ValidationFailed(self._name(field), "must be finite")
        return number

    def date(self, field: str, default: Any = _MISSING) -> Any:
        value = self._get(field, default)
        if value is default and default is not _MISSING:
            return value
        try:
            return dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            raise ValidationFailed(self._name(field), "must be a date YYYY-MM-DD") from None

    def choice(self, field: str, choices: tuple[str, ...], default: Any = _MISSING) -> Any:
        value = self._get(field, default)
        if value not in choices:
            raise ValidationFailed(self._name(field), f"must be one of {', '.join(choices)}")
        return value

    def object(self, field: str, default: Any = _MISSING) -> Any:
        value = self._get(field, default)
        if value is default and default is not _MISSING:
            return value
        return Payload(value, self._name(field) + ".")

    def objects(self, field: str) -> list[Payload]:
        value = self._get(field, _MISSING)
        if not isinstance(value, list) or not value:
            raise ValidationFailed(self._name(field), "must be a non-empty array")
        return [Payload(item, f"{self._name(field)}[{i}].") for i, item in enumerate(value)]


def read_changes(payload: Payload, readers: dict[str, Any], updatable: tuple[str, ...] | frozenset[str],
                 members: frozenset[str], noun: str) -> dict[str, Any]:
    """The fields of a PATCH body, each read with the same reader as on create.

    Every field is checked before anything is applied: a read-only or
    unknown field is a 422 naming it, never silently ignored.
    """
    changes = {}
    for name in payload.body:
        if name not in updatable:
            reason = "is read-only" if name in members else f"is not {noun} field"
            raise ValidationFailed(name, f"{reason}; updatable fields: {', '.join(updatable)}")
        changes[name] = readers[name](payload, name)
    return changes
