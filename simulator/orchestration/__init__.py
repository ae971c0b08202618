"""Orchestration patterns as SimPy processes on the kernel: sequential, concurrent, group chat,
handoff and magentic; nestable, recorded event by event, replayable, with agent faults."""

from .agents import AgentClient, PolicyClient, SimAgent
from .base import Orchestration
from .concurrent import ConcurrentOrchestration
from .group_chat import ChatManager, ChatState, GroupChatOrchestration, RoundRobinManager, RulesManager
from .handoff import HandoffOrchestration
from .magentic import MagenticManager, MagenticOrchestration, TaskLedger
from .model import END_REASONS, Context, OrchestrationResult, TaskStats, new_work, pending
from .runtime import LAYOUT, Runtime
from .sequential import SequentialOrchestration
from .session import TASK_COLUMNS, Session

__all__ = [
    "END_REASONS",
    "LAYOUT",
    "TASK_COLUMNS",
    "AgentClient",
    "ChatManager",
    "ChatState",
    "ConcurrentOrchestration",
    "Context",
    "GroupChatOrchestration",
    "HandoffOrchestration",
    "MagenticManager",
    "MagenticOrchestration",
    "Orchestration",
    "OrchestrationResult",
    "PolicyClient",
    "Runtime",
    "RoundRobinManager",
    "RulesManager",
    "SequentialOrchestration",
    "Session",
    "SimAgent",
    "TaskLedger",
    "TaskStats",
    "new_work",
    "pending",
]
