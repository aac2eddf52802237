"""Field readers for JSON payloads that name the offending field.

Handlers read payloads through these functions so that every rejection says
exactly which field is wrong and why (a 422 problem), instead of a KeyError
turning into a 500.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from mocks.core.problems import ValidationFailed

_MISSING = object()
REQUIRED: Any = _MISSING  # the default of a field that must be present

# What a decimal string and a date look like on the wire: ASCII digits only, no spaces, no digit separators.
# The readers below check these very patterns, and the OpenAPI documents state them.
DECIMAL_PATTERN = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_DECIMAL = re.compile(DECIMAL_PATTERN)
_EXACT_FLOAT = 2**53  # a JSON number written with a fraction names this integer exactly only up to here
_DATE = re.compile(DATE_PATTERN)


class Payload:
    """A JSON object whose fields are read with type checks."""

    def __init__(self, body: Any, prefix: str = "") -> None:
        if not isinstance(body, dict):
            raise ValidationFailed(prefix or "body", "must be a JSON object")
        self.body = body
        self.prefix = prefix

    def path(self, field: str) -> str:
        return f"{self.prefix}{field}"

    def _get(self, field: str, default: Any) -> Any:
        value = self.body.get(field, _MISSING)
        if value is _MISSING or value is None:
            if default is _MISSING:
                raise ValidationFailed(self.path(field), "is required")
            return default
        return value

    def str(self, field: str, default: Any = _MISSING, max_len: int | None = None) -> Any:
        value = self._get(field, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str) or not value:
            raise ValidationFailed(self.path(field), "must be a non-empty string")
        if max_len is not None and len(value) > max_len:
            raise ValidationFailed(
                self.path(field), f"is {len(value)} characters; at most {max_len} allowed"
            )
        return value

    def int(self, field: str, default: Any = _MISSING, minimum: int | None = None, maximum: int | None = None) -> Any:
        value = self._get(field, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, float) and value.is_integer() and abs(value) <= _EXACT_FLOAT:
            value = int(value)  # JSON has one number type: 7.0 is the integer 7 (as JSON Schema's "integer" says)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationFailed(self.path(field), "must be an integer")
        if minimum is not None and value < minimum:
            raise ValidationFailed(self.path(field), f"must be >= {minimum}")
        if maximum is not None and value > maximum:
            raise ValidationFailed(self.path(field), f"must be <= {maximum}")
        return value

    def bool(self, field: str, default: Any = _MISSING) -> Any:
        value = self._get(field, default)
        if not isinstance(value, bool):
            raise ValidationFailed(self.path(field), "must be true or false")
        return value

    def decimal(self, field: str, default: Any = _MISSING) -> Any:
        value = self._get(field, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str) or not _DECIMAL.fullmatch(value):
            raise ValidationFailed(self.path(field), "must be a decimal string such as \"7.25\"")
        try:
            return Decimal(value)
        except InvalidOperation:  # an exponent beyond what Decimal represents
            raise ValidationFailed(self.path(field), f"{value!r} is not a decimal number") from None

    def date(self, field: str, default: Any = _MISSING) -> Any:
        value = self._get(field, default)
        if value is default and default is not _MISSING:
            return value
        try:
            if not _DATE.fullmatch(value):
                raise ValueError(value)
            return dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            raise ValidationFailed(self.path(field), "must be a date YYYY-MM-DD") from None

    def choice(self, field: str, choices: tuple[str, ...], default: Any = _MISSING) -> Any:
        value = self._get(field, default)
        if value not in choices:
            raise ValidationFailed(self.path(field), f"must be one of {', '.join(choices)}")
        return value

    def object(self, field: str, default: Any = _MISSING) -> Any:
        value = self._get(field, default)
        if value is default and default is not _MISSING:
            return value
        return Payload(value, self.path(field) + ".")

    def objects(self, field: str, default: Any = _MISSING) -> Any:
        value = self._get(field, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, list) or not value:
            raise ValidationFailed(self.path(field), "must be a non-empty array")
        return [Payload(item, f"{self.path(field)}[{i}].") for i, item in enumerate(value)]


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
