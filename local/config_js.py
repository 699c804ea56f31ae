"""The page's `config.js` for the local stack: the keys ChatSite deploys, pointing at this origin.

Rendered by ChatSite's own `render_config_js` (one renderer, one key list: the local page can never drift
from the deployed one). Importing `components.chat_site` costs about 0.4 s (pulumi_aws loads lazily).
"""

from __future__ import annotations

from components.chat_site import render_config_js

__all__ = ["config_values", "render_config_js"]


def config_values(
    *, origin: str, identity_pool_id: str, bot_id: str, bot_alias_id: str, locale_id: str, suggestions: list[str]
) -> dict[str, object]:
    """`window.CHATBOT_CONFIG` for a page served at `origin` (e.g. http://127.0.0.1:8000)."""
    return {
        "region": "us-east-1",
        "identityPoolId": identity_pool_id,
        "botId": bot_id,
        "botAliasId": bot_alias_id,
        "localeId": locale_id,
        "apiBasePath": "/api",
        "lexEndpoint": origin,
        "cognitoEndpoint": f"{origin}/cognito-identity",
        "suggestions": suggestions,
    }
