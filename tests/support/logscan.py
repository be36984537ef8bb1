"""Every log line the Segel server writes during a test run, and the check that none holds a NIK or a code.

Lines come from two places: the in-process app (a handler on the root logger, formatted as in production
by `server.logs.JSONFormatter`) and servers started as child processes, which write their output to files
from `log_file()`. All of them end up in one session directory that `find_leaks` reads at the end.

What counts as a leak, chosen so that ids, hashes, revisions and seal numbers never match:

- a NIK: a run of exactly 16 decimal digits with no letter or digit on either side, that is a plausible NIK
  (`records.nik.check_nik`: the same province, date and serial rules as at intake). Hex hashes, ULIDs and
  revisions mix letters into their digits, so they never form a run that stands alone; a seal number starts
  with letters; a timestamp has separators. Lines are URL-decoded first, so `key=%226471...%22` counts too;
- a receipt code: six characters of the receipt alphabet (`schemas/common.schema.json#/$defs/receipt_code`),
  standing alone, right after a key that names it (`receipt`, `receipt_code`, `kode`, `code`, or a `q=`
  search parameter) — a bare six-letter word is too common to flag by shape alone;
- any receipt code the in-process app generated during the run (`remember_code`), wherever it appears;
- in a JSON log line, a link token in a path (`/r/<token>`, `/auth/enroll/<token>`): it opens a page. Plain
  lines are console output, where `scripts/run` prints enrollment links on purpose.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from records.nik import check_nik
from server.logs import JSONFormatter

#: The receipt alphabet: A-Z and 2-9 without I, L, O (and without 0, 1), as in the schema.
_CODE = "[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6}"
_SIXTEEN_DIGITS = re.compile(r"(?<![0-9A-Za-z])[0-9]{16}(?![0-9A-Za-z])")
_KEYED_CODE = re.compile(
    r"(?:(?i:receipt_code|receipt|kode_penerimaan|kode|code)[\"']?\s*[:= ]\s*[\"']?|[?&]q=)"
    rf"({_CODE})(?![0-9A-Za-z])"
)
_LINK_TOKEN = re.compile(r"/(?:r|auth/enroll)/[A-Za-z0-9_-]{20,64}(?![A-Za-z0-9_-])")
_LONE_CODE = re.compile(rf"(?<![0-9A-Za-z])({_CODE})(?![0-9A-Za-z])")
#: Loggers of the Segel server; set to DEBUG during tests so even lines a production log would drop count.
SERVER_LOGGERS = ("server", "sync", "segel")


@dataclass(frozen=True)
class Leak:
    source: str
    line: str
    what: str

    def __str__(self) -> str:
        return f"{self.source}: {self.what} in {self.line[:300]!r}"


class LogCollector:
    """The session's log directory, its in-process handler, and the receipt codes the app made."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.codes: set[str] = set()
        self.handler = logging.FileHandler(directory / "in-process.log", encoding="utf-8")
        self.handler.setFormatter(JSONFormatter())
        self.handler.setLevel(logging.DEBUG)
        self._levels: dict[str, int] = {}

    def install(self) -> None:
        root = logging.getLogger()
        if self.handler not in root.handlers:
            root.addHandler(self.handler)
        for name in SERVER_LOGGERS:
            logger = logging.getLogger(name)
            self._levels.setdefault(name, logger.level)
            logger.setLevel(logging.DEBUG)

    def uninstall(self) -> None:
        logging.getLogger().removeHandler(self.handler)
        self.handler.close()
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)

    def leaks(self) -> list[Leak]:
        self.handler.flush()
        found: list[Leak] = []
        for path in sorted(self.directory.iterdir()):
            text = path.read_text(encoding="utf-8", errors="replace")
            found.extend(find_leaks(text.splitlines(), path.name, self.codes))
        return found


_collector: LogCollector | None = None


def start_collecting(directory: Path) -> LogCollector:
    """Collect into `directory` (a fresh one per run) until `uninstall`; `log_file` hands out files in it."""
    global _collector
    _collector = LogCollector(directory)
    _collector.install()
    return _collector


def collector() -> LogCollector | None:
    return _collector


def log_file(name: str) -> Path:
    """A new file in the session's log directory, for the output of a server started as a child process.

    Outside a collecting session (a helper used from a script) the file goes to a temporary directory.
    """
    directory = _collector.directory if _collector else Path(tempfile.mkdtemp(prefix="segel-log-"))
    handle, path = tempfile.mkstemp(prefix=f"{name}-", suffix=".log", dir=directory)
    os.close(handle)
    return Path(path)


def remember_code(code: str) -> str:
    if _collector is not None:
        _collector.codes.add(code)
    return code


def find_leaks(lines: Iterable[str], source: str, codes: Iterable[str] = ()) -> list[Leak]:
    """Lines holding a plausible NIK, a receipt code after its key, or one of the known `codes`."""
    known = set(codes)
    found: list[Leak] = []
    for line in lines:
        decoded = unquote(line)
        niks = [m.group(0) for m in _SIXTEEN_DIGITS.finditer(decoded) if check_nik(m.group(0)) is None]
        found.extend(Leak(source, _masked(line, niks), f"NIK {nik[:6]}**********") for nik in niks)
        named = {m.group(1) for m in _KEYED_CODE.finditer(decoded)}
        named |= {m.group(1) for m in _LONE_CODE.finditer(decoded) if m.group(1) in known}
        found.extend(Leak(source, _masked(line, niks), f"receipt code {code}") for code in sorted(named))
        if line.startswith("{") and _LINK_TOKEN.search(decoded):
            found.append(Leak(source, line, "link token"))
    return found


def _masked(line: str, niks: list[str]) -> str:
    """The line as reported: a leaked NIK is shown by its region digits only, even in the failure."""
    for nik in niks:
        line = line.replace(nik, nik[:6] + "*" * 10)
    return line
