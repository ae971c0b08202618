"""The five patterns' semantics, checked against the kernel's record of every agent call."""

from __future__ import annotations

import pytest

from simulator.engine import Channel, MemorySink
from simulator.orchestration import (
    ConcurrentOrchestration,
    GroupChatOrchestration,
    HandoffOrchestration,
    MagenticOrchestration,
    RulesManager,
    SequentialOrchestration,
    Session,
    SimAgent,
)


def agent(name, caps, base=1.0, **kw):
    return SimAgent(name, tuple(caps), Channel(base=base), **kw)


def run(root, requires, seed=1):
    mem = MemorySink()
    session = Session(seed, [mem], keep_results=True)
    result = session.invoke(root, {"id": "t1", "requires": list(requires)})
    return result, mem.records, session


def of_type(records, *types):
    return [r for r in records if r.type in types]


def calls_to(records, name):
    return [r for r in records if r.type == "agent.call" and r.target == name]


# -- sequential ------------------------------------------------------------------------------


def test_sequential_feeds_each_output_to_the_next():
    a, b, c = agent("a", ["x"]), agent("b", ["y"]), agent("c", ["z"])
    result, records, _ = run(SequentialOrchestration("seq", [a, b, c]), ["x", "y", "z"])
    assert result.success and result.end_reason == "completed"
    assert result.output["done"] == ["x", "y", "z"]
    assert [m["from"] for m in result.messages] == ["a", "b", "c"]
    # b was called after a's result, and its call names a's result as its cause
    results = {r.seq: r for r in of_type(records, "agent.result")}
    assert (
        calls_to(records, "b")[0].cause in results and results[calls_to(records, "b")[0].cause].source == "a"
    )


def test_sequential_stops_at_the_first_failure():
    a, b, c = agent("a", ["x"]), agent("b", ["y"], failure_rate=1.0), agent("c", ["z"])
    result, records, _ = run(SequentialOrchestration("seq", [a, b, c]), ["x", "y", "z"])
    assert not result.success
    assert result.end_reason == "member failed" and result.metadata["failed_member"] == "b"
    assert calls_to(records, "c") == []
    assert result.output["done"] == ["x"]


def test_exception_and_timeout_end_reasons_and_fault_events():
    boom = agent("boom", ["x"], base=2.0, exception_rate=1.0)
    result, records, _ = run(SequentialOrchestration("seq", [boom]), ["x"])
    assert (result.success, result.end_reason) == (False, "exception")
    (fault,) = of_type(records, "agent.fault")
    assert fault.payload["kind"] == "exception" and fault.time == 2.0

    hang = agent("hang", ["x"], timeout_rate=1.0, deadline=7.0)
    result, records, _ = run(SequentialOrchestration("seq", [hang]), ["x"])
    assert (result.success, result.end_reason) == (False, "timeout")
    (fault,) = of_type(records, "agent.fault")
    assert fault.payload["kind"] == "timeout" and fault.time == 7.0
    assert of_type(records, "agent.result") == []


class Raising:
    def respond(self, agent, request):
        raise RuntimeError("model unavailable")


def test_a_client_that_raises_is_an_exception_fault_with_its_text():
    a = SimAgent("a", ("x",), client=Raising())
    result, records, _ = run(SequentialOrchestration("seq", [a]), ["x"])
    assert result.end_reason == "exception"
    (fault,) = of_type(records, "agent.fault")
    assert "RuntimeError: model unavailable" in fault.payload["error"]
    (end,) = [r for r in of_type(records, "orch.end") if r.source == "seq"]
    assert end.payload["reason"] == "exception" and end.payload["success"] is False


def test_retries_call_again_and_are_counted():
    retried = 0
    for seed in range(1, 16):
        flaky = agent("flaky", ["x"], failure_rate=0.6)
        result, records, session = run(SequentialOrchestration("seq", [flaky], retries=2), ["x"], seed=seed)
        n_calls = len(calls_to(records, "flaky"))
        assert session.rows[0]["retries"] == n_calls - 1 <= 2
        assert result.success == of_type(records, "agent.result")[-1].payload["success"]
        assert len(result.messages) == n_calls
        retried += n_calls > 1
    assert retried >= 5


