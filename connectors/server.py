"""`rasa run` with our fix for the cost of checking action server answers.

    python -m connectors.server run --model ... (the same arguments as `rasa`)

Rasa 3.6 checks every answer of the action server with `jsonschema.validate`,
which first checks the schema itself against the JSON Schema meta-schema,
on every call. Profiling the phone webhook under load showed that this
meta-schema check took 40 % of the Rasa server's CPU. `install()` keeps the
check of every answer but builds the validator once. The launcher starts
Rasa through this module; nothing changes when the module is only imported.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from typing import Any

from jsonschema import validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@lru_cache(maxsize=1)
def _action_answer_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def _validate_action_result(_action: RemoteAction, result: dict[str, Any]) -> bool:
    """The same check and error as Rasa's, with the validator built once."""
    error = best_match(_action_answer_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, make sure your "
        "response from the Action endpoint is valid. For more information about "
        f"the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install() -> None:
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]


def main() -> None:
    from rasa.__main__ import main as rasa_main

    install()
    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
