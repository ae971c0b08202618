"""Group chat: a manager picks each speaker; the chat ends when the manager's termination
condition holds (success) or after `max_turns` (failure). A failed selection falls back to
round-robin and the event `chat.select` records the fallback and its reason."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .base import Orchestration, Steps
from .model import COMPLETED, MAX_TURNS, Context, pending


@dataclass
class ChatState:
    """What a manager sees: the members, the history, the work so far and the turn."""

    members: list[Any]
    work: Any
    history: list[dict[str, Any]] = field(default_factory=list)
    turn: int = 0
    last_speaker: str | None = None
    failures: dict[str, int] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.members]


class ChatManager(Protocol):
    """The group chat manager protocol; a model-backed manager could implement it."""

    def select_next_speaker(self, state: ChatState) -> str: ...
    def should_terminate(self, state: ChatState) -> bool: ...
    def should_request_human_input(self, state: ChatState) -> bool: ...
    def filter_result(self, state: ChatState) -> Any: ...


class RoundRobinManager:
    """Members speak in turn; the chat ends when the work has no pending step.

    `human_every`: ask for human input after every n-th turn (0: never)."""

    def __init__(self, human_every: int = 0) -> None:
        self.human_every = human_every

    def select_next_speaker(self, state: ChatState) -> str:
        return state.names[state.turn % len(state.members)]

    def should_terminate(self, state: ChatState) -> bool:
        return isinstance(state.work, dict) and not pending(state.work)

    def should_request_human_input(self, state: ChatState) -> bool:
        return bool(self.human_every) and state.turn > 0 and state.turn % self.human_every == 0

    def filter_result(self, state: ChatState) -> Any:
        return state.work


class SelectionError(LookupError):
    """The manager could not pick a speaker; the chat falls back to round-robin."""


class RulesManager(RoundRobinManager):
    """Speakers chosen by rules, first match wins: `{"after": name|None, "needs": capability|None,
    "next": name}`. A rule matches when the last speaker is `after` (None: anyone, "start":
    nobody yet) and `needs` is pending. A speaker that failed `max_failures` times is skipped.
    No match, or a rule naming someone absent, raises SelectionError."""

    def __init__(self, rules: Sequence[dict[str, Any]], max_failures: int = 2, human_every: int = 0) -> None:
        super().__init__(human_every)
        self.rules = [dict(r) for r in rules]
        self.max_failures = max_failures

    def select_next_speaker(self, state: ChatState) -> str:
        left = pending(state.work) if isinstance(state.work, dict) else []
        last = state.last_speaker or "start"
        for rule in self.rules:
            after, needs = rule.get("after"), rule.get("needs")
            if after not in (None, last) or (needs is not None and needs not in left):
                continue
            name = rule["next"]
            if name not in state.names:
                raise SelectionError(f"rule names {name!r}, not in the chat ({', '.join(state.names)})")
            if state.failures.get(name, 0) >= self.max_failures:
                continue
            return name
        raise SelectionError(f"no rule matches after {last!r} with pending {left}")


class GroupChatOrchestration(Orchestration):
    """`human_input(state) -> str`: called when the manager asks for human input."""

    pattern = "group_chat"

    def __init__(
        self,
        name: str,
        members: list,
        *,
        manager: ChatManager | None = None,
        max_turns: int = 10,
        human_input: Callable[[ChatState], str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, members, **kwargs)
        if max_turns < 1:
            raise ValueError(f"{name}: max_turns must be >= 1, got {max_turns}")
        self.manager = manager or RoundRobinManager()
        self.max_turns = max_turns
        self.human_input = human_input

    def run(self, task: Any, runtime: Any, context: Context) -> Steps:
        state = ChatState(self.members, task)
        messages: list = []
        fallbacks = 0
        while True:
            if self.manager.should_terminate(state):
                output = self.manager.filter_result(state)
                return self.done(True, output, messages, COMPLETED, turns=state.turn, fallbacks=fallbacks)
            if state.turn >= self.max_turns:
                return self.done(
                    False,
                    state.work,
                    messages,
                    MAX_TURNS,
                    turns=state.turn,
                    fallbacks=fallbacks,
                    error=f"no termination after {self.max_turns} turns",
                )
            reason = ""
            try:
                speaker = self.manager.select_next_speaker(state)
                if speaker not in state.names:
                    raise SelectionError(f"manager chose {speaker!r}, not in the chat")
            except Exception as exc:  # recorded below with its reason, then round-robin
                reason = f"{type(exc).__name__}: {exc}"
                speaker = state.names[state.turn % len(state.members)]
                fallbacks += 1
            payload = {"task": context.task, "turn": state.turn + 1, "speaker": speaker}
            if reason:
                payload["fallback"] = reason
            context.cause = yield runtime.emit("chat.select", self.name, speaker, payload, context.cause)
            result = yield from self.call_member(self.member(speaker), state.work, runtime, context)
            messages += result.messages
            state.history += result.messages
            state.turn += 1
            state.last_speaker = speaker
            if result.success:
                state.work = result.output
            else:
                state.failures[speaker] = state.failures.get(speaker, 0) + 1
            if self.human_input is not None and self.manager.should_request_human_input(state):
                text = self.human_input(state)
                context.cause = yield runtime.emit(
                    "chat.human",
                    self.name,
                    self.name,
                    {"task": context.task, "turn": state.turn, "content": text},
                    context.cause,
                )
                human = {
                    "seq": context.cause,
                    "time": runtime.now,
                    "task": context.task,
                    "from": "human",
                    "to": self.name,
                    "content": text,
                }
                messages.append(human)
                state.history.append(human)