# -- hooks, transform, exceptions --------------------------------------------------------------


def test_hooks_and_result_transform():
    seen = []

    def pre(task, ctx):
        return {**task, "requires": task["requires"][:1]}

    def transform(result):
        result.output = {**result.output, "text": "transformed"}
        return result

    a, b = agent("a", ["x"]), agent("b", ["y"])
    seq = SequentialOrchestration(
        "seq", [a, b], pre_invoke=pre, result_transform=transform, post_invoke=lambda r, c: seen.append(r)
    )
    result, _, _ = run(seq, ["x", "y"])
    assert result.output["requires"] == ["x"] and result.output["text"] == "transformed"
    assert seen == [result]


def test_a_hook_that_raises_ends_with_exception_named_in_the_record():
    def bad(task, ctx):
        raise KeyError("nope")

    seq = SequentialOrchestration("seq", [agent("a", ["x"])], pre_invoke=bad)
    result, records, _ = run(seq, ["x"])
    assert (result.success, result.end_reason) == (False, "exception")
    (end,) = of_type(records, "orch.end")
    assert "KeyError" in end.payload["error"]


# -- concurrent ------------------------------------------------------------------------------


def max_in_flight(records, node):
    """Calls from `node` in flight, rebuilt from the record (call applied .. result/fault applied)."""
    open_calls, peak = set(), 0
    for r in records:
        if r.type == "agent.call" and r.source == node:
            open_calls.add(r.payload["call"])
            peak = max(peak, len(open_calls))
        elif r.type in ("agent.result", "agent.fault"):
            open_calls.discard(r.payload["call"])
    return peak


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_concurrent_never_exceeds_max_concurrent(limit):
    team = [agent(f"a{i}", ["x"], base=1.0 + i % 3) for i in range(7)]
    conc = ConcurrentOrchestration("conc", team, max_concurrent=limit)
    result, records, _ = run(conc, ["x"])
    assert result.success
    assert max_in_flight(records, "conc") == limit
    assert len(calls_to(records, "a0")) == 1 and len(of_type(records, "agent.call")) == 7


def test_concurrent_results_in_member_order_when_finishing_order_differs():
    team = [agent("slow", ["x"], base=3.0), agent("fast", ["y"], base=1.0), agent("mid", ["z"], base=2.0)]
    result, records, _ = run(ConcurrentOrchestration("conc", team), ["x", "y", "z"])
    finished = [r.source for r in of_type(records, "agent.result")]
    assert finished == ["fast", "mid", "slow"]
    assert [m["member"] for m in result.output["members"]] == ["slow", "fast", "mid"]
    assert [m["from"] for m in result.messages] == ["slow", "fast", "mid"]
    assert result.output["done"] == ["x", "y", "z"]


def test_concurrent_member_timeout_and_failure_policy():
    team = [agent("slow", ["x"], base=10.0), agent("ok", ["y"]), agent("bad", ["z"], exception_rate=1.0)]
    conc = ConcurrentOrchestration("conc", team, member_timeout=4.0)
    result, records, _ = run(conc, ["x", "y", "z"])
    assert result.success  # one member is enough by default
    reasons = {m["member"]: m["reason"] for m in result.output["members"]}
    assert reasons == {"slow": "timeout", "ok": "completed", "bad": "exception"}
    timeout = [r for r in of_type(records, "agent.fault") if r.payload["kind"] == "timeout"]
    assert [r.time for r in timeout] == [4.0]

    strict = ConcurrentOrchestration("conc", team, member_timeout=4.0, min_success=None)
    result, _, _ = run(strict, ["x", "y", "z"])
    assert (result.success, result.end_reason) == (False, "member failed")
    assert result.metadata["failed_members"] == ["slow", "bad"]


def test_concurrent_rejects_zero_slots():
    with pytest.raises(ValueError, match="max_concurrent"):
        ConcurrentOrchestration("c", [agent("a", ["x"])], max_concurrent=0)


