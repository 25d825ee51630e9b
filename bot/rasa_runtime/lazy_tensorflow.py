"""TensorFlow only when a model needs it, so a Rasa instance running our model stays small.

Rasa 3.6 and spaCy load TensorFlow (about 350 MB resident, and half a
minute of start-up on a small machine) in every process, whether the model
uses it or not. Ours does not: its NLU is scikit-learn and CRF, its policies
are rules and memoization. `defer()`, called before Rasa is imported (by
`python -m bot.rasa_runtime`, the Rasa process the launcher starts):

1. imports spaCy's thinc while TensorFlow is hidden: thinc only checks whether
   TensorFlow is there (to offer it as a backend, which spaCy's tokenizer, all
   we use, does not need), and the check would load it;
2. defers `tensorflow`: `import tensorflow as tf` at the top of Rasa's modules
   costs nothing, the first use of `tf.<anything>` runs TensorFlow's import;
3. defers Rasa's training helpers (`rasa.utils.train_utils`, which import
   Keras classes) too, and answers the one thing the CRF entity extractor
   reads from them when it loads (how to split entities at commas) from the
   component's configuration, as Rasa documents it; any other use runs them;
4. reads a model's training graph only when something asks for it: loading a
   model resolves the class of every node of it, and the training-time config
   validator imports DIET (and so TensorFlow); serving uses the prediction
   graph only.

A model with a TensorFlow component (DIET, TED, the ResponseSelector) still
works: its first use loads TensorFlow. tests/unit/test_lazy_tensorflow.py
starts the Rasa process's imports and our model in a fresh interpreter and
checks that TensorFlow stays out.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any

SPLIT_ENTITIES_BY_COMMA = "split_entities_by_comma"


class _Deferred(types.ModuleType):
    """A module whose code runs when one of its attributes is first used.

    The import system reads `__spec__` of every module an `import` names; it is
    set from the start, so importing the module costs nothing. (importlib's
    LazyLoader loads on any attribute, `__spec__` included, so `import
    tensorflow` alone would load TensorFlow.) Importing a submodule reads the
    package's `__path__`, which runs the package first, as an import would.
    """

    def __getattr__(self, name: str) -> Any:  # only for attributes not there yet
        state = self.__dict__
        probe = name.startswith("__") and name not in ("__all__", "__version__", "__path__")
        if "_deferred_path" not in state or probe:
            raise AttributeError(f"module {state['__name__']!r} has no attribute {name!r}")
        path = state.pop("_deferred_path")
        if path is not None:
            state["__path__"] = path
        state["__spec__"].loader.exec_module(self)
        return getattr(self, name)


def _defer(name: str, **preset: Any) -> types.ModuleType:
    """Put module `name` in place, its code run on first use; `preset` attributes answer
    without running it."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(name)
    module = importlib.util.module_from_spec(spec)
    module.__class__ = _Deferred
    # importing a submodule (`tensorflow.compat`) reads the package's path:
    # that is a use, which runs the package's own code first
    module.__dict__["_deferred_path"] = module.__dict__.pop("__path__", None)
    module.__dict__.update(preset)
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:  # `import a.b` then `a.b.f()` finds it on its package, as after an import
        setattr(sys.modules[parent], child, module)
    return module


def split_entities(config: bool | dict[str, Any], default: bool) -> dict[str, bool]:
    """Which entities are split at commas: `split_entities_by_comma` is one yes/no for all,
    or a yes/no per entity type with `default` for the others (Rasa's configuration)."""
    if isinstance(config, bool):
        return {SPLIT_ENTITIES_BY_COMMA: config}
    return {**config, SPLIT_ENTITIES_BY_COMMA: default}


def defer() -> None:
    """Keep TensorFlow out of this process until something really uses it."""
    if "tensorflow" in sys.modules or "rasa" in sys.modules:
        return  # too late (or done): the imports have happened
    sys.modules["tensorflow"] = None  # type: ignore[assignment]
    try:
        import thinc.compat  # noqa: F401 - imported now, finding no TensorFlow
    finally:
        del sys.modules["tensorflow"]
    _defer("tensorflow")
    _defer("rasa.utils.train_utils", init_split_entities=split_entities)
    _training_graph_when_asked()


def _training_graph_when_asked() -> None:
    from rasa.engine.graph import GraphSchema
    from rasa.engine.storage.storage import ModelMetadata

    class TrainingGraph(GraphSchema):
        """A model's training graph, deserialised when its nodes are first read."""

        def __init__(self, serialized: dict[str, Any]) -> None:  # noqa: D107
            self._serialized = serialized
            self._nodes: dict[str, Any] | None = None

        @property  # type: ignore[override]
        def nodes(self) -> dict[str, Any]:
            if self._nodes is None:
                self._nodes = GraphSchema.from_dict(self._serialized).nodes
            return self._nodes

    rasas = ModelMetadata.from_dict.__func__  # type: ignore[attr-defined]

    def from_dict(cls: type[ModelMetadata], serialized: dict[str, Any]) -> ModelMetadata:
        metadata = rasas(cls, {**serialized, "train_schema": {"nodes": {}}})
        metadata.train_schema = TrainingGraph(serialized["train_schema"])
        return metadata

    ModelMetadata.from_dict = classmethod(from_dict)  # type: ignore[method-assign, assignment]
