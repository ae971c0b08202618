"""Each party's response logic, on plain fiber views."""

from __future__ import annotations

import numpy as np

from simulator.ottochain.parties import Traits, choose_cell, fiber_types

TYPES = fiber_types()
RNG = np.random.default_rng(0)


def view(ftype: str, state: str, data: dict, changed_at: float = 0.0, final: bool = False) -> dict:
    return {
        "id": "f",
        "fiber_type": ftype,
        "state": state,
        "data": data,
        "final": final,
        "sequence": 1,
        "changed_at": changed_at,
        "parties": ["A", "B"],
        "tally": {},
    }


def test_tictactoe_player_wins_then_blocks():
    board = ["X", "X", None, "O", "O", None, None, None, None]
    assert choose_cell(board, "X", 1.0, RNG) == 2  # completes the top row
    assert choose_cell(["X", "X", None, "O", None, None, None, None, None], "O", 1.0, RNG) == 2  # blocks


def test_counterparty_answers_what_is_pending_and_the_initiator_times_out():
    cooperative, hostile = Traits(1.0), Traits(0.0)
    order = TYPES["SimpleOrder"]
    pending = view("SimpleOrder", "pending", {"orderId": "o"})
    assert order.respond(1, "B", pending, {}, cooperative, RNG, 10, 90)[0] == "confirm"
    assert order.respond(1, "B", pending, {}, hostile, RNG, 10, 90)[0] == "cancel"
    assert order.respond(0, "A", pending, {}, cooperative, RNG, 10, 90) is None
    assert order.respond(0, "A", pending, {}, cooperative, RNG, 100, 90) == ("cancel", {"reason": "timeout"})
    contract = TYPES["Contract"]
    active = view("Contract", "ACTIVE", {"completions": [{"agent": "A"}, {"agent": "B"}], "terms": {}})
    assert contract.respond(1, "B", active, {}, cooperative, RNG, 5, 90) == ("finalize", {"agent": "B"})


def test_voting_completes_only_with_a_majority_of_votes():
    voting = TYPES["Voting"]
    members = {m: {} for m in "ABCD"}
    done = view("Voting", "DISSOLVED", {"members": members}, final=True)
    done["tally"] = {"vote": 3}
    assert voting.completed(done)
    done["tally"] = {"vote": 2}
    assert not voting.completed(done) and voting.outcome(done).startswith("DISSOLVED without")
