"""Our custom actions run inside the Rasa server's process, without HTTP or JSON.

Rasa calls custom actions through its action endpoint: `RemoteAction` builds
the call (the action's name, the tracker, the domain), posts it to the
action server and reads the answer. With `ACTIONS=in-process` (the default)
the action endpoint is `InProcessActions`: the same call goes straight to
rasa-sdk's `ActionExecutor`, which runs our actions in Rasa's event loop, and
the answer and errors take the shapes an action server's would have:

- an action that rejects its run (a form's validation) → HTTP 400 with the
  action's name, which Rasa turns into `ActionExecutionRejection`;
- an unknown action → 404, a failing action or an answer that is not JSON
  → 500, which Rasa turns into `RasaException` (bot/rasa_runtime/server.py
  then apologises to the customer).

So everything around the call stays Rasa's own, and the same tests run in both
modes. The answer passes through a JSON round trip, as it would over HTTP,
so an action never hands Rasa an object that could not be stored; the call
itself is passed as it is (Rasa builds it fresh for every call).

Actions never block the event loop: their database work runs in worker
threads (`bot.infra.db.run_in_transaction`). With `ACTIONS=server` Rasa calls
the action server (bot/rasa_runtime/action_server.py) as usual, the way to
run actions on other machines.
"""

from __future__ import annotations

import logging
from typing import Any

import ujson
from rasa.utils.endpoints import ClientResponseError, EndpointConfig
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

logger = logging.getLogger(__name__)

ACTIONS_PACKAGE = "actions"


def _as_json(value: Any) -> Any:
    """`value` as the action server would have sent it (plain JSON types)."""
    return ujson.loads(ujson.dumps(value, ensure_ascii=False, escape_forward_slashes=False))


class InProcessActions(EndpointConfig):
    """An action endpoint that runs the actions of `package` in this process."""

    def __init__(self, package: str = ACTIONS_PACKAGE) -> None:
        super().__init__(url=f"in-process:{package}")
        self.executor = ActionExecutor()
        self.executor.register_package(package)

    async def request(
        self,
        method: str = "post",
        subpath: str | None = None,
        content_type: str | None = "application/json",
        compress: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Run the action the call (`json=`) names; its answer, or the error Rasa expects."""
        call = kwargs.get("json") or {}
        try:
            answer = _as_json(await self.executor.run(call))
        except ActionExecutionRejection as rejection:
            body = {"error": rejection.message, "action_name": rejection.action_name}
            raise ClientResponseError(400, "Bad Request", ujson.dumps(body)) from rejection
        except ActionNotFoundException as missing:
            logger.error("no custom action %s", missing.action_name)
            raise ClientResponseError(404, "Not Found", missing.message) from missing
        except Exception as error:
            logger.exception("custom action %s failed", call.get("next_action"))
            raise ClientResponseError(500, "Internal Server Error", type(error).__name__) from error
        return answer