# -- nesting ---------------------------------------------------------------------------------


def test_three_levels_deep_with_a_causal_chain_back_to_the_task():
    r1, r2 = agent("r1", ["research"], base=2.0), agent("r2", ["data"], base=1.0)
    analysts = ConcurrentOrchestration("analysts", [r1, r2], max_concurrent=2)
    strat, risk = agent("strat", ["strategy"]), agent("risk", ["risk"], failure_rate=1.0)
    backup = agent("backup", ["risk"])
    review = MagenticOrchestration("review", [risk, backup], max_stall=1, max_resets=2, scope="team")
    desk = SequentialOrchestration("desk", [analysts, strat, review])
    root = SequentialOrchestration("root", [desk, agent("closer", ["close"])])
    result, records, _ = run(root, ["research", "data", "strategy", "risk", "close"])
    assert result.success, result.metadata
    assert result.output["done"] == ["research", "data", "strategy", "risk", "close"]
    depth = {r.source: r.payload["depth"] for r in of_type(records, "orch.start")}
    assert depth == {"root": 1, "desk": 2, "analysts": 3, "review": 3}
    by_seq = {r.seq: r for r in records}
    arrive = of_type(records, "task.arrive")[0].seq
    for r in records:
        if r.type == "task.arrive":
            continue
        # every event has a cause that was applied before it, and the chain ends at the task
        seq = r.seq
        while by_seq[seq].cause is not None:
            assert by_seq[seq].cause < seq
            seq = by_seq[seq].cause
        assert seq == arrive, r


def test_a_failure_deep_inside_stops_every_level():
    inner = SequentialOrchestration("inner", [agent("a", ["x"], timeout_rate=1.0, deadline=3.0)])
    mid = SequentialOrchestration("mid", [inner, agent("b", ["y"])])
    root = SequentialOrchestration("root", [mid, agent("c", ["z"])])
    result, records, _ = run(root, ["x", "y", "z"])
    assert (result.success, result.end_reason) == (False, "timeout")
    ends = {r.source: r.payload["reason"] for r in of_type(records, "orch.end")}
    assert ends == {"inner": "timeout", "mid": "timeout", "root": "timeout"}
    assert calls_to(records, "b") == [] and calls_to(records, "c") == []


def test_an_orchestration_timeout_bounds_its_members():
    slow = SequentialOrchestration(
        "slow", [agent("a", ["x"], base=4.0), agent("b", ["y"], base=4.0)], timeout=6.0
    )
    result, records, _ = run(slow, ["x", "y"])
    assert result.end_reason == "timeout"
    (fault,) = of_type(records, "agent.fault")
    assert fault.source == "b" and fault.time == 6.0


# -- group chat ------------------------------------------------------------------------------


def test_group_chat_round_robin_ends_when_the_work_is_done():
    team = [agent("a", ["x"]), agent("b", ["y"]), agent("c", ["z"])]
    chat = GroupChatOrchestration("chat", team, max_turns=10)
    result, records, _ = run(chat, ["x", "z"])
    assert result.success and result.metadata["turns"] == 3
    assert [r.payload["speaker"] for r in of_type(records, "chat.select")] == ["a", "b", "c"]


def test_group_chat_ends_at_max_turns_without_success():
    chat = GroupChatOrchestration("chat", [agent("a", ["x"]), agent("b", ["y"])], max_turns=4)
    result, records, _ = run(chat, ["x", "nobody"])
    assert (result.success, result.end_reason) == (False, "max turns")
    assert len(of_type(records, "chat.select")) == 4


