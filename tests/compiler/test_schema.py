"""`compiler/schema.py`: typed parameter schemas, binding calls against them, registries, "did you mean"."""

from __future__ import annotations

import pytest

from compiler.blocks import BLOCKS
from compiler.catalog import OPTIMIZERS, SCHEDULES
from compiler.diagnostics import Reporter, did_you_mean, edit_distance
from compiler.parse import parse_text
from compiler.schema import (
    BOOL, CATEGORIES, FLOAT, INT, REF, STR, Bound, Param, Range, Ref, Registry, Schema, call_of, enum, list_of,
    one_of,
)
from compiler_test_support import check, error, minimal_spec


def call(src: str):
    """The call expression `src`, parsed in a throwaway spec."""
    return parse_text(f"spec a x {{ v = {src} }}").items[0].items[0].value


def bind(schema: Schema, src: str):
    report = Reporter()
    out = schema.bind(call(src), report, "`f`")
    return out, report.diagnostics


MLP = Schema(Param("x", REF), Param("units", list_of(INT, 1), doc="layer sizes"),
             Param("activation", enum("relu", "gelu"), "relu"), Param("dropout", FLOAT, 0.0))
CONCAT = Schema(Param("inputs", REF, variadic=True), Param("axis", INT, -1))
FILES = Schema(Param("paths", STR, variadic=True), Param("format", enum("csv", "parquet"), "csv"))


# ---------------------------------------------------------------- did you mean

@pytest.mark.parametrize("word,candidates,hint", [
    ("prce", ["price", "user"], "price"),
    ("mpl", ["mlp", "ple", "moe"], "mlp"),          # a swap of neighbours is one edit
    ("sceanrio", ["scenario", "task"], "scenario"),
    ("optimzer", ["optimizer", "batch"], "optimizer"),
    ("PRICE", ["price"], "price"),
    ("dimm", ["dim", "column"], "dim"),
    ("learning_rte", ["learning_rate", "lr"], "learning_rate"),
    ("s9", ["s0", "s1"], None),                     # too short to guess
    ("x", ["a", "b"], None),
    ("zzzz", ["price", "user"], None),
    ("abc", [], None),
])
def test_did_you_mean(word, candidates, hint):
    assert did_you_mean(word, candidates) == (f"did you mean `{hint}`?" if hint else "")


def test_did_you_mean_is_deterministic_on_ties():
    assert did_you_mean("cat", ["cap", "car"]) == did_you_mean("cat", ["car", "cap"]) == "did you mean `cap`?"


def test_edit_distance():
    assert edit_distance("", "abc") == 3 and edit_distance("abc", "abc") == 0
    assert edit_distance("ab", "ba") == 1 and edit_distance("mpl", "mlp") == 1
    assert edit_distance("kitten", "sitting") == 3


# ---------------------------------------------------------------- binding

def test_positional_then_keyword_binding_with_defaults_and_spans():
    out, ds = bind(MLP, "mlp(h, [8, 4], dropout=0.5)")
    assert ds == []
    spans = out.pop("__spans__")
    assert out == {"x": Ref("h", out["x"].span), "units": [8, 4], "activation": "relu", "dropout": 0.5}
    assert spans["x"].text == "h" and spans["units"].text == "[8, 4]" and spans["units[1]"].text == "4"
    assert "activation" not in spans  # defaults have no span


def test_float_params_accept_integers_and_negatives():
    out, ds = bind(MLP, "mlp(h, [8], dropout=1)")
    assert ds == [] and out["dropout"] == 1.0 and isinstance(out["dropout"], float)
    out, ds = bind(Schema(Param("v", FLOAT)), "f(-0.25)")
    assert out["v"] == -0.25


def test_variadic_takes_every_positional():
    out, ds = bind(CONCAT, "concat(a, b, c, axis=0)")
    assert ds == [] and [r.name for r in out["inputs"]] == ["a", "b", "c"] and out["axis"] == 0
    assert out["__spans__"]["inputs"].text == "a"
    out, ds = bind(FILES, 'files("a.csv", "b/*.csv")')
    assert out["paths"] == ["a.csv", "b/*.csv"] and out["format"] == "csv"
    out, ds = bind(CONCAT, "concat(inputs=a)")
    assert [r.name for r in out["inputs"]] == ["a"]


def test_variadic_items_are_each_type_checked():
    out, ds = bind(FILES, 'files("a.csv", 3, "c")')
    assert out is None and [(d.code, d.span.text) for d in ds] == [("E0105", "3")]


def test_too_many_positional():
    out, ds = bind(MLP, "mlp(h, [8], relu, 0.1, 7, 8)")
    assert out is None
    assert [(d.code, d.span.text) for d in ds] == [("E0102", "7"), ("E0102", "8")]
    assert ds[0].help == "`f` takes: x, units, activation, dropout"


