"""The page's `config.js` for the local stack: the keys ChatSite deploys, pointing at this origin.

Rendered by the page contract's `render_config_js` (one renderer, one key list, `contracts.page`): the local
page reads exactly what the deployed page reads, with every endpoint on this one origin.
"""

from __future__ import annotations

from collections.abc import Sequence

from contracts.page import render_config_js
from contracts.stack import API_BASE_PATH
from local.lambda_events import REGION
from local.staff_sign_in import CLIENT_ID

__all__ = ["COGNITO_PATH", "config_values", "render_config_js"]

COGNITO_PATH = "/cognito-identity"  # where the local server forwards the page's Cognito Identity calls to moto


def config_values(
    *,
    origin: str,
    identity_pool_id: str,
    bot_id: str,
    bot_alias_id: str,
    locale_id: str,
    suggestions: list[str],
    embed_origins: Sequence[str] = (),
) -> dict[str, object]:
    """`window.CHATBOT_CONFIG` for a page served at `origin` (e.g. http://127.0.0.1:8000), embeddable by
    `embed_origins` (the demo host); staff sign in at the local stand-in of the hosted UI, on the same origin
    (`local.staff_sign_in`)."""
    return {
        "region": REGION,
        "identityPoolId": identity_pool_id,
        "botId": bot_id,
        "botAliasId": bot_alias_id,
        "localeId": locale_id,
        "apiBasePath": API_BASE_PATH,
        "lexEndpoint": origin,  # the Lex runtime answers on this origin, at Lex's own paths
        "cognitoEndpoint": origin + COGNITO_PATH,
        "suggestions": suggestions,
        "staffSignIn": {"domain": origin, "clientId": CLIENT_ID},
        "embedOrigins": list(embed_origins),
    }
