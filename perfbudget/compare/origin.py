"""Where a baseline came from, or why there is none: ``selection.json`` beside the fetched results.

The CI fetch step chooses the baseline (the PR's base commit, an ancestor,
the newest run) and knows why it found none; the reports must say both, or a
run that was never compared would look as green as one that was. The file
travels with the baseline directory into the artifact, so every stage that
judges the results says the same thing. Reading never raises: a missing or
malformed file just means nothing is known about the origin.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

SELECTION_NAME = "selection.json"
HOW = ("base", "ancestor", "newest", "branch")


@dataclass(frozen=True)
class BaselineOrigin:
    """The fetch step's choice. ``found`` False: ``reason`` says why nothing was compared.

    ``chosen`` is the file name, in the same directory, of the run compared
    with; the other results files there are its history.
    """

    found: bool
    reason: str = ""
    how: str = ""  # one of HOW
    commit: str = ""
    branch: str = ""
    base_commit: str = ""  # the PR's base, when there is a PR
    behind: int | None = None  # commits between the chosen run's and the PR's base
    run_url: str = ""
    chosen: str = ""
    history: int = 0  # runs fetched, the chosen one included
    searched: int = 0  # commits of the PR base's history looked through (1: only the base could be)


def write_origin(directory: Path, origin: BaselineOrigin) -> Path:
    path = Path(directory) / SELECTION_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(origin), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_origin(directory: Path) -> BaselineOrigin | None:
    """The origin recorded in ``directory``, or None when absent or not in the expected shape.

    Every field is type-checked: an artifact may come from a fork's run.
    """
    try:
        data = json.loads((Path(directory) / SELECTION_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("found"), bool):
        return None
    values: dict[str, Any] = {"found": data["found"]}  # each value checked against its field's type below
    for spec in fields(BaselineOrigin):
        value = data.get(spec.name)
        if spec.name == "found" or value is None:
            continue
        if spec.name in ("behind", "history", "searched"):
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                values[spec.name] = value
        elif isinstance(value, str) and len(value) <= 500:
            values[spec.name] = value
    if values.get("how", "") not in ("", *HOW):
        values["how"] = ""
    return BaselineOrigin(**values)
