"""Workflows a job has just saved, kept in memory for its next inline round on the same instance.

A worker that applies a service result runs the next service task of the same instance in the same job
(engine/service_worker.py), and applies its result under the instance lock again. Restoring the
workflow from the state it has itself just committed would cost a JSON parse and a SpiffWorkflow
deserialisation for nothing, so the job keeps the object with the state text it saved. The next round
locks the row as always and uses the object only if the row still holds exactly that text: any other
writer in between (a user, the scheduler, a migration) changed it, and the state is restored afresh.

Only one job holds an entry, for as long as that job runs: nothing is shared between jobs or threads.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow


class WarmWorkflows:
    """instance id -> (the state text the job committed, the workflow object it was dumped from)."""

    def __init__(self) -> None:
        self._held: dict[int, tuple[str, BpmnWorkflow]] = {}

    def take(self, instance_id: int, state: str) -> BpmnWorkflow | None:
        """The kept workflow if the locked row's `state` is still the one it was saved as, else None.

        Taken, not peeked: a round that fails after this leaves nothing behind that could be stale.
        """
        held = self._held.pop(instance_id, None)
        if held is None or held[0] != state:
            return None
        return held[1]

    def keep(self, instance_id: int, state: str, workflow: BpmnWorkflow) -> None:
        """Remember a workflow whose `state` has been committed (call only after the commit)."""
        self._held[instance_id] = (state, workflow)

    def __len__(self) -> int:
        return len(self._held)

