"""Enrolment, login and recovery with a second factor, through fakes and a fixed clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from application.errors import (
    Forbidden,
    InvalidCredentials,
    InvalidOneTimeCode,
    MfaAlreadyEnabled,
    SecondFactorUnavailable,
    UserNotFound,
)
from application.principal import AuthMethod, Principal
from application.second_factor import SecondFactorCodes
from application.sessions import IssuedTokens, SessionIssuer
from application.use_cases.authenticate_with_password import (
    AuthenticateWithPassword,
    MfaRequired,
    PasswordGrantCommand,
)
from application.use_cases.complete_mfa_login import (
    CompleteMfaLogin,
    FindMfaChallenge,
    MfaGrantCommand,
)
from application.use_cases.confirm_totp_enrolment import ConfirmTotpEnrolment, OneTimeCodeCommand
from application.use_cases.disable_totp import DisableTotp, DisableTotpCommand
from application.use_cases.purge_ended_sessions import PurgeEndedSessions
from application.use_cases.regenerate_recovery_codes import RegenerateRecoveryCodes
from application.use_cases.start_totp_enrolment import (
    StartTotpEnrolment,
    StartTotpEnrolmentCommand,
)
from domain.audit import AuditEventType
from domain.mfa import TOTP_STEP_SECONDS
from domain.sessions import Session
from domain.users import PasswordPolicy, User, UserId
from tests.fakes import (
    FakeOneTimePasswords,
    FakePasswordHasher,
    FakePseudonymizer,
    FakeSecretBox,
    FakeTokens,
    FakeUnitOfWork,
    FixedClock,
    SequentialSecrets,
    audit_events,
    rfc6238_code,
)
from tests.unit.builders import PASSWORD, UserSeeder

# A whole step's start, so "one step later" is unambiguous.
STEP_START = datetime(2025, 1, 15, 12, 0, 0, tzinfo=UTC)


@dataclass
class Mfa:
    uow: FakeUnitOfWork
    clock: FixedClock
    tokens: FakeTokens
    box: FakeSecretBox
    start: StartTotpEnrolment
    confirm: ConfirmTotpEnrolment
    regenerate: RegenerateRecoveryCodes
    disable: DisableTotp
    password: AuthenticateWithPassword
    find: FindMfaChallenge
    grant: CompleteMfaLogin

    def code(self, secret: str, steps_from_now: int = 0) -> str:
        step = int(self.clock.now().timestamp()) // TOTP_STEP_SECONDS + steps_from_now
        return rfc6238_code(secret, step)

    async def login(self, user: User) -> str:
        result = await self.password.execute(PasswordGrantCommand(user.email.normalized, PASSWORD))
        assert isinstance(result, MfaRequired)
        return result.mfa_token

    async def session_of(self, user: User) -> Principal:
        """A password session started for `user` (the second factor off), as its principal."""
        result = await self.password.execute(PasswordGrantCommand(user.email.normalized, PASSWORD))
        assert isinstance(result, IssuedTokens)
        claims = self.tokens.claims_of(result.access_token.value)
        assert claims.session_id is not None
        stored = self.uow.store.find(user.id)
        assert stored is not None
        return Principal(
            user=stored,
            session_id=claims.session_id,  # type: ignore[arg-type]
            auth_time=claims.auth_time,
        )

    async def enabled(self, user: User) -> tuple[str, list[str], Principal]:
        """Enrol and confirm: the secret, the recovery codes, and the caller's principal."""
        principal = await self.session_of(user)
        enrolment = await self.start.execute(StartTotpEnrolmentCommand(principal))
        shown = await self.confirm.execute(
            OneTimeCodeCommand(principal, self.code(enrolment.secret))
        )
        self.clock.advance(timedelta(seconds=TOTP_STEP_SECONDS))
        refreshed = self.uow.store.find(user.id)
        assert refreshed is not None
        return (
            enrolment.secret,
            shown.codes,
            Principal(
                user=refreshed, session_id=principal.session_id, auth_time=principal.auth_time
            ),
        )


