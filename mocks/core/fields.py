"""Declared payload fields: one object both reads a field and describes it.

A :class:`Field` is the reader a handler calls (``field(payload, name)``,
through :class:`~mocks.core.validation.Payload`, so every rejection is the
same 422 naming the field) and the JSON Schema the OpenAPI document shows
for it (:meth:`Field.schema`). Both come from the same attributes (a
``max_len``, a ``minimum``, the choices, whether the field is required), so
the document and the validation cannot disagree on them.

Guarantees: a field without a default is required, and ``null`` counts as
absent (a required field sent as ``null`` is a 422; an optional one takes
its default). Strings are non-empty. Decimals travel as strings matching
:data:`~mocks.core.validation.DECIMAL_PATTERN`, dates as ``YYYY-MM-DD``.
What a schema cannot state (one field against another, against state) is
the handler's and the backend's, and the OpenAPI document lists it as the
operation's rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mocks.core.problems import ValidationFailed
from mocks.core.validation import DATE_PATTERN, DECIMAL_PATTERN, REQUIRED, Payload

MAX_MINOR_UNITS = 10**15  # any amount of money, either sign: beyond any real one, so a typo or an overflow is refused

Fields = Mapping[str, "Field"]


@dataclass(frozen=True, slots=True)
class Field:
    """Base of every declared field; ``default`` is :data:`REQUIRED` unless the field may be left out."""

    default: Any = REQUIRED
    description: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def __call__(self, payload: Payload, name: str) -> Any:
        raise NotImplementedError

    def value_schema(self) -> dict[str, Any]:
        """The schema of a present, non-null value."""
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of the field as a request may send it (``null`` allowed when it is optional)."""
        schema = self.value_schema()
        if not self.required:
            schema = {"anyOf": [schema, {"type": "null"}]}
            if self.default is not None:
                schema["default"] = list(self.default) if isinstance(self.default, tuple) else self.default
        if self.description:
            schema["description"] = self.description
        return schema


@dataclass(frozen=True, slots=True)
class Text(Field):
    max_len: int | None = None

    def __call__(self, payload: Payload, name: str) -> Any:
        return payload.str(name, self.default, max_len=self.max_len)

    def value_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "minLength": 1}
        if self.max_len is not None:
            schema["maxLength"] = self.max_len
        return schema


@dataclass(frozen=True, slots=True)
class Integer(Field):
    minimum: int | None = None
    maximum: int | None = None

    def __call__(self, payload: Payload, name: str) -> Any:
        return payload.int(name, self.default, minimum=self.minimum, maximum=self.maximum)

    def value_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer"}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        return schema


@dataclass(frozen=True, slots=True)
class Money(Integer):
    """An amount in minor units (cents), within +/- :data:`MAX_MINOR_UNITS` unless narrowed."""

    minimum: int | None = -MAX_MINOR_UNITS
    maximum: int | None = MAX_MINOR_UNITS


@dataclass(frozen=True, slots=True)
class DecimalText(Field):
    """A decimal number as a string (``"7.25"``); read as a :class:`~decimal.Decimal`."""

    def __call__(self, payload: Payload, name: str) -> Any:
        return payload.decimal(name, self.default)

    def value_schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": f"^{DECIMAL_PATTERN}$"}


@dataclass(frozen=True, slots=True)
class Date(Field):
    """A calendar date ``YYYY-MM-DD``; read as a :class:`datetime.date`."""

    def __call__(self, payload: Payload, name: str) -> Any:
        return payload.date(name, self.default)

    def value_schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "date", "pattern": f"^{DATE_PATTERN}$"}


@dataclass(frozen=True, slots=True)
class Choice(Field):
    choices: tuple[str, ...] = ()

    def __call__(self, payload: Payload, name: str) -> Any:
        return payload.choice(name, self.choices, self.default)

    def value_schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.choices)}


@dataclass(frozen=True, slots=True)
class Flag(Field):
    def __call__(self, payload: Payload, name: str) -> Any:
        return payload.bool(name, self.default)

    def value_schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


@dataclass(frozen=True, slots=True)
class AnyObject(Field):
    """A JSON object kept as sent (a charge's lineage)."""

    def __call__(self, payload: Payload, name: str) -> Any:
        value = payload.object(name, self.default)
        return value.body if isinstance(value, Payload) else value

    def value_schema(self) -> dict[str, Any]:
        return {"type": "object"}


@dataclass(frozen=True, slots=True)
class Record(Field):
    """A nested object of declared fields; read as a dict of their values (undeclared members are ignored)."""

    fields: Fields = field(default_factory=dict)

    def __call__(self, payload: Payload, name: str) -> Any:
        value = payload.object(name, self.default)
        return read(value, self.fields) if isinstance(value, Payload) else value

    def value_schema(self) -> dict[str, Any]:
        return object_schema(self.fields)


@dataclass(frozen=True, slots=True)
class Records(Field):
    """A non-empty array of :class:`Record` items, at most ``max_items``; read as a list of dicts."""

    fields: Fields = field(default_factory=dict)
    max_items: int | None = None

    def __call__(self, payload: Payload, name: str) -> Any:
        items = payload.objects(name, self.default)
        if not isinstance(items, list):
            return items
        if self.max_items is not None and len(items) > self.max_items:
            raise ValidationFailed(payload.path(name), f"at most {self.max_items} items per request, got {len(items)}")
        return [read(item, self.fields) for item in items]

    def value_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "array", "minItems": 1, "items": object_schema(self.fields)}
        if self.max_items is not None:
            schema["maxItems"] = self.max_items
        return schema


@dataclass(frozen=True, slots=True)
class Texts(Field):
    """An array of non-empty strings (possibly empty)."""

    def __call__(self, payload: Payload, name: str) -> Any:
        value = payload.body.get(name)
        if value is None:
            if self.default is REQUIRED:
                raise ValidationFailed(payload.path(name), "is required")
            return list(self.default)
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise ValidationFailed(payload.path(name), "must be an array of non-empty strings")
        return value

    def value_schema(self) -> dict[str, Any]:
        return {"type": "array", "items": {"type": "string", "minLength": 1}}


@dataclass(frozen=True, slots=True)
class AmountMap(Field):
    """An object whose every member is an amount of money of at least 0 (milestone ref -> amount)."""

    def __call__(self, payload: Payload, name: str) -> Any:
        value = payload.object(name, self.default)
        if not isinstance(value, Payload):
            return value
        return {key: AMOUNT(value, key) for key in value.body}

    def value_schema(self) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": AMOUNT.value_schema()}


AMOUNT = Money(minimum=0)


def read(payload: Payload, fields: Fields) -> dict[str, Any]:
    """Every declared field of ``payload``, read in declaration order (the first bad one is the 422)."""
    return {name: reader(payload, name) for name, reader in fields.items()}


def object_schema(fields: Fields, *, closed: bool = False, partial: bool = False) -> dict[str, Any]:
    """The JSON Schema of an object of ``fields``: required unless ``partial``; no other member if ``closed``."""
    schema: dict[str, Any] = {"type": "object", "properties": {name: f.schema() for name, f in fields.items()}}
    required = [name for name, f in fields.items() if f.required]
    if required and not partial:
        schema["required"] = required
    if closed:
        schema["additionalProperties"] = False
    return schema
