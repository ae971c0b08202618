"""JSON Logic with the semantics of OttoChain's engine (Metakit's JLVM).

Facts followed (from the platform's documentation and engine, not from jsonlogic.com):

- Parsing: `{}` is an empty map; `{"var": ...}` (or `{"": ...}`) reads a variable; an object
  with ONE key that is a known operator is an operator call; any other object is a map
  literal whose values are evaluated (this is how effects build new state); an array whose
  first element is an operator tag is an operator call (`["+", 1, 2]`).
- Truthiness: null, false, 0, 0.0, "", [] and {} are falsy (an empty map is falsy, unlike JS).
- Integers and floats are distinct: `{"===": [1, 1.0]}` is false, `{"/": [7, 2]}` is 3.
- `===` is strict and structural for arrays and maps; `==` coerces (`0 == ""` is true).
- `merge` merges maps (later keys win) as well as concatenating arrays.
- `and`/`or` receive evaluated arguments (no short-circuit); `if` is lazy.
- Callbacks (`map`, `filter`, `reduce`, `all`, `some`, `none`, `find`, `count`) see the
  element as extra context merged over the variables; `reduce` sees `current`/`accumulator`.
- `let`: `{"let": [[[name, expr], ...], body]}`, sequential bindings visible to `var`.
- `cat` takes primitives only (null is ""); arrays are an error.

Documented extensions (switch with `extensions=False`), used by the OttoChain SDK and domain
definitions but absent from the engine: `size` (length of an array, map or string),
`getKey`/`setKey`/`deleteKey` (map access and copy-on-write update), `cat` over arrays
(concatenation) and the `$timestamp` variable. With extensions off they are reported as
gaps by `check`, naming the operator and where it appears.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

# operator tags the engine knows (crypto verifiers listed so they are reported, not mistaken
# for map literals)
ENGINE_OPS = frozenset(
    """noop if default let ! !! or and == === != !== < <= > >= + - * / % max min abs round floor
    ceil pow map filter reduce merge all some none find count in intersect unique slice reverse
    flatten cat substr lower upper join split trim startsWith endsWith values keys get has entries
    set unset length exists missing missing_some typeof""".split()
)
NOT_SIMULATED = frozenset(
    """hex_to_int poseidon pmt_verify schnorr_verify smt_verify mpt_verify mpt_prefix_verify
    bn254_add bn254_mul bn254_pairing ecvrf_verify groth16_verify bls_verify bls_aggregate_verify
    prove_dlog_verify prove_dhtuple_verify sigma_verify""".split()
)
# standard jsonlogic.com operators the engine does not provide
STANDARD_MISSING = frozenset({"?:", "log"})
EXTENSION_OPS = frozenset({"size", "getKey", "setKey", "deleteKey"})
EXTENSION_VARS = frozenset({"$timestamp"})
CALLBACK_OPS = frozenset({"map", "filter", "reduce", "all", "some", "none", "find", "count"})


class JsonLogicError(ValueError):
    """An expression that cannot be evaluated; names the operator and where it appears."""

    def __init__(self, message: str, op: str = "", where: str = "") -> None:
        self.op = op
        self.where = where
        text = message if not where else f"{where}: {message}"
        super().__init__(text)


def known_ops(extensions: bool = True) -> frozenset[str]:
    return ENGINE_OPS | EXTENSION_OPS if extensions else ENGINE_OPS


def op_of(expr: Any, extensions: bool = True) -> str | None:
    """The operator an expression applies (`var` for variables), or None for literals."""
    if isinstance(expr, dict) and len(expr) == 1:
        key = next(iter(expr))
        if key in ("var", ""):
            return "var"
        if key in known_ops(extensions):
            return key
    if isinstance(expr, list) and expr and isinstance(expr[0], str):
        if expr[0] == "var" or expr[0] in known_ops(extensions):
            return expr[0]
    return None


def _args(expr: Any, op: str) -> list[Any]:
    raw = expr[op] if isinstance(expr, dict) else expr[1:]
    if isinstance(expr, list):
        return list(raw)
    return list(raw) if isinstance(raw, list) else [raw]


# -- static checks ---------------------------------------------------------------------------
def check(expr: Any, where: str, extensions: bool = True) -> None:
    """Raise JsonLogicError for an operator this engine cannot run, naming it and its path."""
    if isinstance(expr, list):
        op = op_of(expr, extensions)
        items = expr[1:] if op else expr
        offset = 1 if op else 0
        for i, item in enumerate(items):
            check(item, f"{where}[{i + offset}]", extensions)
        return
    if not isinstance(expr, dict):
        return
    if len(expr) == 1:
        key, value = next(iter(expr.items()))
        _check_key(key, where, extensions)
        if key in ("var", ""):
            if isinstance(value, str) and not extensions:
                head = value.split(".")[0]
                if head in EXTENSION_VARS:
                    raise JsonLogicError(
                        f"variable {head!r} is an SDK extension the OttoChain engine does not provide",
                        "var",
                        where,
                    )
            if isinstance(value, dict | list):
                check(value, f"{where}.var", extensions)
            return
        if key in known_ops(extensions):
            for i, arg in enumerate(value if isinstance(value, list) else [value]):
                check(arg, f"{where}.{key}[{i}]", extensions)
            return
    for key, value in expr.items():
        check(value, f"{where}.{key}", extensions)


def _check_key(key: str, where: str, extensions: bool) -> None:
    if key in NOT_SIMULATED:
        raise JsonLogicError(f"operator {key!r} (a cryptographic verifier) is not simulated", key, where)
    if key in STANDARD_MISSING:
        raise JsonLogicError(
            f"operator {key!r} is standard JSON Logic but not supported by the OttoChain engine", key, where
        )
    if key in EXTENSION_OPS and not extensions:
        raise JsonLogicError(
            f"operator {key!r} is an SDK extension the OttoChain engine does not provide "
            "(it would be read as a map literal); enable extensions to run it",
            key,
            where,
        )


def is_logic(expr: Any, extensions: bool = True) -> bool:
    """Whether `expr` can stand as a guard: a boolean, or an operator call."""
    return isinstance(expr, bool) or op_of(expr, extensions) is not None


# -- values ------------------------------------------------------------------------------------
def truthy(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, bool):
        return True
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return False


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def to_number(v: Any, op: str = "") -> int | float:
    """Numeric promotion: bool -> 0/1, null and "" -> 0, numeric strings parsed, [x] -> x."""
    if isinstance(v, bool):
        return int(v)
    if _is_num(v):
        return v
    if v is None:
        return 0
    if isinstance(v, str):
        text = v.strip()
        if text == "":
            return 0
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                raise JsonLogicError(f"{op!r}: {v!r} is not a number", op) from None
    if isinstance(v, list):
        if not v:
            return 0
        if len(v) == 1:
            return to_number(v[0], op)
    raise JsonLogicError(f"{op!r}: cannot use {type_name(v)} as a number", op)


def type_name(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "map"


_PLAIN = frozenset({str, int, float, bool, type(None)})


def strict_equal(a: Any, b: Any) -> bool:
    if a.__class__ is b.__class__ and a.__class__ in _PLAIN:
        return a == b  # the common case, without naming the types
    if type_name(a) != type_name(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(strict_equal(a[k], b[k]) for k in a)
    return a == b


def _primitive(v: Any, op: str) -> Any:
    if isinstance(v, list | dict):
        items = list(v.values()) if isinstance(v, dict) else v
        if not items:
            return 0
        if len(items) == 1:
            return _primitive(items[0], op)
        raise JsonLogicError(f"{op!r}: cannot compare a {type_name(v)} of {len(items)} items", op)
    return v


def loose_equal(a: Any, b: Any) -> bool:
    a, b = _primitive(a, "=="), _primitive(b, "==")
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, bool) and isinstance(b, bool):
        return a == b
    try:
        return to_number(a) == to_number(b)
    except JsonLogicError:
        return False


def _compare(a: Any, b: Any, op: str) -> int:
    if isinstance(a, str) and isinstance(b, str):
        return (a > b) - (a < b)
    x, y = to_number(a, op), to_number(b, op)
    return (x > y) - (x < y)


def _arith(values: list[Any], op: str, fn: Callable[[Any, Any], Any]) -> int | float:
    nums = [to_number(v, op) for v in values]
    out = nums[0]
    for n in nums[1:]:
        out = fn(out, n)
    return _tidy(out, nums)


def _tidy(out: Any, nums: list[Any]) -> int | float:
    """Int preservation: integer operands and a whole result stay an int."""
    if all(isinstance(n, int) for n in nums):
        if isinstance(out, int):
            return out  # arbitrary precision, as the engine's BigInt
        if float(out).is_integer():
            return int(out)
    return float(out)


# -- evaluation --------------------------------------------------------------------------------
class Evaluator:
    """Evaluates expressions against `data`; `extensions` switches the SDK extensions."""

    def __init__(self, extensions: bool = True, where: str = "") -> None:
        self.extensions = extensions
        self.where = where
        self.ops = known_ops(extensions)

    def __call__(self, expr: Any, data: Any) -> Any:
        return self.eval(expr, data, None)

    # variables
    def get_var(self, path: Any, data: Any, ctx: Any, default: Any = None) -> Any:
        key = "" if path is None else (str(path) if not isinstance(path, float) else repr(path))
        if isinstance(path, float) and path.is_integer():
            key = str(int(path))
        if key == "":
            return ctx if ctx is not None else data
        if key.endswith("."):
            return default
        if not self.extensions and key.split(".")[0] in EXTENSION_VARS:
            raise JsonLogicError(f"variable {key!r} is an SDK extension", "var", self.where)
        node = data
        if isinstance(ctx, dict) and isinstance(data, dict):
            head, _, rest = key.partition(".")  # as in {**data, **ctx}, without building it
            node = ctx[head] if head in ctx else data.get(head)
            if node is None:
                return default
            if not rest:
                return node
            key = rest
        elif isinstance(ctx, list) and isinstance(data, list):
            node = data + ctx
        elif ctx is not None and not isinstance(ctx, str | int | float | bool):
            node = ctx
        for seg in key.split("."):
            if isinstance(node, dict):
                node = node.get(seg)
            elif isinstance(node, list):
                try:
                    idx = int(seg)
                except ValueError:
                    return default
                node = node[idx] if 0 <= idx < len(node) else None
            else:
                node = None
            if node is None:
                return default
        return node

    def eval(self, expr: Any, data: Any, ctx: Any) -> Any:
        if isinstance(expr, dict):
            if not expr:
                return {}
            if len(expr) == 1:
                key, value = next(iter(expr.items()))
                if key in ("var", ""):
                    return self._var(value, data, ctx)
                if key in self.ops:
                    return self.apply(key, value if isinstance(value, list) else [value], data, ctx)
                _check_key(key, self.where, self.extensions)
            return {k: self.eval(v, data, ctx) for k, v in expr.items()}
        if isinstance(expr, list):
            if expr and isinstance(expr[0], str):
                if expr[0] == "var":
                    spec = expr[1:] if len(expr) > 2 else (expr[1] if len(expr) > 1 else "")
                    return self._var(spec, data, ctx)
                if expr[0] in self.ops:
                    return self.apply(expr[0], list(expr[1:]), data, ctx)
            return [self.eval(item, data, ctx) for item in expr]
        return expr

    def _var(self, spec: Any, data: Any, ctx: Any) -> Any:
        default = None
        if isinstance(spec, list):
            if not spec:
                return ctx if ctx is not None else data
            if len(spec) > 1:
                default = self.eval(spec[1], data, ctx)
            spec = spec[0]
        if isinstance(spec, dict | list):
            spec = self.eval(spec, data, ctx)
        return self.get_var(spec, data, ctx, default)

    def apply(self, op: str, raw: list[Any], data: Any, ctx: Any) -> Any:
        try:
            if op == "if":
                return self._if(raw, data, ctx)
            if op == "let":
                return self._let(raw, data, ctx)
            if op in CALLBACK_OPS:
                return self._callback(op, raw, data, ctx)
            args = [self.eval(a, data, ctx) if isinstance(a, dict | list) else a for a in raw]
            if op == "missing":
                return _missing(self, args, data)
            if op == "missing_some":
                _need(args, 2, op)
                return _missing_some(self, args, data)
            handler = _OPS.get(op)
            if handler is None:  # noop, or a tag without an implementation
                raise JsonLogicError(f"operator {op!r} is not supported", op)
            return handler(self, args)
        except JsonLogicError as exc:
            if not exc.where and self.where:
                raise JsonLogicError(str(exc), exc.op or op, self.where) from None
            raise
        except (TypeError, ZeroDivisionError, ValueError, IndexError, KeyError, OverflowError) as exc:
            raise JsonLogicError(f"operator {op!r} failed: {exc}", op, self.where) from None

    def _if(self, raw: list[Any], data: Any, ctx: Any) -> Any:
        if len(raw) == 0:
            return None
        i = 0
        while i + 1 < len(raw):
            if truthy(self.eval(raw[i], data, ctx)):
                return self.eval(raw[i + 1], data, ctx)
            i += 2
        return self.eval(raw[-1], data, ctx) if len(raw) % 2 == 1 else None

    def _let(self, raw: list[Any], data: Any, ctx: Any) -> Any:
        if len(raw) != 2 or not isinstance(raw[0], list):
            raise JsonLogicError("'let' expects [[[name, expr], ...], body]", "let")
        scope = dict(ctx) if isinstance(ctx, dict) else {}
        for binding in raw[0]:
            if not (isinstance(binding, list) and len(binding) == 2 and isinstance(binding[0], str)):
                raise JsonLogicError("'let' bindings are [name, expr] pairs", "let")
            scope[binding[0]] = self.eval(binding[1], data, scope)
        return self.eval(raw[1], data, scope)

    def _callback(self, op: str, raw: list[Any], data: Any, ctx: Any) -> Any:
        if len(raw) < 2:
            if op == "count" and raw:
                items = self.eval(raw[0], data, ctx)
                return len(items) if isinstance(items, list) else 0
            raise JsonLogicError(f"{op!r} expects [array, callback]", op)
        items = self.eval(raw[0], data, ctx)
        if items is None:
            items = []
        if not isinstance(items, list):
            raise JsonLogicError(f"{op!r}: expected an array, got {type_name(items)}", op)
        fn = raw[1]
        if op == "reduce":
            acc = self.eval(raw[2], data, ctx) if len(raw) > 2 else None
            for item in items:
                acc = self.eval(fn, data, {"current": item, "accumulator": acc})
            return acc
        results = [(item, self.eval(fn, data, item)) for item in items]
        if op == "map":
            return [r for _, r in results]
        if op == "filter":
            return [item for item, r in results if truthy(r)]
        if op == "all":
            return bool(results) and all(truthy(r) for _, r in results)
        if op == "some":
            need = to_number(self.eval(raw[2], data, ctx), op) if len(raw) > 2 else 1
            return sum(truthy(r) for _, r in results) >= need
        if op == "none":
            return not any(truthy(r) for _, r in results)
        if op == "find":
            return next((item for item, r in results if truthy(r)), None)
        return sum(truthy(r) for _, r in results)  # count


# -- operator table ----------------------------------------------------------------------------
def _need(args: list[Any], n: int, op: str) -> None:
    if len(args) < n:
        raise JsonLogicError(f"{op!r} expects {n} argument(s), got {len(args)}", op)


def _and(ev: Evaluator, a: list[Any]) -> Any:
    for v in a:
        if not truthy(v):
            return v
    return a[-1] if a else None


def _or(ev: Evaluator, a: list[Any]) -> Any:
    for v in a:
        if truthy(v):
            return v
    return a[-1] if a else None


def _chain(op: str, test: Callable[[int], bool]) -> Callable[[Evaluator, list[Any]], bool]:
    def run(ev: Evaluator, a: list[Any]) -> bool:
        _need(a, 2, op)
        return all(test(_compare(a[i], a[i + 1], op)) for i in range(len(a) - 1))

    return run


def _minus(ev: Evaluator, a: list[Any]) -> Any:
    _need(a, 1, "-")
    if len(a) == 1:
        return _tidy(-to_number(a[0], "-"), [to_number(a[0], "-")])
    return _arith(a[:2], "-", lambda x, y: x - y)


def _div(ev: Evaluator, a: list[Any]) -> Any:
    _need(a, 2, "/")
    x, y = to_number(a[0], "/"), to_number(a[1], "/")
    if y == 0:
        raise JsonLogicError("'/': division by zero", "/")
    if isinstance(x, int) and isinstance(y, int):
        q = abs(x) // abs(y)  # truncation toward zero, as BigInt division
        return q if (x >= 0) == (y >= 0) else -q
    return float(x / y)


def _mod(ev: Evaluator, a: list[Any]) -> Any:
    _need(a, 2, "%")
    x, y = to_number(a[0], "%"), to_number(a[1], "%")
    if y == 0:
        raise JsonLogicError("'%': modulo by zero", "%")
    return (
        _tidy(math.fmod(x, y), [x, y])
        if isinstance(x, float) or isinstance(y, float)
        else int(math.copysign(abs(x) % abs(y), x))
    )


def _flat_values(a: list[Any]) -> list[Any]:
    return a[0] if len(a) == 1 and isinstance(a[0], list) else a


def _merge(ev: Evaluator, a: list[Any]) -> Any:
    present = [v for v in a if v is not None]
    if present and all(isinstance(v, dict) for v in present):
        a = present
        out: dict[str, Any] = {}
        for v in a:
            out.update(v)
        return out
    out_list: list[Any] = []
    for v in a:
        if isinstance(v, list):
            out_list.extend(v)
        elif v is not None:
            out_list.append(v)
    return out_list


def _in(ev: Evaluator, a: list[Any]) -> bool:
    _need(a, 2, "in")
    needle, hay = a[0], a[1]
    if hay is None:
        return False
    if isinstance(hay, list):
        return any(strict_equal(needle, h) for h in hay)
    if isinstance(hay, str):
        return isinstance(needle, str) and needle in hay
    raise JsonLogicError(f"'in': expected an array or string, got {type_name(hay)}", "in")


def _text(v: Any, op: str) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v) if not v.is_integer() else f"{v:.1f}"
    if isinstance(v, list | dict):
        raise JsonLogicError(f"{op!r}: cannot concatenate a {type_name(v)}", op)
    return str(v)


def _cat(ev: Evaluator, a: list[Any]) -> Any:
    if ev.extensions and a and any(isinstance(v, list) for v in a):
        return _merge(ev, [v for v in a])  # SDK extension: cat over arrays concatenates
    return "".join(_text(v, "cat") for v in a)


def _substr(ev: Evaluator, a: list[Any]) -> str:
    _need(a, 2, "substr")
    s = _text(a[0], "substr")
    start = int(to_number(a[1], "substr"))
    if start < 0:
        start = max(len(s) + start, 0)
    if len(a) < 3:
        return s[start:]
    length = int(to_number(a[2], "substr"))
    return s[start : len(s) + length] if length < 0 else s[start : start + length]


def _slice(ev: Evaluator, a: list[Any]) -> Any:
    _need(a, 2, "slice")
    seq = a[0] if a[0] is not None else []
    if not isinstance(seq, list | str):
        raise JsonLogicError(f"'slice': expected an array or string, got {type_name(seq)}", "slice")
    start = int(to_number(a[1], "slice"))
    end = int(to_number(a[2], "slice")) if len(a) > 2 and a[2] is not None else None
    return seq[start:end]


def _missing(ev: Evaluator, a: list[Any], data: Any) -> list[Any]:
    keys = _flat_values(a)
    return [k for k in keys if ev.get_var(k, data, None) is None]


def _map_arg(v: Any, op: str) -> dict[str, Any]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise JsonLogicError(f"{op!r}: expected a map, got {type_name(v)}", op)
    return v


def _size(ev: Evaluator, a: list[Any]) -> int:
    v = a[0] if a else None
    if v is None:
        return 0
    if isinstance(v, list | dict | str):
        return len(v)
    raise JsonLogicError(f"'size': expected an array, map or string, got {type_name(v)}", "size")


def _unique(ev: Evaluator, a: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in _flat_values(a):
        if not any(strict_equal(v, o) for o in out):
            out.append(v)
    return out


def _round(v: Any) -> Any:
    x = to_number(v, "round")
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1) if isinstance(x, float) else x


def _length(ev: Evaluator, a: list[Any]) -> int:
    v = a[0] if a else None
    if isinstance(v, list | str):
        return len(v)
    raise JsonLogicError(f"'length': expected an array or string, got {type_name(v)}", "length")


def _get(ev: Evaluator, a: list[Any]) -> Any:
    _need(a, 2, "get")
    m = _map_arg(a[0], "get")
    if a[1] not in m:
        raise JsonLogicError(f"'get': key {a[1]!r} is missing", "get")
    return m[a[1]]


_OPS: dict[str, Callable[[Evaluator, list[Any]], Any]] = {
    "default": lambda ev, a: next((v for v in a if v is not None and truthy(v)), a[-1] if a else None),
    "!": lambda ev, a: not truthy(a[0] if a else None),
    "!!": lambda ev, a: truthy(a[0] if a else None),
    "and": _and,
    "or": _or,
    "==": lambda ev, a: _need(a, 2, "==") or loose_equal(a[0], a[1]),
    "!=": lambda ev, a: _need(a, 2, "!=") or not loose_equal(a[0], a[1]),
    "===": lambda ev, a: _need(a, 2, "===") or strict_equal(a[0], a[1]),
    "!==": lambda ev, a: _need(a, 2, "!==") or not strict_equal(a[0], a[1]),
    "<": _chain("<", lambda c: c < 0),
    "<=": _chain("<=", lambda c: c <= 0),
    ">": _chain(">", lambda c: c > 0),
    ">=": _chain(">=", lambda c: c >= 0),
    "+": lambda ev, a: _arith(_flat_values(a) or [0], "+", lambda x, y: x + y),
    "*": lambda ev, a: _arith(_flat_values(a) or [1], "*", lambda x, y: x * y),
    "-": _minus,
    "/": _div,
    "%": _mod,
    "max": lambda ev, a: max((to_number(v, "max") for v in _flat_values(a)), default=None),
    "min": lambda ev, a: min((to_number(v, "min") for v in _flat_values(a)), default=None),
    "abs": lambda ev, a: abs(to_number(a[0], "abs")),
    "round": lambda ev, a: _round(a[0]),
    "floor": lambda ev, a: math.floor(to_number(a[0], "floor")),
    "ceil": lambda ev, a: math.ceil(to_number(a[0], "ceil")),
    "pow": lambda ev, a: _tidy(to_number(a[0], "pow") ** min(to_number(a[1], "pow"), 999), a[:2]),
    "merge": _merge,
    "in": _in,
    "intersect": lambda ev, a: a[0] is not None and all(any(strict_equal(x, y) for y in a[1]) for x in a[0]),
    "unique": _unique,
    "slice": _slice,
    "reverse": lambda ev, a: list(reversed(_flat_values(a))),
    "flatten": lambda ev, a: [x for v in _flat_values(a) for x in (v if isinstance(v, list) else [v])],
    "cat": _cat,
    "substr": _substr,
    "lower": lambda ev, a: _text(a[0], "lower").lower(),
    "upper": lambda ev, a: _text(a[0], "upper").upper(),
    "join": lambda ev, a: _text(a[1] if len(a) > 1 else "", "join").join(_text(v, "join") for v in a[0]),
    "split": lambda ev, a: _text(a[0], "split").split(_text(a[1], "split")),
    "trim": lambda ev, a: _text(a[0], "trim").strip(),
    "startsWith": lambda ev, a: _text(a[0], "startsWith").startswith(_text(a[1], "startsWith")),
    "endsWith": lambda ev, a: _text(a[0], "endsWith").endswith(_text(a[1], "endsWith")),
    "values": lambda ev, a: list(_map_arg(a[0], "values").values()),
    "keys": lambda ev, a: list(_map_arg(a[0], "keys")),
    "get": _get,
    "has": lambda ev, a: a[1] in _map_arg(a[0], "has"),
    "entries": lambda ev, a: [[k, v] for k, v in _map_arg(a[0], "entries").items()],
    "set": lambda ev, a: {**_map_arg(a[0], "set"), str(a[1]): a[2]},
    "unset": lambda ev, a: {k: v for k, v in _map_arg(a[0], "unset").items() if k != a[1]},
    "length": _length,
    "exists": lambda ev, a: None not in _flat_values(a),
    "typeof": lambda ev, a: type_name(a[0] if a else None),
    # extensions (only reachable when enabled)
    "size": _size,
    "getKey": lambda ev, a: _map_arg(a[0], "getKey").get(str(a[1])) if len(a) > 1 else None,
    "setKey": lambda ev, a: {**_map_arg(a[0], "setKey"), str(a[1]): a[2] if len(a) > 2 else None},
    "deleteKey": lambda ev, a: {k: v for k, v in _map_arg(a[0], "deleteKey").items() if k != str(a[1])},
}


def _missing_some(ev: Evaluator, a: list[Any], data: Any) -> list[Any]:
    need, keys = int(to_number(a[0], "missing_some")), a[1]
    missing = [k for k in keys if ev.get_var(k, data, None) is None]
    return [] if len(keys) - len(missing) >= need else missing


def evaluate(expr: Any, data: Any = None, extensions: bool = True, where: str = "") -> Any:
    """Evaluate `expr` against `data` with OttoChain's semantics."""
    ev = Evaluator(extensions, where)
    return ev.eval(expr, data if data is not None else {}, None)


