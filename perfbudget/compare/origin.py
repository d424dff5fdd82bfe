"""Where a baseline came from, or why there is none: ``selection.json`` beside the fetched results.

The CI fetch step chooses the baseline (the PR's base commit, an ancestor,
the newest run) and knows why it found none; the reports must say both, or a
run that was never compared would look as green as one that was. The file
travels with the baseline directory into the artifact, so every stage that
judges the results says the same thing. Reading never raises: a missing
file means nothing is known about the origin, and a malformed one says so
in one line.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from perfbudget.run.decode import MAX_NUMBER, ResultsError
from perfbudget.run.files import MAX_SMALL_BYTES, outside, read_bounded

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


MAX_TEXT = 500  # characters of a text field shown in a report; a longer one is cut, with an ellipsis


def read_origin(directory: Path) -> tuple[BaselineOrigin | None, str]:
    """The origin recorded in ``directory`` (None when absent or unusable), and what was wrong with it in one line ("" if nothing).

    Every field is checked against its type: an artifact may come from a
    fork's run. The file must be a regular one inside the directory and
    small (a FIFO would block, ``/dev/zero`` never end); a text too long
    for a report is cut with an ellipsis rather than dropped, so that no
    report falls back to saying something untrue ("no baseline given").
    """
    path = Path(directory) / SELECTION_NAME
    if not path.exists() and not path.is_symlink():
        return None, ""
    unknown = "how the baseline was chosen is unknown"
    if outside(path, Path(directory)):
        return None, f"{path}: a symbolic link out of the baseline directory, not read; {unknown}"
    try:
        data = json.loads(read_bounded(path, MAX_SMALL_BYTES, "baseline selection file").decode("utf-8"))
    except ResultsError as exc:
        return None, f"{exc}; {unknown}"
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, a number of thousands of digits
        return None, f"{path}: not valid JSON ({str(exc)[:100]}); {unknown}"
    if not isinstance(data, dict) or not isinstance(data.get("found"), bool):
        return None, f"{path}: expected an object with true or false as 'found'; {unknown}"
    values: dict[str, Any] = {"found": data["found"]}  # each value checked against its field's type below
    ignored = []
    for spec in fields(BaselineOrigin):
        value = data.get(spec.name)
        if spec.name == "found" or value is None:
            continue
        if spec.name in ("behind", "history", "searched"):
            if type(value) is int and 0 <= value <= MAX_NUMBER:
                values[spec.name] = value
            else:
                ignored.append(spec.name)
        elif isinstance(value, str):
            values[spec.name] = value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
        else:
            ignored.append(spec.name)
    if values.get("how", "") not in ("", *HOW):
        values["how"] = ""
        ignored.append("how")
    origin = BaselineOrigin(**values)
    if origin.found and not origin.chosen:
        return None, f"{path}: names no chosen run ('chosen'); {unknown}"
    return origin, f"{path}: {', '.join(ignored)} not understood, so left out" if ignored else ""
