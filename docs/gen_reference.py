"""Write docs/reference.md from the registries: every constructor a spec can call, with its typed parameters.

    python docs/gen_reference.py            # rewrite docs/reference.md
    python docs/gen_reference.py --check    # exit 1 if docs/reference.md is out of date

The tables come from `compiler.schema.CATEGORIES` (blocks, sources, splits, features, tasks, objectives,
optimizers, …), the settings keys from `compiler.catalog`, and the objective roles from
`compiler.passes.check_roles`, so the reference cannot drift from the compiler: `tests/draw/test_docs.py` fails
when a registration changed and this script was not rerun.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import compiler.passes  # noqa: F401  (imports every registration the checker uses)
from compiler import catalog
from compiler.passes.check_roles import ROLES
from compiler.schema import CATEGORIES, REQUIRED, STR, Param, Registry, Type

OUT = Path(__file__).resolve().parent / "reference.md"

# Where each category is used in a spec, in the order the reference lists them; a category registered later
# that is not named here is appended with a generic heading.
USES = {
    "block": ("Blocks", "graph nodes: `name = block(…)`, `name = per scenario: block(…)`, "
                        "`name = per task: block(…)`"),
    "data source": ("Data sources", "`data { source = … }`"),
    "split": ("Splits", "`data { split = … }`"),
    "scenario declaration": ("Scenarios", "`scenarios { name = scenario(…) }`"),
    "feature type": ("Feature types", "`features { name = … }`"),
    "task type": ("Task types", "`tasks { name = … }`"),
    "objective": ("Objectives", "terms of `objective { name = w * term(…) + … }`"),
    "optimizer": ("Optimizers", "`train { optimizer = … }`, and in `stage` and `group` blocks"),
    "schedule": ("Schedules", "`train { schedule = … }`, and in `stage` blocks"),
    "stopping rule": ("Stopping rules", "`train { early_stop = … }`, and in `stage` blocks"),
}


def _type(t: Type, variadic: bool = False) -> str:
    name = t.name.removeprefix("a ").removeprefix("an ")
    return f"{name}, … (every remaining positional argument)" if variadic else name


def _default(p: Param) -> str:
    value = p.default
    if value is REQUIRED:
        return "**required**"
    if value is None or (p.variadic and value == []):
        return "—"
    return f"`{_literal(value, p.type)}`"


def _literal(value, typ: Type | None = None) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"' if typ is STR else value
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int) and value >= 10_000:
        return f"{value:_}"
    return str(value)


def _markdown(text: str) -> str:
    """A docstring as Markdown: `*` outside code spans is literal (W*_p), not emphasis."""
    parts = text.split("`")
    return "`".join(p if i % 2 else p.replace("*", "\\*") for i, p in enumerate(parts))


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def _params_table(params: tuple[Param, ...]) -> list[str]:
    if not params:
        return ["No parameters."]
    out = ["| parameter | type | default | meaning |", "| --- | --- | --- | --- |"]
    for p in params:
        out.append(f"| `{p.name}` | {_cell(_type(p.type, p.variadic))} | {_default(p)} | {_cell(_markdown(p.doc))} |")
    return out


def _meta_line(category: str, meta: dict) -> str | None:
    if category == "block":
        inputs = ", ".join(f"`{i}`" for i in meta["inputs"]) or "none"
        replicate = " or ".join(f"`per {a}:`" for a in meta["replicate"]) or "no (it decides its own axes)"
        aware = "yes: holds per-scenario parameters itself" if meta["scenario_aware"] else "no"
        return f"Reads (graph edges): {inputs} · replicable: {replicate} · scenario-aware: {aware}"
    if category == "objective":
        roles = ", ".join(f"`{param}` must be {ROLES[role][1]} (`{role}`)" for param, role in meta["roles"].items())
        return f"Roles: {roles}" if roles else None
    return None


def _entry(category: str, name: str, registry: Registry) -> list[str]:
    entry = registry.entries[name]
    out = [f"### `{name}`", ""]
    if entry.doc:
        out += [_markdown(inspect.cleandoc(entry.doc)), ""]
    meta = _meta_line(category, entry.meta)
    if meta:
        out += [meta, ""]
    out += _params_table(entry.schema.params) + [""]
    return out


def _settings() -> list[str]:
    out = ["## Settings", "",
           "Keys of the settings sections and of the nested `stage NAME { … }` / `group NAME { … }` blocks of "
           "`train`. A key that is not set takes its default.", ""]
    tables = [(f"`{section}`", keys, catalog.DEFAULTS.get(section, {})) for section, keys in catalog.SETTINGS.items()]
    tables += [(f"`{section} {{ {block} NAME {{ … }} }}`", keys, {})
               for (section, block), keys in catalog.NESTED.items()]
    for title, keys, defaults in tables:
        out += [f"### {title}", "", "| key | type | default |", "| --- | --- | --- |"]
        for key, typ in keys.items():
            default = defaults.get(key)
            shown = "—" if default is None else f"`{_literal(default, typ)}`"
            out.append(f"| `{key}` | {_cell(_type(typ))} | {shown} |")
        out.append("")
    return out


def render() -> str:
    order = [c for c in USES if c in CATEGORIES] + [c for c in CATEGORIES if c not in USES]
    out = [
        "<!-- Generated by docs/gen_reference.py from the compiler's registries. Do not edit by hand: run",
        "     `python docs/gen_reference.py` after adding or changing a block, objective or other constructor. -->",
        "",
        "# msdsl reference",
        "",
        "Every constructor a spec can call, with its typed parameters. Arguments are given by name (`units=[64]`) "
        "or by position in the order of the table; unknown, missing, repeated and mistyped arguments are errors "
        "(E0101–E0105). The language itself is described in [language.md](language.md).",
        "",
        "## Contents",
        "",
        "- [Settings](#settings)",
    ]
    for category in order:
        title = USES.get(category, (category.capitalize(),))[0]
        names = ", ".join(f"`{n}`" for n in CATEGORIES[category].entries)
        out.append(f"- [{title}](#{title.lower().replace(' ', '-')}): {names}")
    out.append("- [Objective roles](#objective-roles)")
    out.append("")
    out += _settings()
    for category in order:
        title, used = USES.get(category, (category.capitalize(), f"a call of {category}"))
        out += [f"## {title}", "", f"Used in {used}.", ""]
        for name in CATEGORIES[category].entries:
            out += _entry(category, name, CATEGORIES[category])
    out += ["## Objective roles", "",
            "`passes/check_roles.py` checks that every node an objective reads plays the role the objective "
            "declares (error E0320).", "", "| role | the node must be |", "| --- | --- |"]
    out += [f"| `{role}` | {needs} |" for role, (_, needs) in ROLES.items()]
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUT.is_file() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is out of date: run `python docs/gen_reference.py`", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