@pytest.fixture
def mfa(
    *,
    uow: FakeUnitOfWork,
    hasher: FakePasswordHasher,
    sessions: SessionIssuer,
    tokens: FakeTokens,
    clock: FixedClock,
    policy: PasswordPolicy,
) -> Mfa:
    clock.set(STEP_START)
    box = FakeSecretBox()
    codes = SecondFactorCodes(otp=FakeOneTimePasswords(), box=box, secrets=SequentialSecrets())
    events = audit_events()
    return Mfa(
        uow=uow,
        clock=clock,
        tokens=tokens,
        box=box,
        start=StartTotpEnrolment(uow.factory, codes, clock, issuer="accounts"),
        confirm=ConfirmTotpEnrolment(uow.factory, codes, clock, events),
        regenerate=RegenerateRecoveryCodes(uow.factory, codes, clock, events),
        disable=DisableTotp(uow.factory, codes, clock, events),
        password=AuthenticateWithPassword(
            uow.factory,
            hasher,
            sessions,
            clock,
            policy,
            events=events,
            pseudonyms=FakePseudonymizer(),
        ),
        find=FindMfaChallenge(uow.factory, clock),
        grant=CompleteMfaLogin(uow.factory, codes, sessions, clock, events),
    )


def _sessions(uow: FakeUnitOfWork, user_id: UserId) -> list[Session]:
    return [s for s in uow.session_store.sessions.values() if s.user_id == user_id]


async def test_enrolment_gives_a_secret_that_is_stored_sealed(mfa: Mfa, seed: UserSeeder) -> None:
    user = seed("ada@example.com")
    principal = await mfa.session_of(user)

    enrolment = await mfa.start.execute(StartTotpEnrolmentCommand(principal))

    assert len(enrolment.secret) == 32
    assert enrolment.secret in enrolment.otpauth_uri
    stored = mfa.uow.factor_store.factors[user.id]
    assert enrolment.secret.encode() not in stored.sealed_secret
    assert not stored.is_enabled
    assert not mfa.uow.store.find(user.id).mfa_enabled  # type: ignore[union-attr]


async def test_confirming_turns_it_on_gives_ten_codes_and_ends_other_sessions(
    mfa: Mfa, seed: UserSeeder
) -> None:
    user = seed()
    other = await mfa.session_of(user)
    principal = await mfa.session_of(user)
    enrolment = await mfa.start.execute(StartTotpEnrolmentCommand(principal))

    shown = await mfa.confirm.execute(OneTimeCodeCommand(principal, mfa.code(enrolment.secret)))

    assert len(shown.codes) == 10
    assert len(set(shown.codes)) == 10
    assert mfa.uow.store.find(user.id).mfa_enabled  # type: ignore[union-attr]
    sessions = {s.id: s for s in _sessions(mfa.uow, user.id)}
    assert sessions[other.session_id].is_ended  # type: ignore[index]
    assert not sessions[principal.session_id].is_ended  # type: ignore[index]
    enabled = mfa.uow.audit_store.of_type(AuditEventType.MFA_ENABLED)
    assert [e.subject_id for e in enabled] == [user.id]
    assert all(code not in str(enabled[0].details) for code in shown.codes)


async def test_a_wrong_code_does_not_confirm(mfa: Mfa, seed: UserSeeder) -> None:
    user = seed()
    principal = await mfa.session_of(user)
    enrolment = await mfa.start.execute(StartTotpEnrolmentCommand(principal))
    wrong = f"{(int(mfa.code(enrolment.secret)) + 1) % 1_000_000:06d}"

    for code in (wrong, "abcdef", "1234567", "", "x" * 1000):
        with pytest.raises(InvalidOneTimeCode):
            await mfa.confirm.execute(OneTimeCodeCommand(principal, code))

    assert not mfa.uow.store.find(user.id).mfa_enabled  # type: ignore[union-attr]


async def test_a_code_of_an_older_secret_does_not_confirm(mfa: Mfa, seed: UserSeeder) -> None:
    user = seed()
    principal = await mfa.session_of(user)
    first = await mfa.start.execute(StartTotpEnrolmentCommand(principal))
    second = await mfa.start.execute(StartTotpEnrolmentCommand(principal))
    assert first.secret != second.secret

    with pytest.raises(InvalidOneTimeCode):
        await mfa.confirm.execute(OneTimeCodeCommand(principal, mfa.code(first.secret)))
    await mfa.confirm.execute(OneTimeCodeCommand(principal, mfa.code(second.secret)))


async def test_confirming_without_an_enrolment_is_refused(mfa: Mfa, seed: UserSeeder) -> None:
    principal = await mfa.session_of(seed())
    with pytest.raises(InvalidOneTimeCode):
        await mfa.confirm.execute(OneTimeCodeCommand(principal, "123456"))


async def test_enrolling_again_while_on_is_refused(mfa: Mfa, seed: UserSeeder) -> None:
    _, _, principal = await mfa.enabled(seed())
    with pytest.raises(MfaAlreadyEnabled):
        await mfa.start.execute(StartTotpEnrolmentCommand(principal))
    with pytest.raises(MfaAlreadyEnabled):
        await mfa.confirm.execute(OneTimeCodeCommand(principal, "123456"))


