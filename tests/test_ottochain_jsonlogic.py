"""JSON Logic conformance: jsonlogic.com's published examples, then each OttoChain difference."""

import pytest

from simulator.ottochain.jsonlogic import JsonLogicError, check, evaluate

INTS = {"integers": [1, 2, 3, 4, 5]}

# (rule, data, expected) from jsonlogic.com/operations.html, where OttoChain agrees
STANDARD = [
    ({"var": ["a"]}, {"a": 1, "b": 2}, 1),
    ({"var": "a"}, {"a": 1, "b": 2}, 1),
    ({"var": ["z", 26]}, {"a": 1, "b": 2}, 26),
    ({"var": "champ.name"}, {"champ": {"name": "Fezzig", "height": 223}}, "Fezzig"),
    ({"var": 1}, ["zero", "one", "two"], "one"),
    ({"missing": ["a", "b"]}, {"a": "apple", "c": "carrot"}, ["b"]),
    ({"missing": ["a", "b"]}, {"a": "apple", "b": "banana"}, []),
    ({"missing_some": [1, ["a", "b", "c"]]}, {"a": "apple"}, []),
    ({"missing_some": [2, ["a", "b", "c"]]}, {"a": "apple"}, ["b", "c"]),
    ({"if": [True, "yes", "no"]}, None, "yes"),
    ({"if": [False, "yes", "no"]}, None, "no"),
    (
        {"if": [{"<": [{"var": "temp"}, 0]}, "freezing", {"<": [{"var": "temp"}, 100]}, "liquid", "gas"]},
        {"temp": 55},
        "liquid",
    ),
    ({"==": [1, 1]}, None, True),
    ({"==": [1, "1"]}, None, True),
    ({"==": [0, False]}, None, True),
    ({"===": [1, 1]}, None, True),
    ({"===": [1, "1"]}, None, False),
    ({"!=": [1, 2]}, None, True),
    ({"!=": [1, "1"]}, None, False),
    ({"!==": [1, 2]}, None, True),
    ({"!==": [1, "1"]}, None, True),
    ({"!": [True]}, None, False),
    ({"!": True}, None, False),
    ({"!!": [["0"]]}, None, True),
    ({"!!": [[]]}, None, False),
    ({"!!": ["0"]}, None, True),
    ({"or": [True, False]}, None, True),
    ({"or": [False, "a"]}, None, "a"),
    ({"or": [False, 0, "a"]}, None, "a"),
    ({"and": [True, "a", 3]}, None, 3),
    ({"and": [True, "", 3]}, None, ""),
    ({">": [2, 1]}, None, True),
    ({">=": [1, 1]}, None, True),
    ({"<": [1, 2]}, None, True),
    ({"<=": [1, 1]}, None, True),
    ({"<": [1, 2, 3]}, None, True),
    ({"<": [1, 1, 3]}, None, False),
    ({"<=": [1, 1, 3]}, None, True),
    ({"max": [1, 2, 3]}, None, 3),
    ({"min": [1, 2, 3]}, None, 1),
    ({"+": [4, 2]}, None, 6),
    ({"+": [2, 2, 2, 2, 2]}, None, 10),
    ({"+": "3.14"}, None, 3.14),
    ({"-": [4, 2]}, None, 2),
    ({"-": [2]}, None, -2),
    ({"*": [4, 2]}, None, 8),
    ({"*": [2, 2, 2, 2, 2]}, None, 32),
    ({"/": [4, 2]}, None, 2),
    ({"%": [101, 2]}, None, 1),
    ({"map": [{"var": "integers"}, {"*": [{"var": ""}, 2]}]}, INTS, [2, 4, 6, 8, 10]),
    ({"filter": [{"var": "integers"}, {"%": [{"var": ""}, 2]}]}, INTS, [1, 3, 5]),
    ({"reduce": [{"var": "integers"}, {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]}, INTS, 15),
    ({"all": [[1, 2, 3], {">": [{"var": ""}, 0]}]}, None, True),
    ({"some": [[-1, 0, 1], {">": [{"var": ""}, 0]}]}, None, True),
    ({"none": [[-3, -2, -1], {">": [{"var": ""}, 0]}]}, None, True),
    (
        {"some": [{"var": "pies"}, {"==": [{"var": "filling"}, "apple"]}]},
        {"pies": [{"filling": "pumpkin"}, {"filling": "apple"}]},
        True,
    ),
    ({"merge": [[1, 2], [3, 4]]}, None, [1, 2, 3, 4]),
    ({"merge": [1, 2, [3, 4]]}, None, [1, 2, 3, 4]),
    ({"in": ["Ringo", ["John", "Paul", "George", "Ringo"]]}, None, True),
    ({"in": ["Spring", "Springfield"]}, None, True),
    ({"cat": ["I love", " pie"]}, None, "I love pie"),
    ({"cat": ["I love ", {"var": "filling"}, " pie"]}, {"filling": "apple"}, "I love apple pie"),
    ({"substr": ["jsonlogic", 4]}, None, "logic"),
    ({"substr": ["jsonlogic", -5]}, None, "logic"),
    ({"substr": ["jsonlogic", 1, 3]}, None, "son"),
    ({"substr": ["jsonlogic", 4, -2]}, None, "log"),
]

# each OttoChain difference from the shared README and the engine's documentation
OTTOCHAIN = [
    # merge merges objects as well as arrays (later keys win)
    ({"merge": [{"a": 1, "b": 1}, {"b": 2}]}, None, {"a": 1, "b": 2}),
    ({"merge": [{"var": "state"}, {"status": "ACTIVE"}]}, {"state": {"x": 1}}, {"x": 1, "status": "ACTIVE"}),
    # empty {} and [] are falsy (in JS an empty object is truthy)
    ({"!!": [{"var": "m"}]}, {"m": {}}, False),
    ({"!!": [{"var": "m"}]}, {"m": {"k": 1}}, True),
    ({"if": [{"var": "m"}, "yes", "no"]}, {"m": {}}, "no"),
    ({"!": [{"var": "a"}]}, {"a": []}, True),
    # === is strict: ints and floats differ, arrays and maps compare by value
    ({"===": [1, 1.0]}, None, False),
    ({"===": [[1, {"a": 2}], [1, {"a": 2}]]}, None, True),
    ({"==": [0, ""]}, None, True),
    # integers are arbitrary precision (BigInt), not JS doubles
    ({"*": [10**20, 10**20]}, None, 10**40),
    # integer division truncates
    ({"/": [7, 2]}, None, 3),
    ({"/": [7, 2.0]}, None, 3.5),
    # a single-key object whose key is not an operator is a map literal
    ({"status": {"var": "s"}}, {"s": "OPEN"}, {"status": "OPEN"}),
    # array-syntax operators
    (["+", 1, 2], None, 3),
    # computed var paths (the tic-tac-toe script reads board cells this way)
    (
        {"var": {"cat": ["state.board.", {"var": "cell"}]}},
        {"cell": 4, "state": {"board": [0, 0, 0, 0, "X"]}},
        "X",
    ),
    # in, map, let, reduce, if, cat, var defaults
    (
        {"in": [{"var": "a"}, {"map": [{"var": "cs"}, {"var": "agent"}]}]},
        {"a": "x", "cs": [{"agent": "x"}]},
        True,
    ),
    ({"let": [[["x", 2], ["y", {"*": [{"var": "x"}, 5]}]], {"+": [{"var": "x"}, {"var": "y"}]}]}, None, 12),
    ({"reduce": [[1, 2, 3], {"*": [{"var": "current"}, {"var": "accumulator"}]}, 1]}, None, 6),
    ({"cat": ["a", None, 1, True]}, None, "a1true"),
    ({"var": ["state.missing", "dflt"]}, {"state": {}}, "dflt"),
    # extensions used by the SDK files: size, getKey/setKey/deleteKey, cat over arrays, $timestamp
    ({"size": {"var": "xs"}}, {"xs": [1, 2, 3]}, 3),
    ({"size": {"var": "m"}}, {"m": {"a": 1}}, 1),
    ({"setKey": [{}, "k", 1]}, None, {"k": 1}),
    ({"getKey": [{"k": 5}, "k"]}, None, 5),
    ({"deleteKey": [{"k": 5, "j": 1}, "k"]}, None, {"j": 1}),
    ({"cat": [[1], [2, 3]]}, None, [1, 2, 3]),
    ({"var": "$timestamp"}, {"$timestamp": 1700}, 1700),
]


@pytest.mark.parametrize(("rule", "data", "expected"), STANDARD + OTTOCHAIN)
def test_conformance_table(rule, data, expected):
    got = evaluate(rule, data)
    assert got == expected
    assert type(got) is type(expected)


def test_and_or_return_values_not_booleans():
    assert evaluate({"or": [0, "hello"]}) == "hello"


@pytest.mark.parametrize(
    ("rule", "op"),
    [
        ({"size": [[1]]}, "size"),
        ({"setKey": [{}, "k", 1]}, "setKey"),
        ({"var": "$timestamp"}, "var"),
    ],
)
def test_extensions_off_are_reported_gaps(rule, op):
    with pytest.raises(JsonLogicError) as err:
        check({"and": [True, rule]}, "transitions[2].guard", extensions=False)
    assert err.value.op == op
    assert "transitions[2].guard.and[1]" in str(err.value)


def test_cat_over_arrays_is_an_error_without_extensions():
    with pytest.raises(JsonLogicError, match="cat"):
        evaluate({"cat": [[1], [2]]}, extensions=False)


@pytest.mark.parametrize("op", ["log", "?:", "poseidon"])
def test_unsupported_operator_names_operator_and_place(op):
    with pytest.raises(JsonLogicError) as err:
        check({"if": [{op: [1]}, 1, 2]}, "transitions[0].effect")
    assert err.value.op == op
    assert str(err.value).startswith("transitions[0].effect.if[0]:")
    with pytest.raises(JsonLogicError, match=repr(op)):
        evaluate({op: [1]}, where="guard")


def test_division_by_zero_is_a_clear_error():
    with pytest.raises(JsonLogicError, match="division by zero"):
        evaluate({"/": [1, 0]}, where="transitions[1].guard")


# -- the compiled form gives exactly what the interpreter gives ----------------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from simulator.ottochain.jsonlogic import Evaluator, compile_logic  # noqa: E402

DATA = {"a": {"b": 1, "c": [1, 2.5, None]}, "n": 3, "s": "hi", "list": [4, 5, 6], "m": {}, "t": True}
PATHS = ["a", "a.b", "a.c.1", "a.c.x", "list.0", "list.7", "n", "s", "", "missing", "a.", "current", 1, 1.0]
OPS = [
    "if", "and", "or", "!", "!!", "==", "===", "!=", "!==", "<", "<=", ">", "+", "-", "*", "/", "%",
    "max", "min", "merge", "in", "cat", "substr", "slice", "map", "filter", "reduce", "all", "some",
    "none", "find", "count", "let", "missing", "missing_some", "size", "getKey", "setKey", "keys",
    "values", "default", "unique", "round", "typeof", "length", "noop", "poseidon", "log",
]  # fmt: skip
LEAVES = st.one_of(
    st.integers(-3, 10),
    st.sampled_from([0.5, 2.0, -1.5]),
    st.sampled_from(["", "x", "a", "1"]),
    st.none(),
    st.booleans(),
    st.builds(lambda p: {"var": p}, st.sampled_from(PATHS)),
    st.builds(lambda p, d: {"var": [p, d]}, st.sampled_from(PATHS), st.integers(0, 3)),
)


def _ops(children):
    call = st.builds(lambda op, args: {op: args}, st.sampled_from(OPS), st.lists(children, max_size=4))
    listed = st.builds(lambda op, args: [op, *args], st.sampled_from(OPS), st.lists(children, max_size=3))
    let = st.builds(lambda v, body: {"let": [[["x", v]], body]}, children, children)
    dyn = st.builds(lambda p: {"var": {"cat": ["a.", p]}}, children)
    literal = st.one_of(st.lists(children, max_size=3), st.dictionaries(st.sampled_from("kq"), children))
    return st.one_of(call, listed, let, dyn, literal)


EXPRS = st.recursive(LEAVES, _ops, max_leaves=12)


def _outcome(fn):
    try:
        return "ok", repr(fn())
    except JsonLogicError as exc:
        return "error", str(exc), exc.op, exc.where
    except (RecursionError, MemoryError) as exc:  # pragma: no cover - both would hit it alike
        return "exc", type(exc).__name__


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRS, st.sampled_from([DATA, [1, 2], None]), st.booleans())
def test_compiled_expressions_give_what_the_interpreter_gives(expr, data, extensions):
    data = {} if data is None else data
    where = "def.json: $.transitions[0].guard"
    want = _outcome(lambda: Evaluator(extensions, where)(expr, data))
    assert _outcome(lambda: compile_logic(expr, extensions, where)(data)) == want
    assert _outcome(lambda: compile_logic(expr, extensions, "")(data)) == _outcome(
        lambda: Evaluator(extensions, "")(expr, data)
    )


def test_compiled_literals_are_fresh_containers():
    code = compile_logic({"board": [None, None], "m": {}})
    first = code({})
    first["board"].append("X")
    assert code({}) == {"board": [None, None], "m": {}}
