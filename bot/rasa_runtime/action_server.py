"""The action server as `rasa run actions` starts it, with one addition: only Rasa may call it.

    python -m bot.rasa_runtime.action_server --actions actions --port 5055

An action trusts the tracker it is sent: a caller who could post to the
action server directly could send one with `verified_customer` set and read
anybody's bill. So every call but the health check must carry the shared
secret (the `X-Action-Secret` header, `RASA_AUTH_TOKEN`), which Rasa sends
from endpoints.yml. `GET /metrics` (the actions' times and failures) is for
Prometheus only, guarded as everywhere (bot/infra/metrics.py), not by the
secret. Everything else is rasa-sdk's own.
"""

from __future__ import annotations

import hmac
from typing import Any

from sanic import Sanic, response
from sanic.request import Request

from bot.infra.settings import get_settings
from bot.rasa_runtime import metrics

SECRET_HEADER = "X-Action-Secret"
# /metrics has a guard of its own: Prometheus is not Rasa and gets no secret
OPEN_PATHS = {"/health", "/metrics"}


def require_secret(app: Sanic, secret: str) -> None:
    """Refuse every request to `app` without the shared secret (the health check excepted)."""

    @app.middleware("request")
    async def only_rasa(request: Request) -> Any:
        if request.path in OPEN_PATHS:
            return None
        given = request.headers.get(SECRET_HEADER, "")
        if not given or not hmac.compare_digest(given.encode(), secret.encode()):
            return response.json({"error": "only the Rasa server may call actions"}, status=401)
        return None


def main() -> None:
    from rasa_sdk import __main__ as sdk_main
    from rasa_sdk import endpoint

    settings = get_settings()
    make_app = endpoint.create_app

    def create_app(*args: Any, **kwargs: Any) -> Sanic:
        app = make_app(*args, **kwargs)
        require_secret(app, settings.rasa_auth_token)
        metrics.serve(app, settings, metrics.ACTIONS)
        return app

    endpoint.create_app = create_app
    metrics.time_actions()
    sdk_main.main()


if __name__ == "__main__":
    main()
