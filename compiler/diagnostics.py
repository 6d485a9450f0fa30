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
        lines = self.text.splitlines()
        return lines[number - 1] if 0 < number <= len(lines) else ""


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
    labels: tuple[Label, ...] = ()
    help: str = ""
    severity: str = "error"

    def render(self) -> str:
        out = [f"{self.severity}[{self.code}]: {self.message}"]
        if self.span is None:
            if self.help:
                out.append(f"  = help: {self.help}")
            return "\n".join(out)
        spans = [Label(self.span, self.label), *self.labels]
        width = len(str(max(s.span.line for s in spans)))
        pad = " " * width
        out.append(f"{pad}--> {self.span!r}")
        out.append(f"{pad} |")
        for lab in spans:
            if lab.span.source != self.span.source:
                out.append(f"{pad}--> {lab.span!r}")
            text = lab.span.source.line(lab.span.line)
            first_line_end = lab.span.source.text.find("\n", lab.span.start)
            end = lab.span.end if first_line_end < 0 else min(lab.span.end, first_line_end)
            carets = "^" * max(1, end - lab.span.start)
            out.append(f"{lab.span.line:>{width}} | {text}")
            marker = " " * (lab.span.column - 1) + carets
            out.append(f"{pad} | {marker} {lab.message}".rstrip())
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
        self.diagnostics.append(Diagnostic(code, message, span, label, tuple(labels), help))

    def check(self) -> None:
        if self.diagnostics:
            raise CompileError(self.diagnostics)


def did_you_mean(word: str, candidates) -> str:
    """A 'did you mean' hint for `word` among `candidates`, or an empty string."""
    close = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else ""
