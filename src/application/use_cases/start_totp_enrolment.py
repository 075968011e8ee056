"""Start enrolling a TOTP authenticator: a new secret, not yet in force."""

from __future__ import annotations

from dataclasses import dataclass, field

from application.errors import AccountDeleted, MfaAlreadyEnabled
from application.ports import Clock, UnitOfWorkFactory
from application.principal import Principal
from application.second_factor import SecondFactorCodes
from domain.mfa import TotpFactor


@dataclass(frozen=True, slots=True)
class StartTotpEnrolmentCommand:
    principal: Principal


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    """The secret to put into an authenticator app, plain and as an `otpauth://` URI."""

    secret: str = field(repr=False)
    otpauth_uri: str = field(repr=False)


class StartTotpEnrolment:
    """Make a new secret for the caller; it takes effect only once a code of it is confirmed.

    Starting again replaces the pending secret, so codes of an older one no longer confirm.
    Refused with `MfaAlreadyEnabled` while a factor is on.
    """

    def __init__(
        self, uow: UnitOfWorkFactory, codes: SecondFactorCodes, clock: Clock, issuer: str
    ) -> None:
        self._uow = uow
        self._codes = codes
        self._clock = clock
        self._issuer = issuer

    async def execute(self, command: StartTotpEnrolmentCommand) -> TotpEnrolment:
        principal = command.principal
        principal.ensure_bearer()
        secret, sealed = self._codes.new_secret()
        async with self._uow() as uow:
            user = await uow.users.get_by_id(principal.user.id, for_update=True)
            if user is None:
                raise AccountDeleted("The account no longer exists.")
            if user.mfa_enabled:
                raise MfaAlreadyEnabled("The second factor is on already; turn it off first.")
            await uow.second_factors.save(TotpFactor.enrol(user.id, sealed, self._clock.now()))
            await uow.commit()
        uri = self._codes.otp.provisioning_uri(secret, user.email.value, self._issuer)
        return TotpEnrolment(secret=secret, otpauth_uri=uri)
