"""Fail loudly when a seam a mutant relies on disappears from the reference connector.

A mutant plants its defect through public seams: a ``build_*`` method of
:class:`reference_impl.connector.ReferenceConnector` that returns a subclass
of one collaborator (``Customers``, ``Contracts``, ``Valuation``,
``Settlement``, ``ChangeFeeds``, ``Reconciler``, the ``Inbox`` or the
``ChargeWriter``), a public method of that collaborator, or an event
handler, or one of the documented hooks of the ``Inbox`` (``put``) and the
``ChargeWriter`` (``new_charge``, ``release``, ``totals_of``, ``rebalance``).
A defect in what a connector sends rather than in what it decides is planted with :func:`rewrite_bodies`.
A mutant that overrides a method nobody has (or calls) any more
silently turns back into the reference connector, and its test would then
"pass" for the wrong reason. Each mutant names the seams it uses; building
it raises if one of them is gone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def require_hooks(cls: type, *names: str) -> None:
    missing = [name for name in names if not callable(getattr(cls, name, None))]
    if missing:
        raise RuntimeError(f"{cls.__name__} no longer has {', '.join(missing)}: re-plant this mutant's defect")


def require_handlers(handlers: dict[str, Any], *event_types: str) -> None:
    missing = [t for t in event_types if t not in handlers]
    if missing:
        raise RuntimeError(f"the reference connector no longer handles {', '.join(missing)}: re-plant this mutant's defect")


def rewrite_bodies(connector: Any, system: str, method: str, path: str,
                   rewrite: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Plant a defect in what a connector sends: the JSON body of each ``method`` request it makes to ``system`` at
    ``path`` (or under it, for a ``path`` ending in ``/``) goes out as ``rewrite(body)``; its client, wrapped."""
    client = connector.clients[system]
    send = client.request

    def request(sent_method: str, sent_path: str, **kwargs: Any) -> Any:
        body = kwargs.get("json")
        at = sent_path == path or (path.endswith("/") and sent_path.startswith(path))
        if sent_method == method and at and isinstance(body, dict):
            kwargs["json"] = rewrite(body)
        return send(sent_method, sent_path, **kwargs)

    client.request = request
