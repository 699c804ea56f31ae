"""The chat page's branding: what a stack may set, its limits, and the colour maths that keep the page readable.

Read by the stack settings (`components.settings`, checked at `pulumi preview`), by ChatSite (into config.js) and by
the local stack (`python -m local --stack NAME`), so a colour refused in the cloud is refused on one machine too.
The page (`site/src/branding.js`, `site/src/theme-init.js`, `site/src/styles.css`) derives every accent colour from
the one `accentColor` with the same mixes as `theme_colours` below; `check_accent` checks exactly the pairs the page
shows, with the WCAG 2.x relative-luminance formula.

Every field is optional: left out, the page looks as it always has (the indigo accent, "Support assistant").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlsplit

DEFAULT_BOT_NAME = "Support assistant"
DEFAULT_SUBTITLE = "Orders, billing, products and IT help"
DEFAULT_ACCENT = "#4f39f6"  # Tailwind 4's indigo-600, the page's accent before branding existed

MAX_NAME_CHARS = 60
MAX_SUBTITLE_CHARS = 120
MAX_WELCOME_CHARS = 600
MAX_SUGGESTIONS = 8
MAX_SUGGESTION_CHARS = 120  # a chip is one short question
MAX_URL_CHARS = 2048
MAX_LOGO_DATA_CHARS = 8192  # a data: logo travels in config.js, which counts in the page's 40 KB first load

AA_TEXT = 4.5  # WCAG 2.x success criterion 1.4.3, normal text
AA_NON_TEXT = 3.0  # 1.4.11: the focus ring against the page

WHITE = "#ffffff"
DARK_TEXT = "#020618"  # Tailwind 4's slate-950: the text on a light accent
BLACK = "#000000"
# The page's surfaces accent text sits on (Tailwind 4 slate, as styles.css uses them).
LIGHT_SURFACES = {"the light theme's page": WHITE}
DARK_SURFACES = {"the dark theme's page": "#0f172b", "the dark theme's hover": "#1d293d"}  # slate-900, slate-800
# color-mix() percentages, mirrored in site/src/styles.css: change both together.
LIGHT_STRONG_ACCENT_PERCENT = 70  # accent text on light surfaces: the accent darkened with black
LIGHT_SOFT_ACCENT_PERCENT = 10  # a chip's hover background: the accent faded into white
DARK_STRONG_ACCENT_PERCENT = 35  # accent text on dark surfaces: the accent lightened with white
DARK_SOFT_ACCENT_PERCENT = 25  # a tinted dark surface: the accent faded into the dark page

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
LOGO_DATA_URL = re.compile(r"^data:image/(png|webp|gif|jpeg|svg\+xml);base64,[A-Za-z0-9+/]+={0,2}$")

CONFIG_KEYS = {
    "bot_name": "botName",
    "bot_subtitle": "botSubtitle",
    "welcome_text": "welcomeText",
    "suggested_questions": "suggestedQuestions",
    "accent_color": "accentColor",
    "logo_url": "logoUrl",
    "privacy_notice_url": "privacyNoticeUrl",
}
"""Each branding field's name, the same in Pulumi config (`support-chatbot:<name>`) and in the page's config.js."""


class BrandingError(ValueError):
    """A branding value is refused; `field` names it, the message says why and what would pass."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Branding:
    """The page's name, words, questions, colour, logo and privacy notice; None (or empty) keeps today's."""

    bot_name: str | None = None
    bot_subtitle: str | None = None
    welcome_text: str | None = None
    suggested_questions: tuple[str, ...] | None = None
    """None: the bot definition's suggestions. An empty tuple: no suggested questions at all."""
    accent_color: str | None = None
    logo_url: str | None = None
    privacy_notice_url: str | None = None

    def config_values(self, *, default_suggestions: Sequence[str]) -> dict[str, object]:
        """The page's config.js entries: `suggestions` always, every other key only when it is set."""
        values: dict[str, object] = {
            "suggestions": list(default_suggestions if self.suggested_questions is None else self.suggested_questions)
        }
        for field in fields(self):
            value = getattr(self, field.name)
            if value is not None and field.name != "suggested_questions":
                values[CONFIG_KEYS[field.name]] = value
        return values


