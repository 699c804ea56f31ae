"""The local stack: the whole support chatbot on one machine (`python -m local`); see local/README.md."""

from __future__ import annotations

import sys
from pathlib import Path

# The Lambda functions import `chatbot_shared` as a top-level package (it sits at the root of each Lambda
# zip); locally it lives in functions/shared, as pytest's `pythonpath` setting also says.
_SHARED = str(Path(__file__).resolve().parent.parent / "functions" / "shared")
if _SHARED not in sys.path:
    sys.path.append(_SHARED)