def test_given_twice_by_keyword_and_by_position():
    _, ds = bind(MLP, "mlp(h, units=[8], units=[4])")
    assert [(d.code, d.span.text, d.labels[0].span.text) for d in ds] == [("E0103", "units", "units=[8]")]
    _, ds = bind(MLP, "mlp(h, units=[8], [4])")
    assert [(d.code, d.span.text) for d in ds] == [("E0103", "[4]")]
    _, ds = bind(MLP, "mlp(h, [8], x=g)")
    assert [(d.code, d.span.text) for d in ds] == [("E0103", "x")]
    _, ds = bind(CONCAT, "concat(a, inputs=b)")
    assert [d.code for d in ds] == ["E0103"]


def test_unknown_parameter():
    _, ds = bind(MLP, "mlp(h, [8], dropuot=0.1)")
    assert [(d.code, d.span.text, d.help) for d in ds] == [("E0101", "dropuot", "did you mean `dropout`?")]
    _, ds = bind(MLP, "mlp(h, [8], zzz=1)")
    assert ds[0].help == "`f` takes: x, units, activation, dropout"


def test_missing_parameter_points_at_the_callee():
    _, ds = bind(MLP, "mlp(h)")
    assert [(d.code, d.span.text, d.help) for d in ds] == [("E0104", "mlp", "`units`: layer sizes")]


def test_misspelt_required_parameter_is_reported_once():
    _, ds = bind(MLP, "mlp(h, unit=[8])")
    assert [d.code for d in ds] == ["E0101"]


def test_type_errors_point_at_the_culprit():
    _, ds = bind(MLP, 'mlp(h, [8, "4"], activation=gelux)')
    assert [(d.code, d.span.text, d.label) for d in ds] == [
        ("E0105", '"4"', "expected an integer"), ("E0105", "gelux", "expected one of `relu`, `gelu`")]
    assert ds[0].message == "parameter `units` of `f` must be a non-empty list of integers"
    assert ds[0].help == "layer sizes" and ds[1].help == "did you mean `gelu`?"
    _, ds = bind(MLP, "mlp(h, [])")
    assert [(d.span.text, d.label) for d in ds] == [("[]", "expected a non-empty list of integers")]
    _, ds = bind(MLP, "mlp(3, [1])")
    assert [(d.span.text, d.label) for d in ds] == [("3", "expected a name")]


@pytest.mark.parametrize("typ,src,ok,value", [
    (INT, "3", True, 3), (INT, "3.0", False, None), (INT, "true", False, None), (INT, "-2", True, -2),
    (FLOAT, "1e-3", True, 0.001), (FLOAT, '"1"', False, None),
    (STR, '"a"', True, "a"), (STR, "a", False, None),
    (BOOL, "true", True, True), (BOOL, "false", True, False), (BOOL, "1", False, False),
    (REF, "a", True, "a"), (REF, "a(b)", False, None),
    (enum("x", "y"), "y", True, "y"), (enum("x", "y"), '"y"', False, None),
    (list_of(INT), "[]", True, []), (list_of(INT, 1), "[]", False, None), (list_of(REF), "[a, b]", True, ["a", "b"]),
    (one_of(INT, STR), '"a"', True, "a"), (one_of(BOOL, enum("auto")), "auto", True, "auto"),
])
def test_types(typ, src, ok, value):
    got_ok, got = typ.convert(call(f"f({src})").args[0].value)
    assert got_ok == ok
    if ok:
        plain = [getattr(v, "name", v) for v in got] if isinstance(got, list) else getattr(got, "name", got)
        assert plain == value


RANGED = Schema(Param("units", list_of(INT, 1).within("[1, 4096]")), Param("dropout", FLOAT.within("[0, 1)"), 0.0),
                Param("lr", FLOAT, 1e-3))


@pytest.mark.parametrize("src,code,culprit,label,help", [
    ("f([8, 0])", "E0106", "0", "outside [1, 4096]", "must be in [1, 4096], not 0"),
    ("f([8], dropout=1)", "E0106", "1", "outside [0, 1)", "must be in [0, 1), not 1"),
    ("f([8], dropout=-0.5)", "E0106", "-0.5", "outside [0, 1)", "must be in [0, 1), not -0.5"),
    ("f([8], dropout=1e999)", "E0106", "1e999", "not a finite number", "write a number in [0, 1)"),
    ("f([8], lr=1e999)", "E0106", "1e999", "not a finite number", ""),  # no declared range: finite still
    ("f([8, 1e999])", "E0105", "1e999", "expected an integer", ""),
])
def test_ranges_reject_values_outside_them_with_a_caret_on_the_value(src, code, culprit, label, help):
    _, ds = bind(RANGED, src)
    assert [(d.code, d.span.text, d.label, d.help) for d in ds] == [(code, culprit, label, help)]


def test_ranges_accept_their_bounds_and_keep_list_lengths():
    out, ds = bind(RANGED, "f([1, 4096], dropout=0, lr=-3)")
    assert not ds and out["units"] == [1, 4096] and out["dropout"] == 0.0
    assert RANGED.params[0].type.min_len == 1 and str(RANGED.params[0].type.item.range) == "[1, 4096]"


