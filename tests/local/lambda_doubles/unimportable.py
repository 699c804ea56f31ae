"""A Lambda handler module whose import fails, as a handler with a missing dependency does."""

from __future__ import annotations

raise ImportError("no module named 'missing_dependency'")
