"""Source spans and the one `Diagnostic` type every user-facing compiler error uses.

A diagnostic renders rustc-style::

    error[E0204]: unknown feature `prce` in node `h`
      --> specs/search.msd:18:25
       |
    18 |   h = per scenario: mlp(prce, [64, 32])
       |                         ^^^^ not declared in `features`
       = help: did you mean `price`?
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Source:
    """The text of one spec file and the name it is reported under."""

    path: str
    text: str

    def line(self, number: int) -> str:
        """Line `number` (1-based) without its line break; lines are split at `\\n` only, as spans count them."""
        lines = self.text.split("\n")
        return lines[number - 1].removesuffix("\r") if 0 < number <= len(lines) else ""


@dataclass(frozen=True)
class Span:
    """A range of one source file: 1-based line and column of the start, 0-based end offset."""

    source: Source
    start: int  # character offset
    end: int
    line: int
    column: int

    @classmethod
    def at(cls, source: Source, start: int, end: int) -> "Span":
        before = source.text[:start]
        line = before.count("\n") + 1
        column = start - (before.rfind("\n") + 1) + 1
        return cls(source, start, max(end, start), line, column)

    @property
    def text(self) -> str:
        return self.source.text[self.start : self.end]

    def __repr__(self) -> str:
        return f"{self.source.path}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Label:
    span: Span
    message: str = ""


@dataclass(frozen=True)
class Diagnostic:
    """One error or warning: a stable code, where it is, what is wrong, and how to fix it."""

    code: str
    message: str
    span: Span | None
    label: str = ""
    help: str = ""
    severity: str = "error"
    # Keyword-only: `Diagnostic(code, message, span, label, help)` reads as written.
    labels: tuple[Label, ...] = field(default=(), kw_only=True)

    def render(self) -> str:
        out = [f"{self.severity}[{self.code}]: {self.message}"]
        if self.span is None:
            if self.help:
                out.append(f"  = help: {self.help}")
            return "\n".join(out)
        spans = [Label(self.span, self.label), *self.labels]
        # In source order, the primary span's file first, so that labels on one line share it.
        spans.sort(key=lambda lab: (lab.span.source != self.span.source, lab.span.source.path, lab.span.start))
        width = len(str(max(s.span.line for s in spans)))
        pad = " " * width
        out.append(f"{pad}--> {self.span!r}")
        out.append(f"{pad} |")
        shown = (self.span.source, None)  # the source line printed last: labels on it share it
        for lab in spans:
            span = lab.span
            if span.source != self.span.source and span.source != shown[0]:
                out.append(f"{pad}--> {span!r}")
            text = span.source.line(span.line)
            # Carets run to the end of the span's first line; tabs are shown as 4 spaces so carets line up.
            start = span.column - 1
            end = start + max(0, min(span.end - span.start, len(text) - start))
            col = len(text[:start].expandtabs(4))
            carets = "^" * max(1, len(text[:end].expandtabs(4)) - col)
            if shown != (span.source, span.line):
                out.append(f"{span.line:>{width}} | {text.expandtabs(4)}".rstrip())
                shown = (span.source, span.line)
            out.append(f"{pad} | {' ' * col}{carets} {lab.message}".rstrip())
        if self.help:
            out.append(f"{pad} = help: {self.help}")
        return "\n".join(out)

    def sort_key(self) -> tuple:
        return (self.span.source.path, self.span.start) if self.span else ("", -1)


class CompileError(Exception):
    """Raised with every diagnostic a stage found; the CLI prints them and exits with status 2."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        super().__init__("\n\n".join(d.render() for d in self.diagnostics))


@dataclass
class Reporter:
    """Collects diagnostics during one pass so several errors are reported at once."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def error(self, code: str, message: str, span: Span | None, label: str = "", help: str = "", labels=()):
        self.diagnostics.append(Diagnostic(code, message, span, label, help, labels=tuple(labels)))

    def check(self) -> None:
        if self.diagnostics:
            raise CompileError(self.diagnostics)


def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of neighbours."""
    prev2, prev = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if prev2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def did_you_mean(word: str, candidates) -> str:
    """A 'did you mean' hint for `word` among `candidates`, or an empty string.

    The closest by edit distance wins (a swapped pair of letters counts once, so `mpl` → `mlp`); failing a close
    one, difflib's similarity (e.g. a long name with a few letters wrong).
    """
    candidates = sorted(set(candidates))
    if not candidates:
        return ""
    best = min(candidates, key=lambda c: (edit_distance(word.lower(), c.lower()), c))
    distance = edit_distance(word.lower(), best.lower())
    if distance <= max(1, len(word) // 3) and len(word) >= 3:  # `s9` → `s0` would be a guess
        return f"did you mean `{best}`?"
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else ""