def test_rules_manager_and_recorded_fallback():
    team = [agent("a", ["x"]), agent("b", ["y"]), agent("c", ["z"])]
    rules = RulesManager([{"after": "start", "next": "c"}, {"needs": "y", "next": "b"}])
    chat = GroupChatOrchestration("chat", team, manager=rules, max_turns=6)
    result, records, _ = run(chat, ["x", "y", "z"])
    selects = of_type(records, "chat.select")
    assert [s.payload["speaker"] for s in selects] == ["c", "b", "c", "a"]
    # from the third turn no rule matches (x pending): round-robin fallback, recorded with why
    assert "fallback" not in selects[0].payload and "fallback" not in selects[1].payload
    assert "no rule matches after 'b' with pending ['x']" in selects[2].payload["fallback"]
    assert "no rule matches after 'c'" in selects[3].payload["fallback"]
    assert result.success and result.metadata["fallbacks"] == 2


class Broken:
    def select_next_speaker(self, state):
        raise RuntimeError("model returned garbage")

    def should_terminate(self, state):
        return False

    def should_request_human_input(self, state):
        return state.turn == 1

    def filter_result(self, state):
        return state.work


def test_a_failing_manager_falls_back_and_human_input_is_recorded():
    chat = GroupChatOrchestration(
        "chat",
        [agent("a", ["x"]), agent("b", ["y"])],
        manager=Broken(),
        max_turns=2,
        human_input=lambda state: "go on",
    )
    result, records, _ = run(chat, ["x"])
    assert result.end_reason == "max turns"
    selects = of_type(records, "chat.select")
    assert all("RuntimeError: model returned garbage" in s.payload["fallback"] for s in selects)
    assert [s.payload["speaker"] for s in selects] == ["a", "b"]
    (human,) = of_type(records, "chat.human")
    assert human.payload["content"] == "go on" and any(m["from"] == "human" for m in result.messages)


# -- handoff ---------------------------------------------------------------------------------


def desk(routes_b=None, relations=None, max_handoffs=5):
    a = agent("a", ["x"], routes={"y": "b"})
    b = agent("b", ["y"], routes=routes_b if routes_b is not None else {"z": "c"})
    c = agent("c", ["z"])
    rel = relations if relations is not None else {"a": ["b"], "b": ["c"]}
    return HandoffOrchestration("desk", [a, b, c], entry="a", relations=rel, max_handoffs=max_handoffs)


def test_handoff_follows_declared_relations_to_completion():
    result, records, _ = run(desk(), ["x", "y", "z"])
    assert result.success and result.metadata["handoffs"] == 2
    assert [(h.source, h.target) for h in of_type(records, "handoff")] == [("a", "b"), ("b", "c")]


def test_handoff_to_an_undeclared_or_unknown_target_fails_naming_it():
    result, _, _ = run(desk(relations={"a": ["b"], "b": ["a"]}), ["x", "y", "z"])
    assert (result.success, result.end_reason) == (False, "invalid handoff")
    assert (
        result.metadata["target"] == "c"
        and "'b' to 'c' is not declared (declared: a)" in result.metadata["error"]
    )

    result, records, _ = run(desk(routes_b={"z": "ghost"}), ["x", "y", "z"])
    assert result.end_reason == "invalid handoff" and "unknown member 'ghost'" in result.metadata["error"]
    (end,) = of_type(records, "orch.end")
    assert "ghost" in end.payload["error"]


def test_handoff_bounded_and_relations_checked():
    result, _, _ = run(desk(max_handoffs=1), ["x", "y", "z"])
    assert (result.success, result.end_reason) == (False, "max handoffs")
    with pytest.raises(ValueError, match="hands to nobody"):
        desk(relations={"a": []})
    with pytest.raises(ValueError, match="'a' -> 'zed': not a member"):
        desk(relations={"a": ["zed"]})


# -- magentic --------------------------------------------------------------------------------


