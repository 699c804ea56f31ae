"""Branding: the contrast maths, the checks of every branding value, and the settings `pulumi preview` refuses."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components.settings import SettingsError, settings_from_values
from contracts.branding import (
    AA_TEXT,
    DEFAULT_ACCENT,
    MAX_NAME_CHARS,
    MAX_SUGGESTIONS,
    Branding,
    BrandingError,
    branding_from_values,
    check_accent,
    check_link,
    check_logo_url,
    contrast_ratio,
    mix,
    passing_accent_near,
    relative_luminance,
    theme_colours,
)
from tests.infra.resource_graph import EVERY_OPTION, run_stack, stack_config

REQUIRED = {"region": "us-east-1", "escalation_sender": "bot@example.com", "escalation_recipients": ["t@example.com"]}
YELLOW = "#facc15"  # Tailwind's yellow-400: too light for text on white
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"


# --- the WCAG 2.x maths --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "ratio"),
    [
        ("#000000", "#ffffff", 21.0),  # the largest contrast there is
        ("#ffffff", "#ffffff", 1.0),  # none at all
        ("#767676", "#ffffff", 4.54),  # the classic lightest grey passing AA on white
        ("#777777", "#ffffff", 4.48),  # one step lighter fails
        ("#0000ff", "#ffffff", 8.59),  # pure blue
        ("#ff0000", "#ffffff", 4.00),  # pure red
        ("#595959", "#ffffff", 7.00),  # the lightest grey passing AAA on white
    ],
)
def test_contrast_ratios_match_the_known_wcag_pairs(first: str, second: str, ratio: float) -> None:
    # GIVEN a pair whose WCAG 2.x ratio is published
    # WHEN it is computed, either way round
    # THEN it matches to two decimals
    assert round(contrast_ratio(first, second), 2) == ratio
    assert contrast_ratio(second, first) == contrast_ratio(first, second)


def test_relative_luminance_runs_from_black_to_white() -> None:
    assert relative_luminance("#000000") == 0.0
    assert relative_luminance("#ffffff") == pytest.approx(1.0)
    assert relative_luminance("#808080") == pytest.approx(0.2159, abs=1e-4)  # sRGB mid grey is not half as bright


def test_mix_is_css_color_mix_in_srgb() -> None:
    # color-mix(in srgb, #4f39f6 70%, #000) and (..., 10%, #fff), as Chromium computes them, rounded
    assert mix("#4f39f6", "#000000", 70) == "#3728ac"
    assert mix("#4f39f6", "#ffffff", 10) == "#edebfe"
    assert mix("#123456", "#abcdef", 100) == "#123456"


# --- the accent ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("accent", [DEFAULT_ACCENT, "#0f766e", "#f97316", "#b91c1c", "#000000"])
def test_an_accent_readable_in_both_themes_is_accepted(accent: str) -> None:
    # GIVEN an accent whose every derived colour reaches AA
    # WHEN it is checked
    # THEN it is kept, and every accent text colour reaches 4.5:1 on the theme's page
    assert check_accent(accent.upper()) == accent
    assert contrast_ratio(theme_colours(accent, "light")["accent-strong"], "#ffffff") >= AA_TEXT
    assert contrast_ratio(theme_colours(accent, "dark")["accent-strong"], "#0f172b") >= AA_TEXT
    on_accent = theme_colours(accent, "light")["on-accent"]
    assert contrast_ratio(on_accent, accent) >= AA_TEXT


def test_a_low_contrast_accent_is_refused_naming_the_colour_the_ratio_the_theme_and_a_passing_colour() -> None:
    # GIVEN yellow, whose accent text on the light theme's white page reaches only about 3:1
    # WHEN it is checked
    with pytest.raises(BrandingError) as error:
        check_accent(YELLOW)
    # THEN the reason names the colour, the ratio reached, the theme and AA's threshold
    message = str(error.value)
    assert error.value.field == "accent_color"
    assert YELLOW in message, message
    assert re.search(r"\b3\.\d\d:1\b", message), message
    assert "light theme" in message, message
    assert "4.5:1" in message, message
    # AND it offers a colour near it that does pass
    suggestion = passing_accent_near(YELLOW)
    assert suggestion is not None
    assert suggestion in message, message
    assert check_accent(suggestion) == suggestion


@pytest.mark.parametrize("value", ["red", "#fff", "#12345g", "4f39f6", 0x4F39F6, "#4f39f6 "])
def test_an_accent_not_written_rrggbb_is_refused(value: object) -> None:
    with pytest.raises(BrandingError, match="#rrggbb"):
        check_accent(value)


# --- words, questions and links ---------------------------------------------------------------------------------------


def test_no_branding_is_todays_page() -> None:
    # GIVEN no branding value at all
    branding = branding_from_values({})
    # WHEN config.js's entries are made
    values = branding.config_values(default_suggestions=["Where is my order?"])
    # THEN only the definition's suggestions are there: the page keeps its own name, words and colours
    assert branding == Branding()
    assert values == {"suggestions": ["Where is my order?"]}


def test_set_values_become_config_keys_and_questions_replace_the_definitions() -> None:
    branding = branding_from_values(
        {"bot_name": " Acme Help ", "accent_color": "#0F766E", "suggested_questions": ["Where is my parcel?"]}
    )
    assert branding.config_values(default_suggestions=["Where is my order?"]) == {
        "suggestions": ["Where is my parcel?"],
        "botName": "Acme Help",
        "accentColor": "#0f766e",
    }


def test_an_empty_question_list_offers_no_questions() -> None:
    branding = branding_from_values({"suggested_questions": []})
    assert branding.config_values(default_suggestions=["Where is my order?"]) == {"suggestions": []}


@pytest.mark.parametrize(
    ("values", "field", "reason"),
    [
        ({"bot_name": "x" * (MAX_NAME_CHARS + 1)}, "bot_name", f"at most {MAX_NAME_CHARS}"),
        ({"bot_name": "   "}, "bot_name", "must not be empty"),
        ({"bot_subtitle": "two\nlines"}, "bot_subtitle", "one line"),
        ({"welcome_text": 42}, "welcome_text", "must be text"),
        ({"suggested_questions": "Where is my order?"}, "suggested_questions", "JSON list"),
        ({"suggested_questions": ["q"] * (MAX_SUGGESTIONS + 1)}, "suggested_questions", f"at most {MAX_SUGGESTIONS}"),
        ({"suggested_questions": ["Same?", "Same?"]}, "suggested_questions", "twice"),
        ({"privacy_notice_url": "http://example.com/privacy"}, "privacy_notice_url", "https://"),
        ({"privacy_notice_url": "javascript:alert(1)"}, "privacy_notice_url", "https://"),
        ({"privacy_notice_url": "//evil.example/privacy"}, "privacy_notice_url", "https://"),
        ({"logo_url": "https://cdn.example.net/logo.png"}, "logo_url", "Content-Security-Policy"),
        ({"logo_url": "data:text/html;base64,PGI+"}, "logo_url", "base64 PNG"),
        ({"theme": "dark"}, "theme", "not a branding setting"),
    ],
)
def test_a_bad_branding_value_is_refused_naming_the_field_and_the_reason(
    values: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(BrandingError) as error:
        branding_from_values(values)
    assert error.value.field == field
    assert reason in str(error.value), str(error.value)


def test_links_may_be_https_or_a_path_on_the_page() -> None:
    assert check_link("privacy_notice_url", "https://www.example.com/privacy") == "https://www.example.com/privacy"
    assert check_link("privacy_notice_url", "/privacy.html") == "/privacy.html"


def test_a_logo_may_be_a_path_a_small_data_image_or_on_the_pages_own_domain() -> None:
    # GIVEN logos the page's Content-Security-Policy (img-src 'self' data:) loads
    # WHEN / THEN each is accepted
    assert check_logo_url("/brand/logo.svg") == "/brand/logo.svg"
    assert check_logo_url("data:image/png;base64,iVBORw0KGgo=") == "data:image/png;base64,iVBORw0KGgo="
    on_domain = "https://chat.acme.io/brand/logo.svg"
    assert check_logo_url(on_domain, page_origin="https://chat.acme.io") == on_domain
    # AND an https logo elsewhere is not
    with pytest.raises(BrandingError):
        check_logo_url("https://www.acme.io/logo.svg", page_origin="https://chat.acme.io")


# --- settings: what `pulumi preview` says -------------------------------------------------------------------------


def test_preview_refuses_a_low_contrast_accent_with_the_colour_the_ratio_and_the_fix() -> None:
    # GIVEN a stack whose accentColor is yellow
    # WHEN its settings are read (as `pulumi preview` does first)
    with pytest.raises(SettingsError) as error:
        settings_from_values("dev", {**REQUIRED, "accent_color": YELLOW})
    # THEN the error names the key, the colour, the ratio and the command that sets a readable one
    message = str(error.value)
    assert "accentColor" in message, message
    assert YELLOW in message, message
    assert re.search(r"\d\.\d\d:1", message), message
    assert "pulumi config set support-chatbot:accentColor" in message, message


def test_a_logo_on_the_custom_domain_is_accepted_only_with_that_domain() -> None:
    domain = {"custom_domain": "chat.acme.io", "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/a"}
    logo = "https://chat.acme.io/logo.svg"
    assert settings_from_values("dev", {**REQUIRED, **domain, "logo_url": logo}).branding.logo_url == logo
    with pytest.raises(SettingsError, match="logoUrl"):
        settings_from_values("dev", {**REQUIRED, "logo_url": logo})


def test_the_whole_program_refuses_a_low_contrast_accent() -> None:
    # GIVEN the dev stack with a yellow accent
    config = {**stack_config("dev"), "support-chatbot:accentColor": YELLOW}
    # WHEN the program runs, as `pulumi preview` runs it
    # THEN it stops on the settings, naming the colour
    with pytest.raises(SettingsError, match=re.escape(YELLOW)):
        run_stack("dev", config=config)


def test_a_name_that_looks_like_json_stays_the_text_it_was_written_as() -> None:
    # GIVEN a bot named "2024" and a welcome starting with a bracket, as Pulumi config holds them (strings)
    config = {**stack_config("dev"), "support-chatbot:botName": "2024", "support-chatbot:welcomeText": "[Beta] Hi!"}
    # WHEN the program runs
    mocks = run_stack("dev", config=config)
    # THEN config.js has them as written
    uploaded = next(o for o in mocks.of_type(OBJECT) if o.inputs["key"] == "config.js")
    assert '"botName": "2024"' in uploaded.inputs["content"]
    assert '"welcomeText": "[Beta] Hi!"' in uploaded.inputs["content"]


def test_the_deployed_config_js_carries_the_stacks_branding() -> None:
    # GIVEN the stack with every option, branding included
    config = stack_config(EVERY_OPTION)
    # WHEN the program runs
    mocks = run_stack(EVERY_OPTION)
    # THEN the config.js it uploads has each branding key with the stack's value
    uploaded = next(o for o in mocks.of_type(OBJECT) if o.inputs["key"] == "config.js")
    match = re.fullmatch(r"window\.CHATBOT_CONFIG = (\{.*\});\n", uploaded.inputs["content"], re.DOTALL)
    assert match, uploaded.inputs["content"]
    page = json.loads(match.group(1))
    for key in ("botName", "botSubtitle", "welcomeText", "accentColor", "logoUrl", "privacyNoticeUrl"):
        assert page[key] == config[f"support-chatbot:{key}"], key
    assert page["suggestions"] == config["support-chatbot:suggestedQuestions"]