# -- compilation -------------------------------------------------------------------------------
Code = Callable[[Any, Any], Any]
"""A compiled expression: `code(data, ctx)` gives what `Evaluator.eval(expr, data, ctx)` gives."""
_FAILURES = (TypeError, ZeroDivisionError, ValueError, IndexError, KeyError, OverflowError)


def compile_logic(expr: Any, extensions: bool = True, where: str = "") -> Callable[[Any], Any]:
    """`expr` turned once into nested closures: `code(data)` returns (or raises) exactly what
    `Evaluator(extensions, where)(expr, data)` does, without re-reading the expression's
    structure at every evaluation. Fibers run the same guards, effects and scripts many times."""
    code = _Compiler(Evaluator(extensions, where)).node(expr)
    return lambda data: code(data, None)


class _Compiler:
    """Builds the closures; each mirrors one branch of `Evaluator.eval` (same order of
    evaluation, same errors, fresh containers for literals)."""

    def __init__(self, ev: Evaluator) -> None:
        self.ev = ev

    def node(self, expr: Any) -> Code:
        ev = self.ev
        if isinstance(expr, dict):
            if not expr:
                return lambda data, ctx: {}
            if len(expr) == 1:
                key, value = next(iter(expr.items()))
                if key in ("var", ""):
                    return self.var(value)
                if key in ev.ops:
                    return self.apply(key, value if isinstance(value, list) else [value])
                try:
                    _check_key(key, ev.where, ev.extensions)
                except JsonLogicError:
                    return _raiser(lambda: _check_key(key, ev.where, ev.extensions))
            items = [(k, self.node(v)) for k, v in expr.items()]
            return lambda data, ctx: {k: code(data, ctx) for k, code in items}
        if isinstance(expr, list):
            if expr and isinstance(expr[0], str):
                if expr[0] == "var":
                    return self.var(expr[1:] if len(expr) > 2 else (expr[1] if len(expr) > 1 else ""))
                if expr[0] in ev.ops:
                    return self.apply(expr[0], list(expr[1:]))
            codes = [self.node(item) for item in expr]
            return lambda data, ctx: [code(data, ctx) for code in codes]
        return lambda data, ctx: expr

    # variables
    def var(self, spec: Any) -> Code:
        ev = self.ev
        default: Code | None = None
        if isinstance(spec, list):
            if not spec:
                return lambda data, ctx: ctx if ctx is not None else data
            if len(spec) > 1:
                default = self.node(spec[1])
            spec = spec[0]
        if isinstance(spec, dict | list):
            path = self.node(spec)
            if default is None:
                return lambda data, ctx: ev.get_var(path(data, ctx), data, ctx, None)

            def dynamic(data: Any, ctx: Any) -> Any:
                fallback = default(data, ctx)  # first, as eval does
                return ev.get_var(path(data, ctx), data, ctx, fallback)

            return dynamic
        return self.static_var(spec, default)

    def static_var(self, path: Any, default: Code | None) -> Code:
        """`get_var` for a path known now: the key split once."""
        ev = self.ev
        key = "" if path is None else (str(path) if not isinstance(path, float) else repr(path))
        if isinstance(path, float) and path.is_integer():
            key = str(int(path))
        if key == "" or key.endswith(".") or (not ev.extensions and key.split(".")[0] in EXTENSION_VARS):
            if default is None:
                return lambda data, ctx: ev.get_var(path, data, ctx, None)
            return lambda data, ctx: ev.get_var(path, data, ctx, default(data, ctx))
        head, _, rest = key.partition(".")
        segs = [(s, _index(s)) for s in key.split(".")]
        rest_segs = [(s, _index(s)) for s in rest.split(".")] if rest else []

        def walk(node: Any, steps: list[tuple[str, int | None]], fallback: Any) -> Any:
            for seg, idx in steps:
                if isinstance(node, dict):
                    node = node.get(seg)
                elif isinstance(node, list):
                    if idx is None:
                        return fallback
                    node = node[idx] if 0 <= idx < len(node) else None
                else:
                    node = None
                if node is None:
                    return fallback
            return node

        def get(data: Any, ctx: Any) -> Any:
            fallback = default(data, ctx) if default is not None else None
            if isinstance(ctx, dict) and isinstance(data, dict):
                node = ctx[head] if head in ctx else data.get(head)
                if node is None:
                    return fallback
                return walk(node, rest_segs, fallback) if rest_segs else node
            node = data
            if isinstance(ctx, list) and isinstance(data, list):
                node = data + ctx
            elif ctx is not None and not isinstance(ctx, str | int | float | bool):
                node = ctx
            return walk(node, segs, fallback)

        if default is None:  # the common `{"var": "a.b"}` outside callbacks, walked inline

            def plain(data: Any, ctx: Any) -> Any:
                if ctx is not None:
                    return get(data, ctx)
                node = data
                for seg, idx in segs:
                    if isinstance(node, dict):
                        node = node.get(seg)
                    elif isinstance(node, list):
                        if idx is None:
                            return None
                        node = node[idx] if 0 <= idx < len(node) else None
                    else:
                        return None
                    if node is None:
                        return None
                return node

            return plain
        return get

    # operators
    def apply(self, op: str, raw: list[Any]) -> Code:
        body = self.body(op, raw)
        if op in _CANNOT_FAIL and (op == "if" or len(raw) == _CANNOT_FAIL[op]):
            return body  # only its operands can fail, and they report their own errors
        where = self.ev.where

        def run(data: Any, ctx: Any) -> Any:
            try:
                return body(data, ctx)
            except JsonLogicError as exc:
                if not exc.where and where:
                    raise JsonLogicError(str(exc), exc.op or op, where) from None
                raise
            except _FAILURES as exc:
                raise JsonLogicError(f"operator {op!r} failed: {exc}", op, where) from None

        return run

    def body(self, op: str, raw: list[Any]) -> Code:
        ev = self.ev
        if op == "if":
            return self.if_(raw)
        if op == "let":
            return self.let(raw)
        if op in CALLBACK_OPS:
            return self.callback(op, raw)
        codes = [self.node(a) if isinstance(a, dict | list) else _constant(a) for a in raw]
        if op == "missing":
            return lambda data, ctx: _missing(ev, [c(data, ctx) for c in codes], data)
        if op == "missing_some":

            def some(data: Any, ctx: Any) -> Any:
                args = [c(data, ctx) for c in codes]
                _need(args, 2, op)
                return _missing_some(ev, args, data)

            return some
        fast = self.fast(op, raw, codes)
        if fast is not None:
            return fast
        handler = _OPS.get(op)
        if handler is None:  # noop, or a tag without an implementation: after its arguments

            def unsupported(data: Any, ctx: Any) -> Any:
                for c in codes:
                    c(data, ctx)
                _fail(f"operator {op!r} is not supported", op)

            return unsupported
        if len(codes) == 1:
            (a,) = codes
            return lambda data, ctx: handler(ev, [a(data, ctx)])
        if len(codes) == 2:
            a, b = codes
            return lambda data, ctx: handler(ev, [a(data, ctx), b(data, ctx)])
        return lambda data, ctx: handler(ev, [c(data, ctx) for c in codes])

    @staticmethod
    def fast(op: str, raw: list[Any], codes: list[Code]) -> Code | None:
        """Direct code for the hottest operators with their usual arity (same results)."""
        if len(raw) == 2 and op in ("===", "!==", "==", "!="):
            test = strict_equal if op in ("===", "!==") else loose_equal
            negate = op.startswith("!")
            a, b = codes
            if not isinstance(raw[1], dict | list):
                k = raw[1]
                if negate:
                    return lambda data, ctx: not test(a(data, ctx), k)
                return lambda data, ctx: test(a(data, ctx), k)
            if negate:
                return lambda data, ctx: not test(a(data, ctx), b(data, ctx))
            return lambda data, ctx: test(a(data, ctx), b(data, ctx))
        if len(raw) == 1 and op in ("!", "!!"):
            (a,) = codes
            if op == "!":
                return lambda data, ctx: not truthy(a(data, ctx))
            return lambda data, ctx: truthy(a(data, ctx))
        return None

    def if_(self, raw: list[Any]) -> Code:
        if not raw:
            return lambda data, ctx: None
        pairs = [(self.node(raw[i]), self.node(raw[i + 1])) for i in range(0, len(raw) - 1, 2)]
        last = self.node(raw[-1]) if len(raw) % 2 == 1 else None

        def run(data: Any, ctx: Any) -> Any:
            for test, then in pairs:
                if truthy(test(data, ctx)):
                    return then(data, ctx)
            return last(data, ctx) if last is not None else None

        return run

    def let(self, raw: list[Any]) -> Code:
        if len(raw) != 2 or not isinstance(raw[0], list):
            return _raiser(lambda: _fail("'let' expects [[[name, expr], ...], body]", "let"))
        bindings: list[tuple[str, Code] | None] = []  # None: a malformed binding, raised when reached
        for binding in raw[0]:
            if isinstance(binding, list) and len(binding) == 2 and isinstance(binding[0], str):
                bindings.append((binding[0], self.node(binding[1])))
            else:
                bindings.append(None)
        body = self.node(raw[1])

        def run(data: Any, ctx: Any) -> Any:
            scope = dict(ctx) if isinstance(ctx, dict) else {}
            for binding in bindings:
                if binding is None:
                    raise JsonLogicError("'let' bindings are [name, expr] pairs", "let")
                scope[binding[0]] = binding[1](data, scope)
            return body(data, scope)

        return run

    def callback(self, op: str, raw: list[Any]) -> Code:
        if len(raw) < 2:
            if op == "count" and raw:
                items = self.node(raw[0])

                def count(data: Any, ctx: Any) -> Any:
                    value = items(data, ctx)
                    return len(value) if isinstance(value, list) else 0

                return count
            return _raiser(lambda: _fail(f"{op!r} expects [array, callback]", op))
        source, fn = self.node(raw[0]), self.node(raw[1])
        extra = self.node(raw[2]) if len(raw) > 2 else None

        def run(data: Any, ctx: Any) -> Any:
            items = source(data, ctx)
            if items is None:
                items = []
            if not isinstance(items, list):
                raise JsonLogicError(f"{op!r}: expected an array, got {type_name(items)}", op)
            if op == "reduce":
                acc = extra(data, ctx) if extra is not None else None
                for item in items:
                    acc = fn(data, {"current": item, "accumulator": acc})
                return acc
            results = [(item, fn(data, item)) for item in items]
            if op == "map":
                return [r for _, r in results]
            if op == "filter":
                return [item for item, r in results if truthy(r)]
            if op == "all":
                return bool(results) and all(truthy(r) for _, r in results)
            if op == "some":
                need = to_number(extra(data, ctx), op) if extra is not None else 1
                return sum(truthy(r) for _, r in results) >= need
            if op == "none":
                return not any(truthy(r) for _, r in results)
            if op == "find":
                return next((item for item, r in results if truthy(r)), None)
            return sum(truthy(r) for _, r in results)  # count

        return run


_CANNOT_FAIL = {"if": 0, "===": 2, "!==": 2, "!": 1, "!!": 1}  # with this many operands


def _constant(value: Any) -> Code:
    return lambda data, ctx: value


def _raiser(fail: Callable[[], Any]) -> Code:
    """Code that raises what `fail()` raises (an error of the expression, when it is reached)."""

    def run(data: Any, ctx: Any) -> Any:
        fail()

    return run


def _fail(message: str, op: str) -> None:
    raise JsonLogicError(message, op)


def _index(seg: str) -> int | None:
    try:
        return int(seg)
    except ValueError:
        return None