def test_magentic_replans_after_the_stall_limit_and_completes():
    unreliable = agent("unreliable", ["analyse"], failure_rate=1.0)
    steady = agent("steady", ["analyse"])
    writer = agent("writer", ["write"])
    mag = MagenticOrchestration("mag", [unreliable, steady, writer], max_stall=2, max_resets=3, max_rounds=20)
    result, records, _ = run(mag, ["analyse", "write"])
    assert result.success and result.end_reason == "completed"
    plans = of_type(records, "magentic.plan")
    assert [p.payload["plan"][0]["agent"] for p in plans] == ["unreliable", "steady"]
    assert len(calls_to(records, "unreliable")) == 2  # max_stall failed rounds, then the re-plan
    assert result.metadata["resets"] == 1
    progress = of_type(records, "magentic.progress")
    assert set(progress[0].payload) >= {
        "is_request_satisfied",
        "is_in_loop",
        "is_progress_being_made",
        "next_speaker",
        "instruction_or_question",
    }
    assert progress[-1].payload["is_request_satisfied"] and of_type(records, "magentic.final")


def test_magentic_impossible_task_ends_stalled_after_max_resets_not_at_the_round_limit():
    mag = MagenticOrchestration(
        "mag",
        [agent("a", ["x"], failure_rate=1.0), agent("b", ["y"])],
        max_stall=2,
        max_resets=2,
        max_rounds=50,
    )
    result, records, _ = run(mag, ["x", "y"])
    assert (result.success, result.end_reason) == (False, "stalled")
    assert result.metadata["resets"] == 2 and result.metadata["rounds"] == 6 < 50
    assert len(of_type(records, "magentic.plan")) == 3
    assert not of_type(records, "magentic.final")


def test_magentic_out_of_rounds_and_nobody_capable():
    slowly = MagenticOrchestration(
        "mag", [agent("a", ["x"]), agent("b", ["y"])], max_stall=3, max_resets=1, max_rounds=1
    )
    result, _, _ = run(slowly, ["x", "y"])
    assert (result.success, result.end_reason) == (False, "out of rounds")
    nobody = MagenticOrchestration("mag", [agent("a", ["x"])], max_stall=1, max_resets=1, max_rounds=9)
    result, records, _ = run(nobody, ["x", "y"])
    assert result.end_reason == "stalled" and "nobody can do y" in result.metadata["facts"]


# -- determinism -----------------------------------------------------------------------------


def test_same_seed_same_bytes_and_chain_head():
    def once(seed):
        team = [
            agent(f"a{i}", ["x", "y"], failure_rate=0.2, timeout_rate=0.1, exception_rate=0.1)
            for i in range(4)
        ]
        for a in team:
            a.latency = Channel(base=0.5, dist="exponential", scale=1.0)
        root = SequentialOrchestration("root", [ConcurrentOrchestration("c", team[:2]), team[2], team[3]])
        mem = MemorySink()
        s = Session(seed, [mem])
        s.stream(root, [{"id": f"t{i}", "requires": ["x", "y"]} for i in range(20)], rate=1.0)
        s.run()
        return mem.text(), s.world.chain_head, [r["success"] for r in s.rows]

    first, second, other = once(5), once(5), once(6)
    assert first == second
    assert first[1] != other[1]
    assert any(first[2]) and not all(first[2])


def test_an_answer_or_exception_later_than_the_deadline_is_a_timeout_at_the_deadline():
    for rates in ({}, {"exception_rate": 1.0}, {"failure_rate": 1.0}):
        late = agent("late", ["x"], base=10.0, deadline=5.0, **rates)
        result, records, _ = run(SequentialOrchestration("seq", [late]), ["x"])
        (fault,) = of_type(records, "agent.fault")
        assert (result.end_reason, fault.payload["kind"], fault.time) == ("timeout", "timeout", 5.0)


def test_a_transform_cannot_turn_a_failure_into_an_unexplained_success():
    def lie(result):
        result.success = True
        return result

    seq = SequentialOrchestration("seq", [agent("a", ["x"], failure_rate=1.0)], result_transform=lie)
    result, records, _ = run(seq, ["x"])
    assert (result.success, result.end_reason) == (False, "exception")
    assert "success=True with end reason 'member failed'" in result.metadata["error"]

    def accept(result):
        result.success, result.metadata["end_reason"] = True, "completed"
        return result

    ok = SequentialOrchestration("seq", [agent("a", ["x"], failure_rate=1.0)], result_transform=accept)
    assert run(ok, ["x"])[0].success
