"""Pure rules: estimation scales, versions, tokens and passwords."""

import pytest

from app.domain.kernel.errors import PreconditionFailed
from app.domain.kernel.versioning import check_version
from app.domain.projects.models import EstimationScale, Role
from app.domain.projects.scales import scale_values
from app.domain.users.security import (
    hash_password,
    hash_token,
    new_token,
    token_display_prefix,
    verify_password,
)


def test_scales_match_the_documented_values() -> None:
    assert [v.value for v in scale_values(EstimationScale.FIBONACCI)] == [
        0, 1, 2, 3, 5, 8, 13, 21, 40, 100,
    ]  # fmt: skip
    assert [v.value for v in scale_values("linear")] == list(range(21))
    assert [v.value for v in scale_values("powers_of_two")] == [0, 1, 2, 4, 8, 16, 32, 64]
    tshirt = scale_values(EstimationScale.TSHIRT)
    assert [v.label for v in tshirt] == ["XS", "S", "M", "L", "XL", "XXL"]
    assert [v.value for v in tshirt] == sorted(v.value for v in tshirt)


def test_roles_are_ordered() -> None:
    assert Role.VIEWER.rank < Role.MEMBER.rank < Role.OWNER.rank


def test_check_version() -> None:
    check_version(3, None)
    check_version(3, frozenset({3}))
    check_version(3, frozenset({1, 3}))  # a list matches when any of its tags does
    with pytest.raises(PreconditionFailed, match="not 2, 4"):
        check_version(3, frozenset({4, 2}))
    with pytest.raises(PreconditionFailed, match="not no version"):
        check_version(3, frozenset())


def test_tokens_are_random_and_hashed() -> None:
    first, second = new_token(), new_token()
    assert first != second
    assert first.startswith("tbx_") and len(first) > 40
    assert hash_token(first) != first and len(hash_token(first)) == 64
    assert hash_token(first) == hash_token(first)
    assert first.startswith(token_display_prefix(first))
    assert len(token_display_prefix(first)) < 12


async def test_passwords_hash_with_argon2_and_verify() -> None:
    stored = await hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert await verify_password(stored, "correct horse battery")
    assert not await verify_password(stored, "wrong")
    assert not await verify_password(None, "anything")
