"""The availability state at the notebook, from replicas and rules."""

from __future__ import annotations

from escape_dlaas.domain.availability import dataset_availability, did_availability, file_state, summarise_rule

NB = "NOTEBOOK-LOCAL"


def f(name, states, size=10):
    return {"scope": "s", "name": name, "bytes": size, "states": states}


def rule(state, ok=0, rep=0, stuck=0, expr=NB, error=None):
    return summarise_rule(
        {
            "id": "a" * 32,
            "scope": "s",
            "name": "ds",
            "account": "alice",
            "rse_expression": expr,
            "state": state,
            "locks_ok_cnt": ok,
            "locks_replicating_cnt": rep,
            "locks_stuck_cnt": stuck,
            "error": error,
        },
        {NB},
    )


def test_file_states():
    assert file_state({NB: "AVAILABLE", "SAFE": "AVAILABLE"}, NB) == "AVAILABLE"
    assert file_state({NB: "COPYING", "SAFE": "AVAILABLE"}, NB) == "REPLICATING"
    assert file_state({"SAFE": "AVAILABLE"}, NB) == "ELSEWHERE"
    assert file_state({"SAFE": "UNAVAILABLE"}, NB) == "LOST"


def test_all_files_here_is_available():
    a = did_availability("s:ds", [f("1", {NB: "AVAILABLE"}), f("2", {NB: "AVAILABLE"})], [], NB)
    assert (a.state, a.files_at_notebook, a.bytes_at_notebook) == ("AVAILABLE", 2, 20)


def test_partial_replicating_stuck_not_available_empty():
    files = [f("1", {NB: "AVAILABLE"}), f("2", {"SAFE": "AVAILABLE"})]
    assert did_availability("s:ds", files, [], NB).state == "PARTIAL"
    copying = [f("1", {NB: "AVAILABLE"}), f("2", {NB: "COPYING"})]
    assert did_availability("s:ds", copying, [rule("REPLICATING", 1, 1)], NB).state == "REPLICATING"
    stuck = did_availability("s:ds", copying, [rule("STUCK", 1, 0, 1, error="source unreachable")], NB)
    assert (stuck.state, stuck.reason) == ("STUCK", "source unreachable")
    assert did_availability("s:ds", [f("2", {"SAFE": "AVAILABLE"})], [], NB).state == "NOT_AVAILABLE"
    assert did_availability("s:ds", [], [], NB).state == "EMPTY"


def test_rules_elsewhere_do_not_count_as_replicating_here():
    files = [f("2", {"SAFE": "AVAILABLE"})]
    other = rule("REPLICATING", 0, 1, expr="QOS=CHEAP")
    assert not other.towards_notebook
    assert did_availability("s:ds", files, [other], NB).state == "NOT_AVAILABLE"


def drow(rse, length, available, size=100):
    return {
        "scope": "s",
        "name": "ds",
        "rse": rse,
        "length": length,
        "available_length": available,
        "bytes": size,
        "available_bytes": size * available // max(length, 1),
    }


def test_dataset_state_from_dataset_replicas_without_listing_files():
    assert dataset_availability("s:ds", [drow("SAFE", 3, 3), drow(NB, 3, 3)], [], NB).state == "AVAILABLE"
    partial = dataset_availability("s:ds", [drow("SAFE", 3, 3), drow(NB, 3, 1)], [], NB)
    assert (partial.state, partial.files_at_notebook, partial.files_total) == ("PARTIAL", 1, 3)
    assert dataset_availability("s:ds", [drow("SAFE", 3, 3)], [], NB).state == "NOT_AVAILABLE"


def test_dataset_rule_locks_are_newer_than_the_counts():
    stale = [drow("SAFE", 3, 3), drow(NB, 3, 0)]
    copying = dataset_availability("s:ds", stale, [rule("REPLICATING", 1, 2)], NB)
    assert (copying.state, copying.files_at_notebook, copying.files_replicating) == ("REPLICATING", 1, 2)
    done = dataset_availability("s:ds", stale, [rule("OK", 3)], NB)
    assert (done.state, done.files_at_notebook) == ("AVAILABLE", 3)
    stuck = dataset_availability("s:ds", stale, [rule("STUCK", 2, 0, 1, error="no source")], NB)
    assert (stuck.state, stuck.reason) == ("STUCK", "no source")