@pytest.mark.parametrize("text,inside,outside", [
    ("[0, 1)", [0, 0.5, 0.999], [-1e-9, 1, float("nan"), float("inf")]),
    ("(0, inf)", [1e-300, 1e308], [0, -1, float("inf")]),
    ("[1, 2**31]", [1, 2**31], [0, 2**31 + 1]),
    ("[-1, 1]", [-1, 0, 1], [-1.5, 2]),
])
def test_range_intervals(text, inside, outside):
    r = Range.parse(text)
    assert all(r.contains(v) for v in inside) and not any(r.contains(v) for v in outside)
    assert str(Range.parse(str(r))) == str(r)


@pytest.mark.parametrize("bad", ["0, 1", "[1, 0]", "[a, 1)", "(0 1)"])
def test_range_syntax_errors_are_loud(bad):
    with pytest.raises(ValueError):
        Range.parse(bad)


def test_type_names():
    assert enum("auto").name == "`auto`" and one_of(BOOL, enum("auto")).name == "`true` or `false` or `auto`"
    assert list_of(enum("a", "b"), 1).name == "a non-empty list drawn from `a`, `b`"
    assert list_of(FLOAT).name == "a list of numbers" and call_of(OPTIMIZERS).name == "a call of optimizer"
    assert one_of(BOOL, enum("auto")).choices == ("auto",)


# ---------------------------------------------------------------- registries and nested calls

def test_registry_binds_nested_calls_recursively():
    things = Registry("thing")
    things.register("opt", Param("lr", FLOAT, 0.1), Param("schedule", call_of(SCHEDULES), None))(lambda: None)
    report = Reporter()
    bound = things.bind(call("opt(lr=0.5, schedule=cosine(warmup=10))"), report)
    assert report.diagnostics == []
    assert isinstance(bound, Bound) and bound.kind == "opt" and bound.spans["lr"].text == "0.5"
    sched = bound.params["schedule"]
    assert isinstance(sched, Bound) and sched.kind == "cosine" and sched.params == {"warmup": 10, "min_lr": 0.0}
    bound = things.bind(call("opt(schedule=cosin(warmup=10))"), report)
    assert [(d.code, d.help) for d in report.diagnostics] == [("E0201", "did you mean `cosine`?")]


def test_registry_rejects_unknown_names_and_double_registration():
    things = Registry("item")
    things.register("a")(lambda: None)
    with pytest.raises(ValueError):
        things.register("a")(lambda: None)
    report = Reporter()
    assert things.bind(call("b()"), report) is None
    (d,) = report.diagnostics
    assert (d.code, d.message, d.label, d.help) == ("E0201", "unknown item `b`", "not an item", "known: a")


def test_nested_optimizer_calls_in_train_stages_and_groups():
    graph = "h = mlp(embed(all), units=[8])\n  out = head(h, task=ctr)"
    ir = check(minimal_spec(graph, extra="train {\n  optimizer = adam(lr=0.01, betas=[0.8, 0.9])\n"
                                          "  stage s { optimizer = sgd(0.1, 0.0, 0.9) }\n"
                                          "  group g { nodes = [h]  optimizer = adagrad() }\n}\n"))
    opt = ir.settings["train"]["optimizer"]
    assert (opt.kind, opt.params) == ("adam", {"lr": 0.01, "weight_decay": 0.0, "betas": [0.8, 0.9]})
    assert ir.stages[0]["optimizer"].params == {"lr": 0.1, "weight_decay": 0.0, "momentum": 0.9}
    assert ir.groups[0]["optimizer"].kind == "adagrad"
    d = error(minimal_spec(graph, extra="train { optimizer = adam(lrr=0.01) }\n"))
    assert (d.code, d.message, d.help) == (
        "E0101", "unknown parameter `lrr` for optimizer `adam`", "did you mean `lr`?")
    d = error(minimal_spec(graph, extra="train { optimizer = 0.01 }\n"))
    assert (d.code, d.message) == ("E0105", "`optimizer` in `train` must be a call of optimizer")
    d = error(minimal_spec(graph, extra="train { stage s { optimizer = adamm() } }\n"))
    assert (d.code, d.help) == ("E0201", "did you mean `adam`?")


# ---------------------------------------------------------------- the catalogue itself

@pytest.mark.parametrize("what", sorted(CATEGORIES))
def test_catalogue_entries_are_documented_and_well_formed(what):
    for entry in CATEGORIES[what].entries.values():
        names = entry.schema.names()
        assert len(names) == len(set(names)), entry.name
        assert entry.doc, f"{what} `{entry.name}` has no docstring"
        assert sum(p.variadic for p in entry.schema.params) <= 1, entry.name


def test_every_block_declares_inputs_and_axes():
    for entry in BLOCKS.entries.values():
        assert set(entry.meta["inputs"]) <= set(entry.schema.names()), entry.name
        assert set(entry.meta["replicate"]) <= {"scenario", "task"}, entry.name
