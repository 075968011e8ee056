"""An app built on this one replaces its dependencies through `app.dependency_overrides`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

from application.ports.persistence import UnitOfWorkFactory
from application.principal import Principal
from application.use_cases.check_readiness import Readiness
from domain.users import EmailAddress
from entrypoints.container import Container, resolve
from entrypoints.http.dependencies import current_principal, users_reader_principal
from entrypoints.http.provided import provided
from tests.integration.http.conftest import Api, assert_problem


async def test_authentication_is_replaced_by_overriding_the_principal_dependency(
    api: Api,
) -> None:
    user_id, _ = await api.user("ada@example.com")
    uow: UnitOfWorkFactory = await resolve(api.app.state.container.uow)

    async def from_gateway(x_authenticated_user: Annotated[str, Header()]) -> Principal:
        """A gateway in front of the app has authenticated the caller and names them."""
        async with uow() as unit:
            user = await unit.users.get_by_email(EmailAddress(x_authenticated_user))
        assert user is not None
        return Principal(user)

    gateway = {"X-Authenticated-User": "ada@example.com"}
    api.app.dependency_overrides[current_principal] = from_gateway
    api.app.dependency_overrides[users_reader_principal] = from_gateway
    me = await api.client.get("/api/v1/users/me", headers=gateway)
    users = await api.client.get("/api/v1/users", headers=gateway)
    api.app.dependency_overrides.clear()
    me_again = await api.client.get("/api/v1/users/me", headers=gateway)

    assert me.status_code == 200, me.text
    assert me.json()["id"] == user_id
    # The override replaces authentication only: the route's own rules still apply.
    assert_problem(users, 403, "forbidden")
    assert_problem(me_again, 401, "not_authenticated")


async def test_a_use_case_is_replaced_by_overriding_its_provided_dependency(api: Api) -> None:
    class MaintenanceWindow:
        """Reports the service as not ready while an operator works on it."""

        async def execute(self) -> Readiness:
            return Readiness({"database": "ok", "maintenance": "ongoing"}, ready=False)

    api.app.dependency_overrides[provided(Container.check_readiness)] = MaintenanceWindow
    during = await api.client.get("/health/ready")
    api.app.dependency_overrides.clear()
    after = await api.client.get("/health/ready")

    body = assert_problem(during, 503, "service_unavailable")
    assert body["checks"] == {"database": "ok", "maintenance": "ongoing"}
    assert after.status_code == 200, after.text
