"""The password rule, for every place a password is set: long enough, and not easy to guess."""

import asyncio
import threading
from collections.abc import Iterable

from app.domain.kernel.errors import InvalidInput

MIN_LENGTH = 10
MAX_LENGTH = 256
# zxcvbn scores 0-4: 0 and 1 mean under 10^6 guesses, within reach of online guessing.
MIN_SCORE = 2
# Words of this service that people build passwords from, like their own name and email.
_SERVICE_WORDS = ("timebox",)
# zxcvbn refuses longer input (its matching grows quickly with length); a weak start is weak.
_SCORED_LENGTH = 72
# zxcvbn keeps the user inputs in a module-level dictionary while it scores: one at a time.
_zxcvbn_lock = threading.Lock()


def _user_inputs(words: Iterable[str]) -> list[str]:
    """The account's own words: each email and name whole, in its parts and run together."""
    inputs = [*_SERVICE_WORDS]
    for word in words:
        inputs.append(word)
        local, _, domain = word.partition("@")
        inputs += [local, *domain.split("."), *word.split(), "".join(word.split())]
    return [word for word in dict.fromkeys(inputs) if word]


def _weakness(password: str, user_inputs: list[str]) -> str | None:
    """What makes the password easy to guess, or None when it is not."""
    # Lazily: its dictionaries cost every worker time and memory. It ships no type hints.
    from zxcvbn import zxcvbn  # type: ignore[import-untyped]

    with _zxcvbn_lock:
        result = zxcvbn(password[:_SCORED_LENGTH], user_inputs=user_inputs)
    if result["score"] >= MIN_SCORE:
        return None
    feedback = result["feedback"]
    hints = " ".join(hint for hint in (feedback["warning"], *feedback["suggestions"]) if hint)
    return f"This password is too easy to guess. {hints or 'Use a longer, less common one.'}"


async def check_password(password: str, field: str, *, user_inputs: Iterable[str]) -> None:
    """Raise a 422 naming `field` unless the password may be set (`user_inputs`: email, name)."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput.for_field(
            field, f"A password needs at least {MIN_LENGTH} characters.", "password_too_short"
        )
    if len(password) > MAX_LENGTH:
        raise InvalidInput.for_field(
            field, f"A password has at most {MAX_LENGTH} characters.", "password_too_long"
        )
    if not password.strip():
        raise InvalidInput.for_field(
            field, "A password cannot be only whitespace.", "password_blank"
        )
    # Scoring takes milliseconds of CPU (tens for long passwords): off the event loop.
    weakness = await asyncio.to_thread(_weakness, password, _user_inputs(user_inputs))
    if weakness is not None:
        raise InvalidInput.for_field(field, weakness, "password_too_weak")