async def test_api_keys_cannot_enrol(mfa: Mfa, seed: UserSeeder) -> None:
    user = seed()
    with pytest.raises(Forbidden):
        await mfa.start.execute(
            StartTotpEnrolmentCommand(Principal(user=user, method=AuthMethod.API_KEY))
        )


async def test_no_key_to_seal_with_refuses_enrolment(mfa: Mfa, seed: UserSeeder) -> None:
    principal = await mfa.session_of(seed())
    mfa.box.available = False
    with pytest.raises(SecondFactorUnavailable):
        await mfa.start.execute(StartTotpEnrolmentCommand(principal))


async def test_password_grant_asks_for_the_second_factor(mfa: Mfa, seed: UserSeeder) -> None:
    user = seed()
    await mfa.enabled(user)
    sessions_before = len(_sessions(mfa.uow, user.id))

    result = await mfa.password.execute(PasswordGrantCommand(user.email.normalized, PASSWORD))

    assert isinstance(result, MfaRequired)
    assert result.expires_in == 300
    assert len(_sessions(mfa.uow, user.id)) == sessions_before
    assert await mfa.find.execute(result.mfa_token) == user.id


async def test_a_wrong_password_gets_no_mfa_token(mfa: Mfa, seed: UserSeeder) -> None:
    user = seed()
    await mfa.enabled(user)
    with pytest.raises(InvalidCredentials):
        await mfa.password.execute(PasswordGrantCommand(user.email.normalized, "wrong" * 4))
    assert mfa.uow.challenge_store.challenges == {}


async def test_mfa_grant_starts_a_session_with_otp_amr(mfa: Mfa, seed: UserSeeder) -> None:
    user = seed()
    secret, _, _ = await mfa.enabled(user)
    token = await mfa.login(user)
    mfa.clock.advance(timedelta(seconds=7))

    issued = await mfa.grant.execute(MfaGrantCommand(token, mfa.code(secret)))

    claims = mfa.tokens.claims_of(issued.access_token.value)
    assert claims.subject == user.id
    assert claims.amr == ("pwd", "otp")
    assert claims.auth_time == mfa.clock.now()


@pytest.mark.parametrize("drift", [-1, 0, 1])
async def test_one_step_of_drift_either_way_is_accepted(
    mfa: Mfa, seed: UserSeeder, drift: int
) -> None:
    user = seed()
    secret, _, _ = await mfa.enabled(user)
    mfa.clock.advance(timedelta(seconds=3 * TOTP_STEP_SECONDS))
    token = await mfa.login(user)

    await mfa.grant.execute(MfaGrantCommand(token, mfa.code(secret, drift)))


@pytest.mark.parametrize("drift", [-2, 2])
async def test_two_steps_off_is_refused(mfa: Mfa, seed: UserSeeder, drift: int) -> None:
    user = seed()
    secret, _, _ = await mfa.enabled(user)
    mfa.clock.advance(timedelta(seconds=3 * TOTP_STEP_SECONDS))
    token = await mfa.login(user)

    with pytest.raises(InvalidCredentials):
        await mfa.grant.execute(MfaGrantCommand(token, mfa.code(secret, drift)))


async def test_a_code_works_once_even_with_a_new_mfa_token(mfa: Mfa, seed: UserSeeder) -> None:
    user = seed()
    secret, _, _ = await mfa.enabled(user)
    code = mfa.code(secret)
    await mfa.grant.execute(MfaGrantCommand(await mfa.login(user), code))

    mfa.clock.advance(timedelta(seconds=5))
    with pytest.raises(InvalidCredentials):
        await mfa.grant.execute(MfaGrantCommand(await mfa.login(user), code))


async def test_an_earlier_step_is_refused_after_a_later_one(mfa: Mfa, seed: UserSeeder) -> None:
    user = seed()
    secret, _, _ = await mfa.enabled(user)
    await mfa.grant.execute(MfaGrantCommand(await mfa.login(user), mfa.code(secret, 1)))

    with pytest.raises(InvalidCredentials):
        await mfa.grant.execute(MfaGrantCommand(await mfa.login(user), mfa.code(secret)))


async def test_the_confirming_code_cannot_log_in(mfa: Mfa, seed: UserSeeder) -> None:
    user = seed()
    principal = await mfa.session_of(user)
    enrolment = await mfa.start.execute(StartTotpEnrolmentCommand(principal))
    code = mfa.code(enrolment.secret)
    await mfa.confirm.execute(OneTimeCodeCommand(principal, code))

    with pytest.raises(InvalidCredentials):
        await mfa.grant.execute(MfaGrantCommand(await mfa.login(user), code))


