"""The page's `config.js` for the local stack: the same keys ChatSite generates, pointing at this origin.

A minimal renderer of its own: `components/chat_site.py` has the production one, but importing it loads
pulumi_aws (seconds). The output is safe in any HTML context: JSON with `<`, `>` and `&` escaped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping


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


def render_config_js(values: Mapping[str, object]) -> str:
    """`window.CHATBOT_CONFIG = {...};` as a script."""
    text = json.dumps(dict(values), indent=2, ensure_ascii=True)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"window.CHATBOT_CONFIG = {text};\n"
