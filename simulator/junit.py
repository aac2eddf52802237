"""JUnit XML: one test suite of test cases, each passed, failed or in error, as CI servers read it.

:func:`render` is pure and deterministic (no timestamps, no durations,
attributes in a fixed order), so the same cases give the same bytes;
:func:`write_junit` writes them. The document is the common subset that
GitHub Actions test reporters, GitLab (``artifacts:reports:junit``) and
Jenkins read: ``<testsuites>`` holding one ``<testsuite>`` with
``<properties>``, and per case a ``<failure>`` or ``<error>`` whose
``message`` is one line and whose text gives the detail.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class Case:
    """One test case: ``status`` ``pass``, ``fail`` (a ``<failure>``) or ``error`` (an ``<error>``)."""

    name: str
    classname: str
    status: Literal["pass", "fail", "error"] = "pass"
    message: str = ""
    detail: str = ""
    file: str | None = None
    line: int | None = None


def render(suite: str, cases: Iterable[Case], properties: Mapping[str, str] | None = None) -> bytes:
    """The JUnit XML document (UTF-8, with its declaration) of one suite named ``suite``."""
    cases = list(cases)
    counts = {"tests": str(len(cases)), "failures": str(sum(c.status == "fail" for c in cases)),
              "errors": str(sum(c.status == "error" for c in cases)), "skipped": "0"}
    root = ET.Element("testsuites", {"name": suite, **counts})
    element = ET.SubElement(root, "testsuite", {"name": suite, **counts})
    if properties:
        props = ET.SubElement(element, "properties")
        for name, value in properties.items():
            ET.SubElement(props, "property", {"name": name, "value": str(value)})
    for case in cases:
        attributes = {"name": case.name, "classname": case.classname}
        if case.file is not None:
            attributes["file"] = case.file
        if case.line is not None:
            attributes["line"] = str(case.line)
        testcase = ET.SubElement(element, "testcase", attributes)
        if case.status != "pass":
            tag = "failure" if case.status == "fail" else "error"
            outcome = ET.SubElement(testcase, tag, {"message": case.message, "type": tag})
            outcome.text = case.detail or case.message
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write_junit(path: Path, suite: str, cases: Iterable[Case], properties: Mapping[str, str] | None = None) -> None:
    """:func:`render` written to ``path`` (its directory created); an ``OSError`` is the caller's to report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render(suite, cases, properties))