def branding_from_values(values: Mapping[str, Any], *, page_origin: str | None = None) -> Branding:
    """Check raw values (by field name, as `Branding`'s) into a Branding; BrandingError names the first refused one.

    `page_origin` (`https://chat.example.com`) is the page's own origin when it is known (a custom domain): a logo
    there is accepted as an https URL; without it only paths (and small data: images) are."""
    unknown = sorted(set(values) - set(CONFIG_KEYS))
    if unknown:
        raise BrandingError(unknown[0], f"is not a branding setting (known: {', '.join(CONFIG_KEYS.values())})")
    checked: dict[str, Any] = {}
    for field, limit in (("bot_name", MAX_NAME_CHARS), ("bot_subtitle", MAX_SUBTITLE_CHARS)):
        if values.get(field) is not None:
            checked[field] = check_text(field, values[field], limit, single_line=True)
    if values.get("welcome_text") is not None:
        checked["welcome_text"] = check_text("welcome_text", values["welcome_text"], MAX_WELCOME_CHARS)
    if values.get("suggested_questions") is not None:
        checked["suggested_questions"] = check_suggestions(values["suggested_questions"])
    if values.get("accent_color") is not None:
        checked["accent_color"] = check_accent(values["accent_color"])
    if values.get("logo_url") is not None:
        checked["logo_url"] = check_logo_url(values["logo_url"], page_origin=page_origin)
    if values.get("privacy_notice_url") is not None:
        checked["privacy_notice_url"] = check_link("privacy_notice_url", values["privacy_notice_url"])
    return Branding(**checked)


def check_text(field: str, value: object, limit: int, *, single_line: bool = False) -> str:
    """A non-empty text of at most `limit` characters (one line for names and subtitles), trimmed."""
    if not isinstance(value, str):
        raise BrandingError(field, "must be text")
    text = value.strip()
    if not text:
        raise BrandingError(field, "must not be empty (leave it unset for the default)")
    if len(text) > limit:
        raise BrandingError(field, f"is {len(text)} characters long; at most {limit}")
    if any(ord(char) < 32 and (single_line or char not in "\n\t") for char in text):
        raise BrandingError(field, "must be one line of text without control characters")
    return text


def check_suggestions(value: object) -> tuple[str, ...]:
    """A list of at most MAX_SUGGESTIONS distinct short questions (an empty list shows none)."""
    field = "suggested_questions"
    if not isinstance(value, list | tuple):
        raise BrandingError(field, 'must be a JSON list of questions, e.g. ["Where is my order?"]')
    if len(value) > MAX_SUGGESTIONS:
        raise BrandingError(field, f"has {len(value)} questions; at most {MAX_SUGGESTIONS}")
    questions = tuple(check_text(field, item, MAX_SUGGESTION_CHARS, single_line=True) for item in value)
    if len(set(questions)) != len(questions):
        raise BrandingError(field, "lists a question twice")
    return questions


def check_link(field: str, value: object) -> str:
    """An https URL, or a path on the page's own origin (`/privacy.html`)."""
    if not isinstance(value, str) or len(value) > MAX_URL_CHARS:
        raise BrandingError(field, f"must be a URL of at most {MAX_URL_CHARS} characters")
    if _is_same_origin_path(value) or _is_https_url(value):
        return value
    raise BrandingError(field, f"must be an https:// URL or a path on the page's origin starting with /; got {value!r}")


def check_logo_url(value: object, *, page_origin: str | None = None) -> str:
    """A path on the page's origin (`/assets/logo.svg`), an https URL on the page's own origin (its custom domain),
    or a small base64 `data:image/...` URL: the page's Content-Security-Policy loads images from nowhere else."""
    field = "logo_url"
    if isinstance(value, str) and value.startswith("data:"):
        if len(value) > MAX_LOGO_DATA_CHARS or not LOGO_DATA_URL.match(value):
            raise BrandingError(
                field,
                f"a data: logo must be a base64 PNG, WebP, GIF, JPEG or SVG of at most {MAX_LOGO_DATA_CHARS} "
                "characters",
            )
        return value
    if not isinstance(value, str) or len(value) > MAX_URL_CHARS:
        raise BrandingError(field, f"must be a URL of at most {MAX_URL_CHARS} characters")
    if _is_same_origin_path(value):
        return value
    if _is_https_url(value) and page_origin is not None and _origin(value) == page_origin.lower().rstrip("/"):
        return value
    where = f"or an https URL on {page_origin}" if page_origin else "(an https URL only on the page's custom domain)"
    raise BrandingError(
        field,
        f"must be a path on the page's origin starting with / {where}: the page's Content-Security-Policy "
        f"loads images from its own origin only; got {value!r}",
    )


