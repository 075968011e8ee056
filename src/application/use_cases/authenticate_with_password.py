"""The OAuth2 password grant: email and password in, access token out."""

from __future__ import annotations

from dataclasses import dataclass, field

from application.errors import AccountDeleted, InvalidCredentials
from application.passwords import verify_password
from application.ports import Clock, PasswordHasher, UnitOfWorkFactory
from application.request_context import NO_REQUEST, RequestContext
from application.sessions import IssuedTokens, SessionIssuer
from domain.errors import InvalidEmail
from domain.users import EmailAddress, PasswordPolicy


@dataclass(frozen=True, slots=True)
class PasswordGrantCommand:
    username: str
    password: str = field(repr=False)
    context: RequestContext = NO_REQUEST
    """The client the session is recorded with (address and user agent)."""


class AuthenticateWithPassword:
    """Check the password and start a login session; every failure is `InvalidCredentials`.

    Unknown emails are verified against a dummy hash, so the answer takes as long whether or
    not the account exists. The database connection is released before hashing starts.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        sessions: SessionIssuer,
        clock: Clock,
        policy: PasswordPolicy,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._sessions = sessions
        self._clock = clock
        self._policy = policy

    async def execute(self, command: PasswordGrantCommand) -> IssuedTokens:
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
            raise InvalidCredentials("Invalid email or password.")
        now = self._clock.now()
        session, refresh = self._sessions.start(user, now, command.context)
        try:
            async with self._uow() as uow:
                if check.upgraded_hash is not None:
                    current = await uow.users.get_by_id(user.id, for_update=True)
                    if current is not None and current.password_hash == user.password_hash:
                        current.change_password_hash(check.upgraded_hash, now)
                        await uow.users.update(current)
                await uow.sessions.add(session)
                await uow.refresh_tokens.add(refresh.record)
                await uow.commit()
        except AccountDeleted:
            # Deleted while the password was being checked: there is nobody to log in.
            raise InvalidCredentials("Invalid email or password.") from None
        return self._sessions.tokens_for(user, session, refresh, now)
