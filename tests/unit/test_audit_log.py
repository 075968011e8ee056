"""Audit events: recorded with the change they describe, never without it, never a secret."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from adapters.identity.pseudonyms import HmacPseudonymizer
from application.errors import (
    EmailAlreadyRegistered,
    Forbidden,
    InvalidCredentials,
    InvalidCursor,
    PreconditionFailed,
)
from application.principal import Principal
from application.request_context import RequestContext
from application.use_cases.authenticate_with_password import (
    AuthenticateWithPassword,
    PasswordGrantCommand,
)
from application.use_cases.change_password import ChangePassword, ChangePasswordCommand
from application.use_cases.create_api_key import CreateApiKey, CreateApiKeyCommand
from application.use_cases.delete_account import DeleteAccount, DeleteAccountCommand
from application.use_cases.delete_api_key import DeleteApiKey, DeleteApiKeyCommand
from application.use_cases.end_all_sessions import EndAllSessions, EndAllSessionsCommand
from application.use_cases.end_session import EndSession, EndSessionCommand
from application.use_cases.list_audit_events import ListAuditEvents, ListAuditEventsQuery
from application.use_cases.purge_audit_events import PurgeAuditEvents
from application.use_cases.register_user import RegisterUser, RegisterUserCommand
from application.use_cases.update_user import UpdateUser, UpdateUserCommand
from domain.audit import AuditEvent, AuditEventType
from domain.errors import InvalidValue, LastActiveAdmin
from domain.sessions import SessionId
from domain.users import EmailAddress, FullName, PasswordPolicy, Role, User, UserId
from tests.fakes import (
    FakePasswordHasher,
    FakePseudonymizer,
    FakeUnitOfWork,
    FixedClock,
    SequentialIds,
    SequentialSecrets,
    audit_events,
    mail_links,
)
from tests.unit.builders import PASSWORD, SessionFlows, UserSeeder

CONTEXT = RequestContext(client_ip="203.0.113.7", user_agent="curl/8.5.0", request_id="req-1")
NEW_PASSWORD = "a brand new passphrase for ada"


@pytest.fixture
def login(auth: SessionFlows) -> AuthenticateWithPassword:
    return auth.authenticate


def events(uow: FakeUnitOfWork, event_type: AuditEventType | None = None) -> list[AuditEvent]:
    return [e for e in uow.audit_store.events if event_type is None or e.type == event_type]


async def test_registration_records_the_new_account_with_the_request(
    uow: FakeUnitOfWork,
    hasher: FakePasswordHasher,
    clock: FixedClock,
    ids: SequentialIds,
    policy: PasswordPolicy,
) -> None:
    register = RegisterUser(
        uow.factory, hasher, clock, ids, policy, events=audit_events(), links=mail_links()
    )

    user = await register.execute(RegisterUserCommand("ada@example.com", PASSWORD, context=CONTEXT))

    [event] = events(uow)
    assert event.type == AuditEventType.USER_REGISTERED
    assert (event.actor_id, event.subject_id) == (None, user.id)
    assert (event.client_ip, event.user_agent, event.request_id) == (
        "203.0.113.7",
        "curl/8.5.0",
        "req-1",
    )
    assert event.occurred_at == clock.now()
    assert event.details == {"role": "user"}


async def test_a_failed_registration_leaves_no_event(
    *,
    uow: FakeUnitOfWork,
    hasher: FakePasswordHasher,
    clock: FixedClock,
    ids: SequentialIds,
    policy: PasswordPolicy,
    seed: UserSeeder,
) -> None:
    seed("ada@example.com")
    register = RegisterUser(
        uow.factory, hasher, clock, ids, policy, events=audit_events(), links=mail_links()
    )

    with pytest.raises(EmailAlreadyRegistered):
        await register.execute(RegisterUserCommand("ada@example.com", PASSWORD))

    assert events(uow) == []


async def test_a_login_records_the_session_it_started(
    auth: SessionFlows, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    user = seed("ada@example.com")

    await auth.login(user)

    [event] = events(uow)
    assert event.type == AuditEventType.USER_LOGIN_SUCCEEDED
    assert (event.actor_id, event.subject_id) == (user.id, user.id)
    [session_id] = uow.session_store.sessions
    assert event.details == {"session_id": str(session_id)}


async def test_a_wrong_password_is_recorded_against_the_account(
    login: AuthenticateWithPassword, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    user = seed("ada@example.com")

    with pytest.raises(InvalidCredentials):
        await login.execute(PasswordGrantCommand("ada@example.com", "wrong" + PASSWORD, CONTEXT))

    [event] = events(uow)
    assert event.type == AuditEventType.USER_LOGIN_FAILED
    assert (event.actor_id, event.subject_id) == (None, user.id)
    assert event.details == {"reason": "wrong_password"}
    assert event.client_ip == "203.0.113.7"


async def test_a_deactivated_account_s_login_is_recorded_as_such(
    login: AuthenticateWithPassword, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    seed("ada@example.com", is_active=False)

    with pytest.raises(InvalidCredentials):
        await login.execute(PasswordGrantCommand("ada@example.com", PASSWORD))

    assert events(uow)[0].details == {"reason": "account_disabled"}


async def test_an_unknown_email_is_recorded_only_as_a_pseudonym_of_its_normal_form(
    login: AuthenticateWithPassword, uow: FakeUnitOfWork
) -> None:
    with pytest.raises(InvalidCredentials):
        await login.execute(PasswordGrantCommand("Nobody@Example.com", PASSWORD))
    with pytest.raises(InvalidCredentials):
        await login.execute(PasswordGrantCommand("nobody@example.com", PASSWORD))

    first, second = events(uow, AuditEventType.USER_LOGIN_FAILED)
    assert first.subject_id is None
    assert first.details == {
        "reason": "unknown_account",
        "username_pseudonym": FakePseudonymizer().pseudonym("nobody@example.com"),
    }
    assert second.details == first.details
    assert "nobody" not in repr(first).lower()


def test_the_hmac_pseudonym_is_stable_keyed_and_not_the_address() -> None:
    key = "k" * 16 + "e" * 16
    one = HmacPseudonymizer(lambda: key)

    pseudonym = one.pseudonym("nobody@example.com")

    assert pseudonym == one.pseudonym("nobody@example.com")
    assert pseudonym != one.pseudonym("somebody@example.com")
    assert pseudonym != HmacPseudonymizer(lambda: key + "x").pseudonym("nobody@example.com")
    assert pseudonym.startswith("hmac-sha256:")
    assert "nobody" not in pseudonym


async def test_a_password_change_records_it_and_the_sessions_it_ended(
    *,
    auth: SessionFlows,
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    hasher: FakePasswordHasher,
    clock: FixedClock,
    policy: PasswordPolicy,
) -> None:
    user = seed("ada@example.com")
    await auth.login(user)
    await auth.login(user)
    change = ChangePassword(uow.factory, hasher, clock, policy, audit_events())

    await change.execute(ChangePasswordCommand(Principal(user), PASSWORD, NEW_PASSWORD, CONTEXT))

    [changed] = events(uow, AuditEventType.USER_PASSWORD_CHANGED)
    [ended] = events(uow, AuditEventType.SESSION_ENDED)
    assert (changed.actor_id, changed.subject_id) == (user.id, user.id)
    assert ended.details == {"reason": "password_changed", "count": 2}
    assert NEW_PASSWORD not in repr(uow.audit_store.events)


async def test_an_admin_update_records_what_changed_before_and_after(
    seed: UserSeeder, uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    admin = seed.admin("admin@example.com")
    user = seed("ada@example.com", full_name="Ada")
    update = UpdateUser(uow.factory, clock, audit_events())

    await update.execute(
        UpdateUserCommand(Principal(admin), user.id, full_name="Ada", role=Role.ADMIN)
    )

    [event] = events(uow)
    assert event.type == AuditEventType.USER_UPDATED
    assert (event.actor_id, event.subject_id) == (admin.id, user.id)
    assert event.details == {"before": {"role": "user"}, "after": {"role": "admin"}}


async def test_a_deactivation_records_the_update_and_the_sessions_it_ended(
    auth: SessionFlows, seed: UserSeeder, uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    admin = seed.admin("admin@example.com")
    user = seed("ada@example.com")
    await auth.login(user)
    update = UpdateUser(uow.factory, clock, audit_events())

    await update.execute(UpdateUserCommand(Principal(admin), user.id, is_active=False))

    [updated] = events(uow, AuditEventType.USER_UPDATED)
    [ended] = events(uow, AuditEventType.SESSION_ENDED)
    assert updated.details == {"before": {"is_active": True}, "after": {"is_active": False}}
    assert (ended.actor_id, ended.subject_id) == (admin.id, user.id)
    assert ended.details == {"reason": "deactivated", "count": 1}


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"role": Role.USER}, LastActiveAdmin),
        ({"full_name": "Ada", "if_match": frozenset({99})}, PreconditionFailed),
    ],
)
async def test_a_refused_update_leaves_no_event(
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    clock: FixedClock,
    change: dict[str, object],
    error: type[Exception],
) -> None:
    admin = seed.admin("admin@example.com")
    update = UpdateUser(uow.factory, clock, audit_events())

    with pytest.raises(error):
        await update.execute(UpdateUserCommand(Principal(admin), admin.id, **change))  # type: ignore[arg-type]

    assert events(uow) == []


async def test_refresh_token_reuse_is_recorded_against_the_session_s_owner(
    auth: SessionFlows, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    user = seed("ada@example.com")
    issued = await auth.login(user)
    await auth.refresh(issued.refresh_token)

    with pytest.raises(InvalidCredentials):
        await auth.refresh(issued.refresh_token)

    [event] = events(uow, AuditEventType.SESSION_REUSE_DETECTED)
    [session_id] = uow.session_store.sessions
    assert (event.actor_id, event.subject_id) == (None, user.id)
    assert event.details == {"session_id": str(session_id)}


async def test_revoking_a_token_records_the_session_it_ended_once(
    auth: SessionFlows, seed: UserSeeder, uow: FakeUnitOfWork
) -> None:
    user = seed("ada@example.com")
    issued = await auth.login(user)

    await auth.revoke(issued.refresh_token)
    await auth.revoke(issued.access_token.value)

    [event] = events(uow, AuditEventType.SESSION_ENDED)
    [session_id] = uow.session_store.sessions
    assert (event.actor_id, event.subject_id) == (user.id, user.id)
    assert event.details == {"reason": "revoked", "count": 1, "session_id": str(session_id)}


async def test_api_keys_record_their_creation_and_deletion_by_id_never_the_key(
    seed: UserSeeder,
    uow: FakeUnitOfWork,
    clock: FixedClock,
    ids: SequentialIds,
    secrets: SequentialSecrets,
) -> None:
    owner = Principal(seed("ada@example.com"))
    create = CreateApiKey(uow.factory, clock, ids, secrets, audit_events(), keys_per_user=5)
    delete = DeleteApiKey(uow.factory, clock, audit_events())

    created = await create.execute(CreateApiKeyCommand(owner, "ci", context=CONTEXT))
    await delete.execute(DeleteApiKeyCommand(owner, created.api_key.id, CONTEXT))

    made, deleted = events(uow)
    assert (made.type, deleted.type) == (
        AuditEventType.API_KEY_CREATED,
        AuditEventType.API_KEY_DELETED,
    )
    for event in (made, deleted):
        assert (event.actor_id, event.subject_id) == (owner.user.id, owner.user.id)
        assert event.details == {"api_key_id": str(created.api_key.id), "name": "ci"}
    assert created.key not in repr(uow.audit_store.events)


async def test_the_listing_is_newest_first_filtered_and_paged_by_cursor(
    seed: UserSeeder, uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    admin = seed.admin("admin@example.com")
    user = seed("ada@example.com")
    update = UpdateUser(uow.factory, clock, audit_events())
    for name in ("A", "B", "C"):
        clock.advance(timedelta(seconds=1))
        await update.execute(UpdateUserCommand(Principal(admin), user.id, full_name=name))
    clock.advance(timedelta(seconds=1))
    await update.execute(UpdateUserCommand(Principal(admin), admin.id, full_name="Root"))
    listing = ListAuditEvents(uow.factory)

    first = await listing.execute(
        ListAuditEventsQuery(Principal(admin), limit=2, subject_id=user.id)
    )
    second = await listing.execute(
        ListAuditEventsQuery(
            Principal(admin), limit=2, subject_id=user.id, cursor=first.next_cursor
        )
    )

    names = [e.details["after"]["full_name"] for e in first.items + second.items]  # type: ignore[call-overload,index]
    assert names == ["C", "B", "A"]
    assert first.next_cursor is not None
    assert second.next_cursor is None


async def test_the_listing_bounds_time_since_inclusive_until_exclusive(
    seed: UserSeeder, uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    admin = seed.admin("admin@example.com")
    update = UpdateUser(uow.factory, clock, audit_events())
    moments = []
    for name in ("A", "B", "C"):
        clock.advance(timedelta(seconds=1))
        moments.append(clock.now())
        await update.execute(UpdateUserCommand(Principal(admin), admin.id, full_name=name))

    page = await ListAuditEvents(uow.factory).execute(
        ListAuditEventsQuery(Principal(admin), since=moments[0], until=moments[2])
    )

    assert [e.occurred_at for e in page.items] == [moments[1], moments[0]]


async def test_an_empty_interval_lists_nothing(
    seed: UserSeeder, uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    admin = seed.admin("admin@example.com")
    await UpdateUser(uow.factory, clock, audit_events()).execute(
        UpdateUserCommand(Principal(admin), admin.id, full_name="A")
    )

    page = await ListAuditEvents(uow.factory).execute(
        ListAuditEventsQuery(Principal(admin), since=clock.now(), until=clock.now())
    )

    assert (page.items, page.next_cursor) == ([], None)


async def test_the_listing_refuses_non_admins_and_foreign_cursors(
    seed: UserSeeder, uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    admin = Principal(seed.admin("admin@example.com"))
    listing = ListAuditEvents(uow.factory)

    with pytest.raises(Forbidden):
        await listing.execute(ListAuditEventsQuery(Principal(seed("ada@example.com"))))
    with pytest.raises(InvalidCursor):
        await listing.execute(ListAuditEventsQuery(admin, cursor="MDE5YWIyYzQtNWU2Zi03YThi"))


async def test_purge_removes_only_events_past_the_retention(
    seed: UserSeeder, uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    admin = seed.admin("admin@example.com")
    update = UpdateUser(uow.factory, clock, audit_events())
    await update.execute(UpdateUserCommand(Principal(admin), admin.id, full_name="Old"))
    clock.advance(timedelta(days=2))
    await update.execute(UpdateUserCommand(Principal(admin), admin.id, full_name="New"))
    clock.advance(timedelta(days=1))

    purged = await PurgeAuditEvents(uow.factory, clock, timedelta(days=2)).execute()

    assert purged == 1
    assert [e.details["after"] for e in events(uow)] == [{"full_name": "New"}]


def test_an_event_refuses_a_naive_time_and_an_overlong_user_agent(clock: FixedClock) -> None:
    factory = audit_events()

    with pytest.raises(InvalidValue):
        factory.new(AuditEventType.USER_UPDATED, CONTEXT, clock.now().replace(tzinfo=None))
    event = factory.new(
        AuditEventType.USER_UPDATED, RequestContext(user_agent="x" * 10_000), clock.now()
    )
    assert event.user_agent == "x" * 512
    assert isinstance(event.id, UUID)


async def test_a_password_login_to_an_external_account_is_recorded_as_having_none(
    login: AuthenticateWithPassword, uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    user = User.provision_external(
        user_id=UserId(UUID(int=77)),
        email=EmailAddress("ext@example.com"),
        full_name=FullName(""),
        role=Role.USER,
        now=clock.now(),
    )
    uow.store.seed(user)

    with pytest.raises(InvalidCredentials):
        await login.execute(PasswordGrantCommand("ext@example.com", PASSWORD))

    [event] = events(uow)
    assert (event.subject_id, event.details) == (user.id, {"reason": "no_password"})


async def test_ending_a_session_records_it_with_the_caller_as_actor(
    auth: SessionFlows, seed: UserSeeder, uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    user = seed("ada@example.com")
    issued = await auth.login(user)
    me = await auth.resolve(issued.access_token.value)
    assert me.session_id is not None

    await EndSession(uow.factory, clock, audit_events()).execute(
        EndSessionCommand(me, SessionId(me.session_id), CONTEXT)
    )

    [event] = events(uow, AuditEventType.SESSION_ENDED)
    assert (event.actor_id, event.subject_id) == (user.id, user.id)
    assert event.details == {
        "reason": "ended_by_user",
        "count": 1,
        "session_id": str(me.session_id),
    }
    assert event.request_id == "req-1"


async def test_an_admin_ending_every_session_of_a_user_is_recorded_once_with_the_count(
    auth: SessionFlows, seed: UserSeeder, uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    admin = seed.admin("admin@example.com")
    user = seed("ada@example.com")
    await auth.login(user)
    await auth.login(user)
    end_all = EndAllSessions(uow.factory, clock, audit_events())

    await end_all.execute(EndAllSessionsCommand(Principal(admin), user.id, CONTEXT))
    await end_all.execute(EndAllSessionsCommand(Principal(admin), user.id, CONTEXT))

    [event] = events(uow, AuditEventType.SESSION_ENDED)
    assert (event.actor_id, event.subject_id) == (admin.id, user.id)
    assert event.details == {"reason": "ended_by_admin", "count": 2}


async def test_a_deleted_account_keeps_its_events_by_id_without_its_name(
    auth: SessionFlows, seed: UserSeeder, uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    admin = seed.admin("admin@example.com")
    user = seed("ada@example.com", full_name="Ada Lovelace")
    await UpdateUser(uow.factory, clock, audit_events()).execute(
        UpdateUserCommand(Principal(admin), user.id, full_name="Ada King")
    )
    admin_login = await auth.login(admin)
    me = await auth.resolve(admin_login.access_token.value)

    await DeleteAccount(uow.factory, clock, audit_events(), timedelta(minutes=5)).execute(
        DeleteAccountCommand(me, user.id, context=CONTEXT)
    )

    [updated] = events(uow, AuditEventType.USER_UPDATED)
    [deleted] = events(uow, AuditEventType.USER_DELETED)
    assert updated.subject_id == user.id
    assert updated.details == {"before": {}, "after": {}}
    assert (deleted.actor_id, deleted.subject_id) == (admin.id, user.id)
    assert deleted.details == {"role": "user"}
    assert "Ada" not in repr(uow.audit_store.events)
    assert "ada@example.com" not in repr(uow.audit_store.events)


async def test_a_refused_deletion_scrubs_and_records_nothing(
    auth: SessionFlows, seed: UserSeeder, uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    admin = seed.admin("admin@example.com")
    await UpdateUser(uow.factory, clock, audit_events()).execute(
        UpdateUserCommand(Principal(admin), admin.id, full_name="Root")
    )
    login = await auth.login(admin)
    me = await auth.resolve(login.access_token.value)
    before = list(uow.audit_store.events)

    with pytest.raises(LastActiveAdmin):
        await DeleteAccount(uow.factory, clock, audit_events(), timedelta(minutes=5)).execute(
            DeleteAccountCommand(me, context=CONTEXT)
        )

    assert uow.audit_store.events == before
