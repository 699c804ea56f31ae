"""The local page's branding: read from a stack file's `support-chatbot:*` keys, checked as `pulumi preview` checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.__main__ import main
from local.config_js import BrandingFileError, branding_from_stack_file, config_values, render_config_js

DEFINITION_SUGGESTIONS = ["Where is my order?"]


def stack_file(tmp_path: Path, lines: str, name: str = "acme") -> Path:
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text("config:\n  aws:region: us-east-1\n  support-chatbot:sampleData: true\n" + lines)
    return path


def page_config(branding_file: Path) -> dict[str, object]:
    """The config.js the local stack would serve with this stack file's branding, parsed."""
    values = config_values(
        origin="http://127.0.0.1:8000",
        identity_pool_id="us-east-1:local",
        bot_id="LOCALBOTID",
        bot_alias_id="LOCALALIAS",
        locale_id="en_US",
        suggestions=DEFINITION_SUGGESTIONS,
        branding=branding_from_stack_file(branding_file),
    )
    text = render_config_js(values)
    parsed: dict[str, object] = json.loads(text.removeprefix("window.CHATBOT_CONFIG = ").rstrip().removesuffix(";"))
    return parsed


def test_a_stack_files_branding_reaches_the_local_config_js(tmp_path: Path) -> None:
    # GIVEN a stack file with a name, an accent and its own questions, among keys only the cloud reads
    path = stack_file(
        tmp_path,
        '  support-chatbot:botName: Acme Help\n  support-chatbot:accentColor: "#0F766E"\n'
        "  support-chatbot:suggestedQuestions:\n    - Where is my parcel?\n",
    )
    # WHEN the local stack makes its config.js from it
    config = page_config(path)
    # THEN the page gets them, as ChatSite would write them
    assert config["botName"] == "Acme Help"
    assert config["accentColor"] == "#0f766e"
    assert config["suggestions"] == ["Where is my parcel?"]


def test_a_stack_file_without_branding_keeps_the_pages_look(tmp_path: Path) -> None:
    config = page_config(stack_file(tmp_path, ""))
    assert config["suggestions"] == DEFINITION_SUGGESTIONS
    assert not {"botName", "accentColor", "welcomeText", "logoUrl", "privacyNoticeUrl"} & set(config)


def test_a_low_contrast_accent_in_the_stack_file_is_refused_with_the_key_and_the_fix(tmp_path: Path) -> None:
    # GIVEN a stack file whose accent is too light to read on white
    path = stack_file(tmp_path, '  support-chatbot:accentColor: "#facc15"\n')
    # WHEN the local stack reads it
    with pytest.raises(BrandingFileError) as error:
        branding_from_stack_file(path)
    # THEN the error names the file, the key, the colour, the ratio and the command that fixes it
    message = str(error.value)
    for part in ("Pulumi.acme.yaml", "support-chatbot:accentColor", "#facc15", ":1", "--stack acme"):
        assert part in message, message


def test_python_m_local_with_a_bad_stack_file_says_why_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN `--stack` naming a stack with no file
    # WHEN python -m local starts
    code = main(["--stack", "no-such-stack-here", "--port", "0"])
    # THEN it stops before starting anything, naming the file
    assert code == 2
    assert "Pulumi.no-such-stack-here.yaml" in capsys.readouterr().err