async def test_an_mfa_token_works_once(mfa: Mfa, seed: UserSeeder) -> None:
    user = seed()
    secret, _, _ = await mfa.enabled(user)
    token = await mfa.login(user)
    await mfa.grant.execute(MfaGrantCommand(token, mfa.code(secret)))

    mfa.clock.advance(timedelta(seconds=TOTP_STEP_SECONDS))
    with pytest.raises(InvalidCredentials):
        await mfa.grant.execute(MfaGrantCommand(token, mfa.code(secret)))
    with pytest.raises(InvalidCredentials):
        await mfa.find.execute(token)


async def test_a_wrong_code_leaves_the_mfa_token_usable(mfa: Mfa, seed: UserSeeder) -> None:
    user = seed()
    secret, _, _ = await mfa.enabled(user)
    token = await mfa.login(user)
    right = mfa.code(secret)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    for bad in (wrong, "12345a", "1234567", "0" * 65):
        with pytest.raises(InvalidCredentials):
            await mfa.grant.execute(MfaGrantCommand(token, bad))
    await mfa.grant.execute(MfaGrantCommand(token, right))

    failures = mfa.uow.audit_store.of_type(AuditEventType.USER_LOGIN_FAILED)
    assert [e.details["reason"] for e in failures] == ["wrong_otp"] * 4


async def test_an_expired_mfa_token_is_refused(mfa: Mfa, seed: UserSeeder) -> None:
    user = seed()
    secret, _, _ = await mfa.enabled(user)
    token = await mfa.login(user)
    mfa.clock.advance(timedelta(minutes=5))

    with pytest.raises(InvalidCredentials):
        await mfa.find.execute(token)
    with pytest.raises(InvalidCredentials):
        await mfa.grant.execute(MfaGrantCommand(token, mfa.code(secret)))


async def test_an_mfa_token_of_another_user_does_not_take_my_code(
    mfa: Mfa, seed: UserSeeder
) -> None:
    ada, bob = seed(), seed()
    ada_secret, _, _ = await mfa.enabled(ada)
    await mfa.enabled(bob)

    with pytest.raises(InvalidCredentials):
        await mfa.grant.execute(MfaGrantCommand(await mfa.login(bob), mfa.code(ada_secret)))


async def test_unknown_and_oversized_mfa_tokens_are_refused(mfa: Mfa) -> None:
    for token in ("nope", "x" * 10_000):
        with pytest.raises(InvalidCredentials):
            await mfa.find.execute(token)
        with pytest.raises(InvalidCredentials):
            await mfa.grant.execute(MfaGrantCommand(token, "123456"))


async def test_a_recovery_code_logs_in_once(mfa: Mfa, seed: UserSeeder) -> None:
    user = seed()
    _, recovery, _ = await mfa.enabled(user)

    issued = await mfa.grant.execute(MfaGrantCommand(await mfa.login(user), recovery[0]))
    assert mfa.tokens.claims_of(issued.access_token.value).amr == ("pwd", "otp")
    # Shown grouped; accepted in any case, with or without the hyphens.
    await mfa.grant.execute(
        MfaGrantCommand(await mfa.login(user), recovery[1].replace("-", "").upper())
    )

    with pytest.raises(InvalidCredentials):
        await mfa.grant.execute(MfaGrantCommand(await mfa.login(user), recovery[0]))
    succeeded = mfa.uow.audit_store.of_type(AuditEventType.USER_LOGIN_SUCCEEDED)
    assert [e.details.get("second_factor") for e in succeeded][-2:] == ["recovery_code"] * 2


async def test_regenerating_replaces_the_recovery_codes(mfa: Mfa, seed: UserSeeder) -> None:
    user = seed()
    secret, old, principal = await mfa.enabled(user)

    new = await mfa.regenerate.execute(OneTimeCodeCommand(principal, mfa.code(secret)))

    assert set(new.codes).isdisjoint(old)
    with pytest.raises(InvalidCredentials):
        await mfa.grant.execute(MfaGrantCommand(await mfa.login(user), old[5]))
    await mfa.grant.execute(MfaGrantCommand(await mfa.login(user), new.codes[5]))


async def test_regenerating_needs_a_right_code(mfa: Mfa, seed: UserSeeder) -> None:
    user = seed()
    _, recovery, principal = await mfa.enabled(user)
    with pytest.raises(InvalidOneTimeCode):
        await mfa.regenerate.execute(OneTimeCodeCommand(principal, "000000x"))
    new = await mfa.regenerate.execute(OneTimeCodeCommand(principal, recovery[0]))
    assert len(new.codes) == 10


