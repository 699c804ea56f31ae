"""The page's `config.js` for the local stack: the keys ChatSite deploys, pointing at this origin.

Rendered by the page contract's `render_config_js` (one renderer, one key list, `contracts.page`): the local
page reads exactly what the deployed page reads, with every endpoint on this one origin. Its branding comes from
a stack file's `support-chatbot:*` keys (`python -m local --stack dev`), checked by the same contract
(`contracts.branding`) as `pulumi preview` checks them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from contracts.branding import CONFIG_KEYS, Branding, BrandingError, branding_from_values
from contracts.page import render_config_js
from contracts.stack import API_BASE_PATH
from local.lambda_events import REGION
from local.staff_sign_in import CLIENT_ID

__all__ = ["COGNITO_PATH", "BrandingFileError", "branding_from_stack_file", "config_values", "render_config_js"]

COGNITO_PATH = "/cognito-identity"  # where the local server forwards the page's Cognito Identity calls to moto
NAMESPACE = "support-chatbot"  # the Pulumi project's config namespace (components.settings.NAMESPACE)


class BrandingFileError(Exception):
    """A stack file cannot give the local page its branding; the message names the file, the key and the fix."""


def branding_from_stack_file(path: Path) -> Branding:
    """The branding keys of a Pulumi stack file (`Pulumi.dev.yaml`), read as plain YAML (no Pulumi needed), with
    the checks `pulumi preview` runs; other keys are the cloud's and are ignored. A custom domain is not this
    origin, so a logo must be a path (or a data: URL) here."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise BrandingFileError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise BrandingFileError(f"{path} is not valid YAML: {exc}") from None
    config: Any = document.get("config") if isinstance(document, dict) else None
    config = config if isinstance(config, dict) else {}
    by_key = {f"{NAMESPACE}:{key}": field for field, key in CONFIG_KEYS.items()}
    values = {by_key[key]: _as_pulumi_reads(value) for key, value in config.items() if key in by_key}
    try:
        return branding_from_values(values)
    except BrandingError as exc:
        key = f"{NAMESPACE}:{CONFIG_KEYS.get(exc.field, exc.field)}"
        raise BrandingFileError(
            f"{path.name}: {key} {exc.reason}. Fix: pulumi config set {key} <value> --stack {_stack_name(path)} "
            f"(or edit {path.name})"
        ) from None


def config_values(
    *,
    origin: str,
    identity_pool_id: str,
    bot_id: str,
    bot_alias_id: str,
    locale_id: str,
    suggestions: list[str],
    embed_origins: Sequence[str] = (),
    branding: Branding | None = None,
) -> dict[str, object]:
    """`window.CHATBOT_CONFIG` for a page served at `origin` (e.g. http://127.0.0.1:8000), embeddable by
    `embed_origins` (the demo host); staff sign in at the local stand-in of the hosted UI, on the same origin
    (`local.staff_sign_in`). `suggestions` are the bot definition's, which `branding` may replace."""
    return {
        "region": REGION,
        "identityPoolId": identity_pool_id,
        "botId": bot_id,
        "botAliasId": bot_alias_id,
        "localeId": locale_id,
        "apiBasePath": API_BASE_PATH,
        "lexEndpoint": origin,  # the Lex runtime answers on this origin, at Lex's own paths
        "cognitoEndpoint": origin + COGNITO_PATH,
        **(branding or Branding()).config_values(default_suggestions=suggestions),
        "staffSignIn": {"domain": origin, "clientId": CLIENT_ID},
        "embedOrigins": list(embed_origins),
    }


def _as_pulumi_reads(value: object) -> object:
    """A YAML scalar as the Pulumi CLI hands it to the program: text (`botName: 2024` is the name "2024")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int | float) else value


def _stack_name(path: Path) -> str:
    return path.name.removeprefix("Pulumi.").removesuffix(".yaml")
