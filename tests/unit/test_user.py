from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from domain.errors import LastActiveAdmin
from domain.users import (
    EmailAddress,
    FullName,
    HashedPassword,
    Role,
    User,
    UserId,
    ensure_an_active_admin_remains,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
SECRET_HASH = "$fake$v1$73656372657421"


def make_user(
    n: int = 1, *, role: Role = Role.USER, is_active: bool = True, email: str | None = None
) -> User:
    user = User.register(
        user_id=UserId(UUID(int=n)),
        email=EmailAddress(email or f"user{n}@example.com"),
        full_name=FullName("Ada Lovelace"),
        password_hash=HashedPassword(SECRET_HASH),
        now=T0,
        role=role,
    )
    user.is_active = is_active
    return user


class TestRegister:
    def test_creates_an_active_user_at_version_1(self) -> None:
        user = make_user()

        assert user.role is Role.USER
        assert user.is_active
        assert user.version == 1
        assert user.created_at == user.updated_at == T0
        assert not user.is_admin

    def test_can_register_an_admin(self) -> None:
        admin = make_user(role=Role.ADMIN)

        assert admin.is_admin
        assert admin.is_active_admin


class TestChanges:
    def test_rename_changes_name_and_touches_updated_at(self) -> None:
        user = make_user()

        user.rename(FullName("Ada King"), T1)

        assert user.full_name == FullName("Ada King")
        assert user.updated_at == T1
        assert user.created_at == T0

    def test_rename_to_the_same_name_changes_nothing(self) -> None:
        user = make_user()

        user.rename(FullName("  Ada   Lovelace "), T1)

        assert user.updated_at == T0

    def test_change_role(self) -> None:
        user = make_user()

        user.change_role(Role.ADMIN, T1)

        assert user.is_admin
        assert user.updated_at == T1

    def test_change_to_the_same_role_changes_nothing(self) -> None:
        user = make_user()

        user.change_role(Role.USER, T1)

        assert user.updated_at == T0

    def test_deactivate_then_reactivate(self) -> None:
        user = make_user()
        t2 = T1 + timedelta(hours=1)

        user.deactivate(T1)
        assert not user.is_active
        assert user.updated_at == T1

        user.reactivate(t2)
        assert user.is_active
        assert user.updated_at == t2

    def test_deactivating_an_inactive_user_changes_nothing(self) -> None:
        user = make_user(is_active=False)

        user.deactivate(T1)

        assert not user.is_active
        assert user.updated_at == T0

    def test_reactivating_an_active_user_changes_nothing(self) -> None:
        user = make_user()

        user.reactivate(T1)

        assert user.updated_at == T0

    def test_an_inactive_admin_is_an_admin_but_not_an_active_one(self) -> None:
        admin = make_user(role=Role.ADMIN, is_active=False)

        assert admin.is_admin
        assert not admin.is_active_admin

    def test_change_password_hash(self) -> None:
        user = make_user()
        new_hash = HashedPassword("$fake$v2$6e6577")

        user.change_password_hash(new_hash, T1)

        assert user.password_hash == new_hash
        assert user.updated_at == T1


class TestIdentity:
    def test_users_with_the_same_id_are_equal_whatever_their_state(self) -> None:
        a = make_user(1, email="a@example.com")
        b = make_user(1, email="b@example.com", role=Role.ADMIN)

        assert a == b
        assert hash(a) == hash(b)
        assert len({a, b}) == 1

    def test_users_with_different_ids_differ_even_with_equal_state(self) -> None:
        assert make_user(1, email="a@example.com") != make_user(2, email="a@example.com")

    def test_a_user_is_not_equal_to_its_id(self) -> None:
        user = make_user(1)

        assert user != user.id

    def test_repr_does_not_leak_the_password_hash(self) -> None:
        assert "73656372657421" not in repr(make_user())


class TestEnsureAnActiveAdminRemains:
    def test_refuses_demoting_the_last_active_admin(self) -> None:
        admin = make_user(1, role=Role.ADMIN)
        admin.change_role(Role.USER, T1)

        with pytest.raises(LastActiveAdmin):
            ensure_an_active_admin_remains(
                admin, was_active_admin=True, active_admin_ids=[admin.id]
            )

    def test_refuses_deactivating_the_last_active_admin(self) -> None:
        admin = make_user(1, role=Role.ADMIN)
        admin.deactivate(T1)

        with pytest.raises(LastActiveAdmin):
            ensure_an_active_admin_remains(admin, was_active_admin=True, active_admin_ids=[])

    def test_allows_it_while_another_active_admin_remains(self) -> None:
        admin, other = make_user(1, role=Role.ADMIN), make_user(2, role=Role.ADMIN)
        admin.deactivate(T1)

        ensure_an_active_admin_remains(
            admin, was_active_admin=True, active_admin_ids=[admin.id, other.id]
        )

    def test_ignores_changes_to_users_who_were_not_active_admins(self) -> None:
        inactive_admin = make_user(1, role=Role.ADMIN, is_active=False)
        inactive_admin.change_role(Role.USER, T1)

        ensure_an_active_admin_remains(inactive_admin, was_active_admin=False, active_admin_ids=[])

    def test_ignores_changes_that_keep_the_admin_active(self) -> None:
        admin = make_user(1, role=Role.ADMIN)
        admin.rename(FullName("Grace Hopper"), T1)

        ensure_an_active_admin_remains(admin, was_active_admin=True, active_admin_ids=[admin.id])
