"""What business-facing text never shows, as patterns the tests of the table, workbook and report
share: raw names (snake_case), long floats, `nan`, and, in English text, Chinese characters (the
export's own values say themselves in words: `data.value_words`)."""

from __future__ import annotations

import re

SNAKE_CASE = re.compile(r"\b[a-z]+_[a-z0-9_]+\b")
LONG_FLOAT = re.compile(r"\d\.\d{4,}")
NAN = re.compile(r"(?<![a-z])nan(?![a-z])", re.I)
CHINESE = re.compile(r"[\u3400-\u9fff]")