async def test_regenerating_without_the_factor_is_refused(mfa: Mfa, seed: UserSeeder) -> None:
    principal = await mfa.session_of(seed())
    with pytest.raises(InvalidOneTimeCode):
        await mfa.regenerate.execute(OneTimeCodeCommand(principal, "123456"))


async def test_turning_it_off_with_a_code(mfa: Mfa, seed: UserSeeder) -> None:
    user = seed()
    secret, _, principal = await mfa.enabled(user)
    other = await mfa.grant.execute(MfaGrantCommand(await mfa.login(user), mfa.code(secret)))
    mfa.clock.advance(timedelta(seconds=TOTP_STEP_SECONDS))

    await mfa.disable.execute(DisableTotpCommand(principal, code=mfa.code(secret)))

    assert not mfa.uow.store.find(user.id).mfa_enabled  # type: ignore[union-attr]
    assert user.id not in mfa.uow.factor_store.factors
    other_sid = mfa.tokens.claims_of(other.access_token.value).session_id
    sessions = {s.id: s for s in _sessions(mfa.uow, user.id)}
    assert sessions[other_sid].is_ended  # type: ignore[index]
    assert not sessions[principal.session_id].is_ended  # type: ignore[index]
    assert isinstance(
        await mfa.password.execute(PasswordGrantCommand(user.email.normalized, PASSWORD)),
        IssuedTokens,
    )
    disabled = mfa.uow.audit_store.of_type(AuditEventType.MFA_DISABLED)
    assert [(e.actor_id, e.subject_id) for e in disabled] == [(user.id, user.id)]


async def test_turning_it_off_with_a_recovery_code(mfa: Mfa, seed: UserSeeder) -> None:
    user = seed()
    _, recovery, principal = await mfa.enabled(user)
    await mfa.disable.execute(DisableTotpCommand(principal, code=recovery[3]))
    assert not mfa.uow.store.find(user.id).mfa_enabled  # type: ignore[union-attr]


@pytest.mark.parametrize("code", [None, "000000", "abc", "9" * 7])
async def test_turning_it_off_needs_a_right_code(
    mfa: Mfa, seed: UserSeeder, code: str | None
) -> None:
    user = seed()
    secret, _, principal = await mfa.enabled(user)
    if code == "000000" and mfa.code(secret) == code:
        code = "000001"
    with pytest.raises(InvalidOneTimeCode):
        await mfa.disable.execute(DisableTotpCommand(principal, code=code))
    assert mfa.uow.store.find(user.id).mfa_enabled  # type: ignore[union-attr]


async def test_an_admin_turns_it_off_for_a_lost_device(mfa: Mfa, seed: UserSeeder) -> None:
    user = seed()
    secret, _, _ = await mfa.enabled(user)
    await mfa.grant.execute(MfaGrantCommand(await mfa.login(user), mfa.code(secret)))
    admin = seed.admin()

    await mfa.disable.execute(DisableTotpCommand(Principal(user=admin), user_id=user.id))

    assert not mfa.uow.store.find(user.id).mfa_enabled  # type: ignore[union-attr]
    assert all(s.is_ended for s in _sessions(mfa.uow, user.id))
    disabled = mfa.uow.audit_store.of_type(AuditEventType.MFA_DISABLED)
    assert [(e.actor_id, e.subject_id) for e in disabled] == [(admin.id, user.id)]


async def test_only_admins_turn_off_someone_elses_factor(mfa: Mfa, seed: UserSeeder) -> None:
    user, other = seed(), seed()
    await mfa.enabled(user)
    with pytest.raises(Forbidden):
        await mfa.disable.execute(DisableTotpCommand(Principal(user=other), user_id=user.id))
    with pytest.raises(UserNotFound):
        await mfa.disable.execute(
            DisableTotpCommand(Principal(user=seed.admin()), user_id=UserId(uuid4()))
        )


async def test_purging_removes_expired_mfa_challenges(mfa: Mfa, seed: UserSeeder) -> None:
    user = seed()
    secret, _, _ = await mfa.enabled(user)
    stale = await mfa.login(user)
    mfa.clock.advance(timedelta(minutes=5))
    fresh = await mfa.login(user)

    await PurgeEndedSessions(mfa.uow.factory, mfa.clock).execute()

    assert len(mfa.uow.challenge_store.challenges) == 1
    with pytest.raises(InvalidCredentials):
        await mfa.find.execute(stale)
    await mfa.grant.execute(MfaGrantCommand(fresh, mfa.code(secret)))
