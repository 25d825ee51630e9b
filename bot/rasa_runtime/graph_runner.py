"""Run a trained model's graph in a plain loop instead of through dask.

Rasa runs its prediction graph (NLU components, then the policies) with
`DaskGraphRunner` several times per turn. For each run it works out again
which nodes the targets need, builds a dask graph and lets dask's scheduler
call the nodes one after another in this thread; that bookkeeping cost more
than some of the components. `SequentialGraphRunner` works out the order of
the nodes once per set of targets and calls the same nodes with the same
inputs, so the results are Rasa's own.
"""

from __future__ import annotations

from graphlib import TopologicalSorter
from typing import Any

from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner

# A node's name and the names of what it needs (nodes or run inputs), in call order.
Plan = list[tuple[str, tuple[str, ...]]]


class SequentialGraphRunner(DaskGraphRunner):
    """Rasa's graph runner with the node order worked out once per set of targets."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[tuple[str, ...], Plan] = {}

    def _plan(self, targets: tuple[str, ...]) -> Plan:
        plan = self._plans.get(targets)
        if plan is None:
            nodes = self._graph_schema.minimal_graph_schema(list(targets)).nodes
            order = TopologicalSorter(
                {
                    name: [n for n in node.needs.values() if n in nodes]
                    for name, node in nodes.items()
                }
            ).static_order()
            plan = [(name, tuple(nodes[name].needs.values())) for name in order]
            self._plans[targets] = plan
        return plan

    def run(
        self, inputs: dict[str, Any] | None = None, targets: list[str] | None = None
    ) -> dict[str, Any]:
        """Runs the graph (see Rasa's `GraphRunner.run`)."""
        run_targets = targets if targets else self._graph_schema.target_names
        plan = self._plan(tuple(run_targets))
        outputs: dict[str, Any] = {name: (name, value) for name, value in (inputs or {}).items()}
        try:
            for name, needs in plan:
                # A need nobody provides is passed by name, as dask does; the node reports it.
                outputs[name] = self._instantiated_nodes[name](
                    *(outputs.get(need, need) for need in needs)
                )
        except RuntimeError as error:
            raise GraphRunError("Error running runner.") from error
        return dict(outputs[target] for target in run_targets)
