"""The default ``on_code`` callback: tell the user where to go (RFC 8628 §3.3)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # the value classes load on first use (see deviceflow/__init__.py)
    from ._values import Prompt


def print_prompt(prompt: Prompt, file: TextIO | None = None) -> None:
    """Prints the verification URI and the user code to stderr (stdout may be piped)."""
    out = file if file is not None else sys.stderr
    minutes = max(1, round(prompt.expires_in / 60))
    lines = [f"To sign in, open {prompt.verification_uri} and enter the code: {prompt.user_code}"]
    if prompt.verification_uri_complete:
        lines.append(f"(or open {prompt.verification_uri_complete})")
    lines.append(f"Check that the site is {prompt.verification_host}. The code expires in {minutes} min.")
    if prompt.message:
        lines.append(prompt.message)
    print("\n".join(lines), file=out, flush=True)
