"""The table that names syntax errors: each label is matched against the parser state of example bad specs.

A syntax error in a user's spec gets the label of the example that fails in the same parser state
(`lark.UnexpectedInput.match_examples`). Add an example here when a syntax error reads badly.
"""

EXAMPLES: dict[tuple[str, str], list[str]] = {
    ("a spec starts with `spec NAME`", "write `spec my_model` on the first line"): [
        "graph { }",
        "data { source = synthetic() }",
        "spec",
    ],
    ("`extends` takes a quoted file name", 'write `extends "base.msd"`'): [
        "spec a extends base",
        "spec a extends",
    ],
    ("missing value after `=`", "give the statement a value, e.g. `h = mlp(x, units=[64])`"): [
        "spec a graph { h = }",
        "spec a train { batch += }",
    ],
    ("`=` after a complete statement", "write one `name = value` per statement; keyword arguments go inside a "
     "call's parentheses"): [
        "spec a graph { h = g = mlp(x) }",
        "spec a graph { h = mlp(x) = 3 }",
    ],
    ("missing value after a keyword argument's `=`", "give the argument a value, e.g. `units=[64]`"): [
        "spec a graph { h = mlp(x=) }",
        "spec a graph { h = mlp(x=, y) }",
    ],
    ("unmatched `)`", "remove it, or open the call it closes"): [
        "spec a graph { h = mlp(x)) }",
    ],
    ("unmatched `]`", "remove it, or open the list it closes"): [
        "spec a graph { h = [1]] }",
        "spec a graph { h = mlp(x]) }",
    ],
    ("a statement needs `=` after its name", "write `name = value`"): [
        "spec a graph { h mlp(x) }",
        "spec a graph { h }",
        "spec a graph { h : mlp(x) }",
    ],
    ("unclosed `{`", "close the section with `}`"): [
        "spec a graph { h = mlp(x)",
        "spec a graph {",
    ],
    ("unclosed `(` in a call", "close the argument list with `)`"): [
        "spec a graph { h = mlp(x, units=[8] }",
        "spec a graph { h = mlp(x }",
        "spec a graph { h = mlp(",
    ],
    ("unclosed `[` in a list", "close the list with `]`"): [
        "spec a graph { h = mlp(x, units=[8, 4) }",
        "spec a graph { h = [1, 2 }",
    ],
    ("missing comma between arguments", "separate arguments with `,`"): [
        "spec a graph { h = mlp(x units=[8]) }",
        "spec a graph { h = mlp(x y) }",
        "spec a graph { h = mlp(x, units=[8] dropout=0.1) }",
        "spec a graph { h = mlp(x, units=3 dropout=0.1) }",
        "spec a graph { h = mlp(x, units=3 4) }",
        "spec a graph { h = mlp(x, units=y dropout=0.1) }",
        'spec a graph { h = mlp(x, units="y" dropout=0.1) }',
        "spec a graph { h = mlp(x, units=y(3) dropout=0.1) }",
    ],
    ("missing comma between list items", "separate list items with `,`"): [
        "spec a graph { h = mlp(x, units=[8 4]) }",
        "spec a graph { h = [a b] }",
        'spec a graph { h = ["a" "b"] }',
    ],
    ("`per` needs an axis and a colon: `per scenario:` or `per task:`", "write e.g. `per scenario: mlp(x, units=[64])`"): [
        "spec a graph { h = per scenario mlp(x) }",
        "spec a graph { h = per: mlp(x) }",
        "spec a graph { h = per }",
    ],
    ("`per AXIS:` must be followed by a block call", "write e.g. `per task: head(t)`"): [
        "spec a graph { h = per task: t }",
        "spec a graph { h = per task: 3 }",
    ],
    ("an operator is missing its right-hand side", "complete the expression, e.g. `0.1 * l2(h)`"): [
        "spec a objective { loss = 1 * }",
        "spec a objective { loss = bce(ctr) + }",
        "spec a objective { loss = 1 * * bce(ctr) }",
    ],
    ("a keyword argument needs a name before `=`", "write `name=value`"): [
        "spec a graph { h = mlp(x, =3) }",
        "spec a graph { h = mlp(3=x) }",
    ],
    ("stray `}`", "remove it, or open the section it closes"): [
        "spec a }",
        "spec a graph { } }",
    ],
    ("a section needs a name before `{`", "write e.g. `graph { … }`"): [
        "spec a { }",
    ],
}

# Lexer errors are named by the character, not by parser state.
UNTERMINATED = ("unterminated string", 'close the string with `"` on the same line')
STRAY_CHARACTER = ("this character is not part of the language", "remove it; comments start with `#`")
