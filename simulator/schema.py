"""`simulator schema infra|finance`: a scenario reference generated from the pydantic models.

Every key with its type, default, allowed values and description, one section per nested
model, plus the rules checked across keys. `docs/` holds the generated pages; a test keeps
them in sync with the models.
"""

from __future__ import annotations

import argparse
import json
import types
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

DOCS = {"infra": "docs/infra-scenario.md", "finance": "docs/finance-config.md"}


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def type_text(annotation: Any, anchors: dict[type, str]) -> str:
    """`list[ServiceSpec] | None` -> `list of [services](#services), or null`."""
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[mapping](#{anchors[annotation]})" if annotation in anchors else "mapping"
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        return type_text(args[0], anchors)
    if origin is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (Union, types.UnionType):
        return ", or ".join(type_text(a, anchors) for a in args)
    if origin in (list, tuple):
        inner = [a for a in args if a is not Ellipsis]
        return "list of " + (type_text(inner[0], anchors) if inner else "values")
    if origin is dict:
        return f"mapping of {type_text(args[0], anchors)} to {type_text(args[1], anchors)}"
    names = {float: "number", int: "integer", str: "text", bool: "true/false", Any: "any"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def constraint_text(field: FieldInfo) -> str:
    def num(x: Any) -> str:
        return f"{x:,}" if isinstance(x, int) else f"{x:g}"

    parts = []
    for item in field.metadata:
        if isinstance(item, at.Gt):
            parts.append(f"> {num(item.gt)}")
        elif isinstance(item, at.Ge):
            parts.append(f">= {num(item.ge)}")
        elif isinstance(item, at.Lt):
            parts.append(f"< {num(item.lt)}")
        elif isinstance(item, at.Le):
            parts.append(f"<= {num(item.le)}")
        elif isinstance(item, at.MinLen):
            parts.append(f"at least {item.min_length} item{'s' if item.min_length > 1 else ''}")
        elif isinstance(item, at.MaxLen):
            parts.append(f"at most {item.max_length} items")
    return ", ".join(parts)


def default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    value = field.get_default(call_default_factory=True)
    if value is PydanticUndefined:
        return ""
    if isinstance(value, BaseModel):
        return "(all defaults)"
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return f"{len(value)} items"
    try:
        return f"`{json.dumps(value, default=str)}`"
    except TypeError:
        return f"`{value}`"


def _sections(root: type[BaseModel], root_name: str) -> list[tuple[str, type[BaseModel]]]:
    """(dotted paths, model) for the root and every nested model, in first-seen order; a model
    used at several places (a default channel and the channel list) is one section."""
    paths: dict[type[BaseModel], list[str]] = {root: [root_name]}
    queue = [root]
    while queue:
        model = queue.pop(0)
        path = paths[model][0]
        for name, field in model.model_fields.items():
            for sub in _models_in(field.annotation):
                args = (field.annotation, *get_args(field.annotation))
                if any(get_origin(a) in (list, tuple) for a in args):
                    suffix = "[i]"
                elif any(get_origin(a) is dict for a in args):
                    suffix = ".<name>"
                else:
                    suffix = ""
                here = f"{name}{suffix}" if path == root_name else f"{path}.{name}{suffix}"
                if sub not in paths:
                    paths[sub] = [here]
                    queue.append(sub)
                elif here not in paths[sub]:
                    paths[sub].append(here)
    return [(", ".join(found), model) for model, found in paths.items()]


def _anchor(path: str) -> str:
    """GitHub's heading anchor: lower case, spaces to '-', punctuation dropped."""
    return "".join(c for c in path.lower().replace(" ", "-") if c.isalnum() or c in "-_")


def _clean(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def reference(root: type[BaseModel], title: str, intro: str, rules: list[str]) -> str:
    """The Markdown reference of `root` and every model nested in it."""
    sections = _sections(root, "top level")
    anchors = {model: _anchor(path) for path, model in sections}
    lines = [f"# {title}", "", intro, ""]
    lines += ["<!-- generated by `simulator schema`: edit the models, then regenerate -->", ""]
    for path, model in sections:
        lines += [f"## {path}", ""]
        if model.__doc__ and model.__doc__ is not BaseModel.__doc__:
            lines += [_clean(model.__doc__), ""]
        lines += ["| key | type | default | allowed | description |", "|---|---|---|---|---|"]
        for name, field in model.model_fields.items():
            description = _clean(field.description or "")
            row = [f"`{name}`", type_text(field.annotation, anchors), default_text(field)]
            row += [constraint_text(field), description]
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    if rules:
        lines += ["## Checked across keys", ""] + [f"- {rule}" for rule in rules] + [""]
    return "\n".join(lines)


def infra_reference() -> str:
    from .infra.scenario import MAX_EVENTS, InfraScenario

    rules = [
        "Every service named in `depends_on`, `citizens[i].uses`, `agencies[i].services` and "
        "`stressors[i].services` exists; `stressors[i].warn` names citizen groups.",
        "Ids are non-empty, without commas, quotes or line breaks, and unique across services, "
        "citizens, agencies, stressors and the policy maker (a group of `count` citizens takes "
        "the ids `<id>_0` .. `<id>_<count-1>`).",
        "`depends_on` has no cycle (a service cannot depend on itself, directly or not).",
        "Per service: `recover_below <= overload_at <= fail_at` and `fail_resource <= recover_resource`; "
        "per flood: `tick <= duration`.",
        "`max_queue: 0` is a loss system: a request finding every server busy is refused.",
        f"`max_events` (default {MAX_EVENTS:,}) bounds a run: a scenario whose citizen requests at "
        "base demand, patrols, reviews, flood ticks and surges over `until` already exceed it is refused "
        "before it starts; a run that needs more events anyway (panic multiplies demand) stops with "
        "an error and writes nothing.",
        "Numbers are finite (no `.inf`, `.nan`); `true`/`false` are not numbers; a key may appear "
        "once per mapping; files are UTF-8 text.",
        "`simulator run --set PATH=VALUE` names list items by index or by id: "
        "`services.transport.capacity=4`.",
    ]
    intro = (
        "The YAML scenario of `simulator run` and `simulator batch` (the infra world). "
        "Unknown keys are errors. Generate this page with `simulator schema infra`."
    )
    return reference(InfraScenario, "Infra scenario reference", intro, rules)


def finance_reference() -> str:
    from .finance.config import FinanceConfig
    from .finance.market import ARCH_SERIES
    from .finance.strategies import RISK_PROFILES, STRATEGIES

    rules = [
        f"`strategy.name`: one of {', '.join(f'`{s}`' for s in sorted(STRATEGIES))} "
        "(`simulator finance-strategies` lists their parameters).",
        f"`strategy.risk_profile`: one of {', '.join(f'`{p}`' for p in RISK_PROFILES)}, or null.",
        f"`market.symbols`: arch series {', '.join(f'`{s}`' for s in sorted(ARCH_SERIES))}, or a "
        "name defined under `market.csv` or `market.synthetic`; no duplicates; `start <= end`.",
        "Dates are `YYYY-MM-DD`. Money is in dollars in the config, integer cents in the world.",
    ]
    intro = (
        "The YAML config of `simulator finance-run`. Unknown keys are errors. "
        "Generate this page with `simulator schema finance`."
    )
    return reference(FinanceConfig, "Finance config reference", intro, rules)


REFERENCES: dict[str, Callable[[], str]] = {"infra": infra_reference, "finance": finance_reference}


def json_schema(world: str) -> str:
    if world == "infra":
        from .infra.scenario import InfraScenario as model
    else:
        from .finance.config import FinanceConfig as model
    return json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"


def cmd_schema(args: argparse.Namespace) -> int:
    text = json_schema(args.world) if args.json else REFERENCES[args.world]()
    if args.out:
        from .runs import write_atomic

        write_atomic(args.out, text)
        print(f"wrote {args.out}")
    else:
        print(text, end="" if text.endswith("\n") else "\n")
    return 0


def register_cli(sub, commands) -> None:
    p = sub.add_parser(
        "schema",
        help="the scenario reference, generated from the models (Markdown or JSON Schema)",
        description="Print every scenario key with its type, default, allowed values and "
        "description, generated from the pydantic models that validate scenarios.",
    )
    p.add_argument("world", choices=sorted(REFERENCES), help="infra (simulator run) or finance (finance-run)")
    p.add_argument("--json", action="store_true", help="print the JSON Schema instead of Markdown")
    pages = ", ".join(DOCS.values())
    p.add_argument("--out", help=f"write to this file instead of stdout (the docs: {pages})")
    p.set_defaults(handler=cmd_schema)
    commands["schema"] = cmd_schema


def check_docs(root: str | Path) -> list[str]:
    """The docs pages that differ from what the models generate now (for the test)."""
    return [page for world, page in DOCS.items() if (Path(root) / page).read_text() != REFERENCES[world]()]
