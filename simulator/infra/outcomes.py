"""Key outcomes of an infra run, read from the World's final state."""

from __future__ import annotations

from ..engine import World
from .agents import citizen_panics


def outcomes(w: World) -> dict:
    svc_ids = [e for e, k in w.kinds.items() if k == "service"]
    per_service = {}
    for sid in svc_ids:
        s = w.entities[sid]
        per_service[sid] = {
            "status": s["status"],
            "failures": s["failures"],
            "overloads": s["overloads"],
            "cascade_failures": s["cascade_failures"],
            "first_failure_at": s["first_failure_at"],
            "served": s["served"],
            "rejected": s["rejected"],
            "mean_wait": s["total_wait"] / s["started"] if s["started"] else 0.0,
            "interventions": s["interventions"],
            "first_intervention_at": s["first_intervention_at"],
        }
    panics = citizen_panics(w)
    policies = [w.entities[e] for e, k in w.kinds.items() if k == "policy"]
    decisions = policies[0]["decisions"] if policies else []
    applied = [
        v["first_intervention_at"] for v in per_service.values() if v["first_intervention_at"] is not None
    ]
    failed_at = [v["first_failure_at"] for v in per_service.values() if v["first_failure_at"] is not None]
    rejected = sum(v["rejected"] for v in per_service.values())
    served = sum(v["served"] for v in per_service.values())
    return {
        "events": w.seq,
        "end_time": w.now,
        "served": served,
        "unmet_demand": rejected,
        "unmet_share": rejected / (served + rejected) if served + rejected else 0.0,
        "services_failed": sum(1 for v in per_service.values() if v["failures"]),
        "services_overloaded": sum(1 for v in per_service.values() if v["overloads"] or v["failures"]),
        "cascade": any(v["cascade_failures"] for v in per_service.values()),
        "cascade_failures": sum(v["cascade_failures"] for v in per_service.values()),
        "first_failure_at": min(failed_at) if failed_at else None,
        "first_decision_at": decisions[0]["at"] if decisions else None,
        "first_intervention_at": min(applied) if applied else None,
        "decisions": len(decisions),
        "budget_left": policies[0]["budget"] if policies else None,
        "recovered": all(v["status"] == "ok" for v in per_service.values()),
        "final_failed": sorted(sid for sid, v in per_service.items() if v["status"] == "failed"),
        "mean_panic": sum(panics) / len(panics) if panics else 0.0,
        "services": per_service,
    }
