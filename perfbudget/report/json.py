"""The Comparison as JSON, for machines: the same document as ``perfbudget compare --format json``."""

from __future__ import annotations

import json
from typing import TextIO

from perfbudget.compare.serialize import comparison_to_dict
from perfbudget.compare.verdicts import Comparison


def report(comparison: Comparison, outfile: TextIO) -> None:
    json.dump(comparison_to_dict(comparison), outfile, indent=2, ensure_ascii=False)
    outfile.write("\n")
