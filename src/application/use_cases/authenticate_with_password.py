"""The OAuth2 password grant: email and password in, access token out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from application.audit import AuditEvents
from application.errors import AccountDeleted, InvalidCredentials
from application.passwords import verify_password
from application.ports import (
    Clock,
    PasswordHasher,
    PasswordVerification,
    Pseudonymizer,
    UnitOfWork,
    UnitOfWorkFactory,
)
from application.request_context import NO_REQUEST, RequestContext
from application.sessions import IssuedTokens, SessionIssuer
from domain.audit import AuditDetails, AuditEventType
from domain.credentials import SecretDigest
from domain.errors import InvalidEmail
from domain.mfa import MFA_CHALLENGE_LIFETIME, MfaChallenge, MfaChallengeId
from domain.users import EmailAddress, PasswordPolicy, User


@dataclass(frozen=True, slots=True)
class PasswordGrantCommand:
    username: str
    password: str = field(repr=False)
    context: RequestContext = NO_REQUEST
    """The client the session is recorded with (address and user agent)."""


MFA_TOKEN_BYTES = 32
"""256 random bits: nothing to guess, so the stored SHA-256 is enough."""


@dataclass(frozen=True, slots=True)
class MfaRequired:
    """The password was right, and the account needs a second factor: the client sends a code
    with `mfa_token` (the MFA grant) within `expires_in` seconds."""

    mfa_token: str = field(repr=False)
    expires_in: int


class AuthenticateWithPassword:
    """Check the password and start a login session; every failure is `InvalidCredentials`.

    Unknown emails are verified against a dummy hash, so the answer takes as long whether or
    not the account exists. The database connection is released before hashing starts.

    Every outcome is recorded: a failure in a small transaction of its own (the grant still
    fails), naming the account when there is one, and otherwise only a keyed pseudonym of the
    username, so repeated attempts at one unknown address can be correlated without storing it.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        sessions: SessionIssuer,
        clock: Clock,
        policy: PasswordPolicy,
        *,
        events: AuditEvents,
        pseudonyms: Pseudonymizer,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._sessions = sessions
        self._clock = clock
        self._policy = policy
        self._events = events
        self._pseudonyms = pseudonyms

    async def execute(self, command: PasswordGrantCommand) -> IssuedTokens | MfaRequired:
        try:
            email = EmailAddress(command.username)
        except InvalidEmail:
            email = None
        user = None
        if email is not None:
            async with self._uow() as uow:
                user = await uow.users.get_by_email(email)
        # No account, or one that signs in at an external identity provider: no hash.
        password_hash = user.password_hash if user is not None else None
        check = await verify_password(self._hasher, self._policy, command.password, password_hash)
        if user is None or not check.valid or not user.is_active:
            await self._record_failure(command, email, user, check)
            raise InvalidCredentials("Invalid email or password.")
        now = self._clock.now()
        if user.mfa_enabled:
            return await self._challenge(user, check, now)
        session, refresh = self._sessions.start(user, now, command.context)
        event = self._events.new(
            AuditEventType.USER_LOGIN_SUCCEEDED,
            command.context,
            now,
            actor_id=user.id,
            subject_id=user.id,
            details={"session_id": str(session.id)},
        )
        try:
            async with self._uow() as uow:
                await self._upgrade_hash(uow, user, check, now)
                await uow.sessions.add(session)
                await uow.refresh_tokens.add(refresh.record)
                await uow.audit.record(event)
                await uow.commit()
        except AccountDeleted:
            # Deleted while the password was being checked: there is nobody to log in.
            raise InvalidCredentials("Invalid email or password.") from None
        return await self._sessions.tokens_for(user, session, refresh, now)

    async def _challenge(
        self, user: User, check: PasswordVerification, now: datetime
    ) -> MfaRequired:
        token = self._sessions.secrets.token(MFA_TOKEN_BYTES)
        challenge = MfaChallenge.issue(
            MfaChallengeId(self._sessions.ids.new_id()), user.id, SecretDigest.of(token), now
        )
        try:
            async with self._uow() as uow:
                await self._upgrade_hash(uow, user, check, now)
                await uow.mfa_challenges.add(challenge)
                await uow.commit()
        except AccountDeleted:
            raise InvalidCredentials("Invalid email or password.") from None
        return MfaRequired(mfa_token=token, expires_in=int(MFA_CHALLENGE_LIFETIME.total_seconds()))

    @staticmethod
    async def _upgrade_hash(
        uow: UnitOfWork, user: User, check: PasswordVerification, now: datetime
    ) -> None:
        """Store the rehash the check asked for, unless the password changed meanwhile."""
        if check.upgraded_hash is not None:
            current = await uow.users.get_by_id(user.id, for_update=True)
            if current is not None and current.password_hash == user.password_hash:
                current.change_password_hash(check.upgraded_hash, now)
                await uow.users.update(current)

    async def _record_failure(
        self,
        command: PasswordGrantCommand,
        email: EmailAddress | None,
        user: User | None,
        check: PasswordVerification,
    ) -> None:
        details: AuditDetails
        if user is None:
            username = email.normalized if email is not None else command.username.strip()
            details = {
                "reason": "unknown_account",
                "username_pseudonym": self._pseudonyms.pseudonym(username),
            }
        elif user.password_hash is None:
            # The account signs in at an external identity provider, never with a password.
            details = {"reason": "no_password"}
        else:
            details = {"reason": "wrong_password" if not check.valid else "account_disabled"}
        event = self._events.new(
            AuditEventType.USER_LOGIN_FAILED,
            command.context,
            self._clock.now(),
            subject_id=user.id if user is not None else None,
            details=details,
        )
        async with self._uow() as uow:
            await uow.audit.record(event)
            await uow.commit()
