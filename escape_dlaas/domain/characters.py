"""Characters in what a person typed: what is wrong with one, in words, and input shown safely.

A message must say exactly which character is at fault, including the ones nobody can
see (text-direction controls, zero-width characters, control characters), and must never
echo them back as they are: a right-to-left override in an error message would turn the
rest of the message around in the panel.
"""

from __future__ import annotations

import unicodedata

# Unicode's explicit text-direction controls, and which way each one pushes the text.
_DIRECTION_CONTROLS = {
    "\u061c": "right-to-left",  # ARABIC LETTER MARK
    "\u200e": "left-to-right",  # LEFT-TO-RIGHT MARK
    "\u200f": "right-to-left",  # RIGHT-TO-LEFT MARK
    "\u202a": "left-to-right",  # LEFT-TO-RIGHT EMBEDDING
    "\u202b": "right-to-left",  # RIGHT-TO-LEFT EMBEDDING
    "\u202c": "text-direction",  # POP DIRECTIONAL FORMATTING
    "\u202d": "left-to-right",  # LEFT-TO-RIGHT OVERRIDE
    "\u202e": "right-to-left",  # RIGHT-TO-LEFT OVERRIDE
    "\u2066": "left-to-right",  # LEFT-TO-RIGHT ISOLATE
    "\u2067": "right-to-left",  # RIGHT-TO-LEFT ISOLATE
    "\u2068": "text-direction",  # FIRST STRONG ISOLATE
    "\u2069": "text-direction",  # POP DIRECTIONAL ISOLATE
}
_NAMED_CONTROLS = {"\t": "a tab", "\n": "a line break", "\r": "a carriage return"}


def code_point(char: str) -> str:
    return f"U+{ord(char):04X}"


def is_hidden(char: str) -> bool:
    """Whether ``char`` is invisible or controls the terminal/layout (never echoed as is)."""
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") or char in _DIRECTION_CONTROLS


def describe_character(char: str) -> str:
    """``char`` in words for a message: 'an invisible right-to-left control character (U+202E)'."""
    if char in _DIRECTION_CONTROLS:
        return f"an invisible {_DIRECTION_CONTROLS[char]} control character ({code_point(char)})"
    if char in _NAMED_CONTROLS:
        return f"{_NAMED_CONTROLS[char]} ({code_point(char)})"
    if char == " ":
        return "a space"
    category = unicodedata.category(char)
    if category == "Cc":
        return f"a control character ({code_point(char)})"
    if category in ("Cf", "Cn", "Co", "Cs"):
        return f"an invisible character ({code_point(char)})"
    if category.startswith("Z"):
        name = unicodedata.name(char, "").lower()
        return f"a {name or 'space'} ({code_point(char)})"
    if ord(char) > 0x7E:
        return f"the non-ASCII character '{char}' ({code_point(char)})"
    return f"'{char}'"


def first_hidden(text: str) -> str | None:
    """The first invisible or control character of ``text``, if any."""
    return next((c for c in text if is_hidden(c)), None)


def shown(text: object, limit: int = 80) -> str:
    """``text`` for a message: at most ``limit`` characters, invisible ones written as <U+XXXX>."""
    value = text if isinstance(text, str) else repr(text)
    cut = value[:limit]
    safe = "".join(f"<{code_point(c)}>" if is_hidden(c) else c for c in cut)
    return safe + ("…" if len(value) > limit else "")
