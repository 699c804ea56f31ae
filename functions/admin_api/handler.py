"""Staff's admin API (`contracts.stack.ADMIN_ROUTES`): a placeholder answering 501 on every route.

The real handler is the admin-app helper's (issue 12); this one exists so the infrastructure that deploys and routes
to `functions/admin_api` can be built and tested on its own. The lead takes admin-app's version at the merge.
No `from __future__ import annotations` here: Powertools validates the routes of this module.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from chatbot_shared.environment import FunctionEnvironment
from chatbot_shared.rest import JsonApi, error_response, parse_allowed_origins
from contracts.stack import ADMIN_ROUTES, ADMIN_TURNS_ROUTE, ALLOWED_ORIGINS, ORIGIN_SECRETS, QUERY_LOG_TABLE_NAME


@dataclass(frozen=True)
class Settings:
    """Everything this function reads from its environment (`contracts.stack.FUNCTION_ENVIRONMENT["admin_api"]`)."""

    table_name: str
    allowed_origins: frozenset[str]
    origin_secrets: tuple[str, ...]

    @classmethod
    def read(cls, source: Mapping[str, str] | None = None) -> "Settings":
        """Read from `source` (default: the process environment); ConfigurationError names a missing variable."""
        env = FunctionEnvironment(ADMIN_TURNS_ROUTE.function, source)
        return cls(
            table_name=env.require(QUERY_LOG_TABLE_NAME),
            allowed_origins=parse_allowed_origins(env.optional(ALLOWED_ORIGINS)),
            origin_secrets=tuple(env.string_list(ORIGIN_SECRETS)),
        )


@cache
def settings() -> Settings:
    """This function's settings, read on first use."""
    return Settings.read()


api = JsonApi(
    allowed_origins=lambda: settings().allowed_origins,
    origin_secrets=lambda: settings().origin_secrets,
)
app = api.app


def not_implemented() -> Response:
    """Every admin route, until the admin API is merged."""
    return error_response(HTTPStatus.NOT_IMPLEMENTED, "the admin API is not implemented in this build")


for _route in ADMIN_ROUTES:
    app.route(_route.path, method=_route.method)(not_implemented)


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway proxy entry point."""
    return api.handle(event, context)
