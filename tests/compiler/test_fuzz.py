"""A malformed spec never produces a traceback (DESIGN §8).

Every example spec (`specs/*.msd` and `tests/compiler/good/*.msd`) is mutated — tokens deleted, duplicated,
swapped or moved, identifiers replaced by near misses, numbers turned into strings, punctuation and odd
characters inserted, lines dropped or repeated — and compiled. Each case must either compile (and dump) or
raise `CompileError` whose every diagnostic renders and points inside its file. Any other exception fails.

`CI=1` runs a derandomized profile (see conftest.py); `MSDSL_FUZZ_CASES=N` changes the number of cases.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import compiler
from compiler.diagnostics import CompileError, Diagnostic
from compiler.ir import dump, to_json
from compiler_test_support import HERE, REPO

EXAMPLES = sorted((REPO / "specs").glob("*.msd")) + sorted((HERE / "good").glob("*.msd"))
TEXTS = {path: path.read_text() for path in EXAMPLES}
# Cases in total, across the examples (~20 s); MSDSL_FUZZ_CASES=30000 explores further.
CASES = int(os.environ.get("MSDSL_FUZZ_CASES", "2000"))

TOKEN = re.compile(
    r'[A-Za-z_][A-Za-z0-9_]*|\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?|\.\d+|"[^"\n]*"|\+=|#[^\n]*|\s+|.', re.S)
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
NUMBER = re.compile(r"\.?\d")
PUNCT = list('{}()[],=:+-*/#".;@$%&!?<>|~`\'\\') + ["+=", "\t", "\n", "\r", "\x0c", "\x00", "é", "\u2028", "\ufeff"]
KEYWORDS = ["per", "spec", "extends", "none", "all", "true", "false", "scenario", "task", "auto", "_"]
NUMBERS = ["0", "-1", "1e999", "99999999999999999999", ".5", "1_0", "3.0", "1e-9", "2048"]
SNIPPETS = [" per scenario: ", " per task: ", " = none ", " += ", "\nz = mlp(x, units=[8])\n", " stage s { } ",
            "\ngraph { }\n", ' extends "nowhere.msd" ', "[", "]", "(", ")", "{", "}", "0.1 * ", " , "]


# Renaming and retyping values reach the semantic passes (most other mutations end at the parser): weigh them up.
OPS = st.sampled_from([0, 1, 2, 3, 4, 4, 4, 4, 5, 5, 5, 6, 7, 8, 8, 9, 10, 11])


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


def _near_miss(word: str, draw) -> str:
    kind = draw(st.integers(0, 5))
    i = draw(st.integers(0, max(0, len(word) - 1)))
    if kind == 0:
        return word[:i] + word[i + 1:] or "x"
    if kind == 1:
        return word[:i] + draw(st.sampled_from("abcdexyz_09")) + word[i:]
    if kind == 2 and len(word) > 1:
        i = min(i, len(word) - 2)
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 3:
        return word.upper() if word.islower() else word.lower()
    return draw(st.sampled_from(KEYWORDS))


@st.composite
def mutated(draw) -> tuple[Path, str]:
    path = draw(st.sampled_from(EXAMPLES))
    toks = tokens(TEXTS[path])
    for _ in range(draw(st.integers(1, 4))):
        op = draw(OPS)
        n = len(toks)
        i = draw(st.integers(0, max(0, n - 1)))
        j = draw(st.integers(0, max(0, n - 1)))
        if n == 0:
            toks = [draw(st.sampled_from(PUNCT + SNIPPETS))]
        elif op == 0:  # delete a token
            del toks[i]
        elif op == 1:  # duplicate a token
            toks.insert(i, toks[i])
        elif op == 2:  # swap two tokens
            toks[i], toks[j] = toks[j], toks[i]
        elif op == 3:  # move a token elsewhere
            toks.insert(j, toks.pop(i))
        elif op == 4:  # an identifier becomes a near miss, another name of the spec, or a keyword
            names = [k for k, t in enumerate(toks) if IDENT.match(t)]
            if names:
                k = names[i % len(names)]
                toks[k] = (_near_miss(toks[k], draw) if draw(st.booleans())
                           else toks[names[j % len(names)]])
        elif op == 5:  # numbers become strings or other numbers; strings lose their quotes
            values = [k for k, t in enumerate(toks) if NUMBER.match(t) or t.startswith('"')]
            if values:
                k = values[i % len(values)]
                t = toks[k]
                toks[k] = t[1:-1] if t.startswith('"') else (f'"{t}"' if draw(st.booleans())
                                                             else draw(st.sampled_from(NUMBERS)))
        elif op == 6:  # insert punctuation or an odd character
            toks.insert(i, draw(st.sampled_from(PUNCT)))
        elif op == 7:  # insert a snippet of the language
            toks.insert(i, draw(st.sampled_from(SNIPPETS)))
        elif op == 8:  # insert a copy of another token of the spec
            toks.insert(i, toks[j])
        elif op in (9, 10):  # delete or duplicate a character
            text = "".join(toks)
            k = draw(st.integers(0, max(0, len(text) - 1)))
            text = text[:k] + text[k + 1:] if op == 9 else text[:k] + text[k: k + 1] + text[k:]
            toks = tokens(text)
        else:  # delete or repeat a line
            lines = "".join(toks).split("\n")
            k = i % len(lines)
            lines[k: k + 1] = [] if draw(st.booleans()) else [lines[k], lines[k]]
            toks = tokens("\n".join(lines))
    return path, "".join(toks)


def assert_clean(d: Diagnostic) -> None:
    assert d.code and d.message
    assert d.span is not None, d.render()
    for span in [d.span, *(lab.span for lab in d.labels)]:
        text = span.source.text
        assert 0 <= span.start <= span.end <= len(text), (d.code, span.start, span.end, len(text))
        assert 1 <= span.line <= text.count("\n") + 1 and span.column >= 1
    d.render()


def compile_cleanly(path: Path, text: str) -> None:
    try:
        ir = compiler.check_text(text, path)
    except CompileError as err:
        assert err.diagnostics, "a CompileError without diagnostics"
        for d in err.diagnostics:
            assert_clean(d)
        str(err)
    else:
        dump(ir)
        to_json(ir)
        for w in ir.warnings:
            assert_clean(w)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(REPO)))
def test_examples_compile(path):
    compiler.check_text(TEXTS[path], path)


def test_tokens_round_trip():
    for path, text in TEXTS.items():
        assert "".join(tokens(text)) == text, path


@settings(max_examples=CASES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_examples_never_raise_anything_but_compile_error(case):
    compile_cleanly(*case)


FRAGMENTS = PUNCT + KEYWORDS + NUMBERS + SNIPPETS + [
    "spec a", " ", "graph", "features", "train", "objective", "stage", "mlp(", "head(", "embed(", "x", "h", "ctr",
    "categorical()", 'binary(label="c")', "units=[8]", "task=ctr", "scenarios=[s0]"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join))
def test_random_text_never_raises_anything_but_compile_error(text):
    compile_cleanly(Path("random.msd"), text)