def check_accent(value: object) -> str:
    """A `#rrggbb` colour whose every use on the page meets WCAG AA in both themes; otherwise BrandingError naming
    the colour, the ratio it reached, where, and a colour near it that would pass."""
    field = "accent_color"
    if not isinstance(value, str) or not HEX_COLOUR.match(value):
        raise BrandingError(field, f"must be a colour written #rrggbb, e.g. {DEFAULT_ACCENT}; got {value!r}")
    colour = value.lower()
    problem = accent_problem(colour)
    if problem is not None:
        suggestion = passing_accent_near(colour)
        hint = f"; {suggestion} is close to it and passes" if suggestion else ""
        raise BrandingError(field, f"{problem}{hint}")
    return colour


def accent_problem(accent: str) -> str | None:
    """The first pair the page would show below AA with this accent, in words; None when every pair passes."""
    on_accent = on_accent_text(accent)
    if on_accent is None:
        best = max(contrast_ratio(WHITE, accent), contrast_ratio(DARK_TEXT, accent))
        return (
            f"{accent} leaves button text at {best:.2f}:1 with white or dark text, in both themes "
            f"(WCAG AA needs {AA_TEXT}:1)"
        )
    for theme in ("light", "dark"):
        colours = theme_colours(accent, theme)
        surfaces = {**(LIGHT_SURFACES if theme == "light" else DARK_SURFACES)}
        surfaces[f"the {theme} theme's tinted surface"] = colours["accent-soft"]
        for surface, background in surfaces.items():
            ratio = contrast_ratio(colours["accent-strong"], background)
            if ratio < AA_TEXT:
                return (
                    f"{accent} gives accent text {colours['accent-strong']} at {ratio:.2f}:1 on {surface} "
                    f"({background}) in the {theme} theme (WCAG AA needs {AA_TEXT}:1)"
                )
    return None


def passing_accent_near(accent: str) -> str | None:
    """The accent darkened (mixed with black) in the smallest 5% step that passes every check; None if none does."""
    for percent in range(95, 0, -5):
        candidate = mix(accent, BLACK, percent)
        if accent_problem(candidate) is None:
            return candidate
    return None


def on_accent_text(accent: str) -> str | None:
    """The text colour on accent buttons and the user's bubbles: white when it reaches AA, else dark text, else None.
    site/src/theme-init.js makes the same choice."""
    for text in (WHITE, DARK_TEXT):
        if contrast_ratio(text, accent) >= AA_TEXT:
            return text
    return None


def theme_colours(accent: str, theme: str) -> dict[str, str]:
    """The page's accent colours in one theme, as styles.css derives them with color-mix(in srgb, ...)."""
    if theme == "light":
        strong = mix(accent, BLACK, LIGHT_STRONG_ACCENT_PERCENT)
        soft = mix(accent, WHITE, LIGHT_SOFT_ACCENT_PERCENT)
    else:
        strong = mix(accent, WHITE, DARK_STRONG_ACCENT_PERCENT)
        soft = mix(accent, DARK_SURFACES["the dark theme's page"], DARK_SOFT_ACCENT_PERCENT)
    return {
        "accent": accent,
        "accent-strong": strong,
        "accent-soft": soft,
        "on-accent": on_accent_text(accent) or WHITE,
    }


def mix(colour: str, other: str, percent: int) -> str:
    """`color-mix(in srgb, colour percent%, other)`, rounded to #rrggbb."""
    ours, theirs = _channels(colour), _channels(other)
    mixed = (round(a * percent / 100 + b * (100 - percent) / 100) for a, b in zip(ours, theirs, strict=True))
    return "#" + "".join(f"{channel:02x}" for channel in mixed)


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of a #rrggbb colour (sRGB; 0 for black, 1 for white)."""
    linear = []
    for channel in _channels(colour):
        value = channel / 255
        linear.append(value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4)
    red, green, blue = linear
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2.x contrast ratio of two colours, from 1 (same luminance) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _channels(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _is_same_origin_path(value: str) -> bool:
    # "//host/x" and "/\host" are other origins to a browser; control characters and spaces are no path we make.
    return value.startswith("/") and not value.startswith(("//", "/\\")) and not re.search(r"[\s\x00-\x1f\\]", value)


def _is_https_url(value: str) -> bool:
    if re.search(r"[\s\x00-\x1f\\]", value):
        return False
    parts = urlsplit(value)
    return parts.scheme == "https" and bool(parts.hostname) and parts.username is None and parts.password is None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
