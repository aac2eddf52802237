"""The mock systems' OpenAPI documents as files: ``python -m mocks.openapi_export docs/openapi``.

:func:`write_documents` writes one ``{system}.json`` per registered system,
generated exactly as each system serves it at ``GET /openapi.json``:
indented, keys sorted, a trailing newline, so a change to a route shows as
a small diff. :func:`render_documents` gives the same text without writing,
which is what the drift test compares the checked-in copies with.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mocks.core.clock import FixedClock
from mocks.systems import REGISTRY, build_systems

DEFAULT_DIRECTORY = Path("docs/openapi")
REGENERATE_COMMAND = "python -m mocks.openapi_export docs/openapi"


def render_documents() -> dict[str, str]:
    """System name -> its OpenAPI document as the text of its file, for every registered system.

    The documents depend only on the code (routes, fields, entities, events), never on a run's state,
    so fresh empty systems give them.
    """
    systems = build_systems(FixedClock(), tax_rates={}, seed=0)
    return {name: json.dumps(systems.services[name].openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
            for name in REGISTRY}


def write_documents(directory: str | Path = DEFAULT_DIRECTORY) -> list[Path]:
    """Write ``{system}.json`` for every registered system into ``directory`` (created if needed); the paths written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_documents().items():
        path = directory / f"{name}.json"
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1:
        print(f"usage: python -m mocks.openapi_export [DIRECTORY]  (default {DEFAULT_DIRECTORY})", file=sys.stderr)
        return 2
    for path in write_documents(args[0] if args else DEFAULT_DIRECTORY):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
