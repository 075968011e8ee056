"""Which rate limits a request spends, under which keys, and what happens when the store fails."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from application.errors import StorageUnavailable
from application.ports.rate_limiting import (
    Charge,
    MailQuota,
    RateLimiter,
    RateLimitObserver,
    RateLimitPolicy,
    RateLimitStatus,
)
from application.principal import AnyPrincipal, AuthMethod, ClientPrincipal, Principal

KEY_DIGEST_CHARS = 32


class PolicyName(StrEnum):
    """The policies, named as clients see them in the `RateLimit` headers."""

    ANONYMOUS = "anonymous"
    USER = "user"
    API_KEY = "api_key"
    CLIENT = "client"
    LOGIN_IP = "login_ip"
    LOGIN_USERNAME = "login_username"
    LOGIN_ACCOUNT_SHARE = "login_account_share"
    LOGIN_ACCOUNT = "login_account"
    REGISTER = "register"
    MFA = "mfa"
    MAIL = "mail"


# Each policy has its own setting, but for the account share: half the account ceiling.
CONFIGURED_POLICIES: tuple[PolicyName, ...] = tuple(
    name for name in PolicyName if name is not PolicyName.LOGIN_ACCOUNT_SHARE
)


class Operation(StrEnum):
    """What a request does, as far as rate limits care."""

    REGISTER = "register"
    TOKEN_REQUEST = "token_request"  # noqa: S105 - an operation's name, not a secret
    PASSWORD_GRANT = "password_grant"  # noqa: S105 - an operation's name, not a secret
    REVOKE_TOKEN = "revoke_token"  # noqa: S105 - an operation's name, not a secret
    BEARER_REQUEST = "bearer_request"
    PASSWORD_CHANGE = "password_change"  # noqa: S105 - an operation's name, not a secret
    API_KEY_REQUEST = "api_key_request"
    CLIENT_REQUEST = "client_request"
    REJECTED_CREDENTIALS = "rejected_credentials"
    MFA_CODE = "mfa_code"
    MFA_GRANT = "mfa_grant"
    MAILED_LINK = "mailed_link"
    MAIL = "mail"


# The one table of which policies each operation spends, in the order they are spent.
# A password grant counts per (username, client) pair, which stops one guesser quickly without
# touching the owner at another address; then per username whatever the client, a ceiling that
# rotating addresses cannot lift. One pair may spend only half that ceiling, so a lone guesser
# never exhausts it; and a pair refused spends nothing further. Rejected credentials count like
# any anonymous request, so floods of invalid tokens are limited as well.
OPERATION_POLICIES: Mapping[Operation, tuple[PolicyName, ...]] = MappingProxyType(
    {
        Operation.REGISTER: (PolicyName.ANONYMOUS, PolicyName.REGISTER),
        Operation.TOKEN_REQUEST: (PolicyName.ANONYMOUS,),
        Operation.PASSWORD_GRANT: (
            PolicyName.ANONYMOUS,
            PolicyName.LOGIN_IP,
            PolicyName.LOGIN_USERNAME,
            PolicyName.LOGIN_ACCOUNT_SHARE,
            PolicyName.LOGIN_ACCOUNT,
        ),
        Operation.REVOKE_TOKEN: (PolicyName.ANONYMOUS,),
        Operation.BEARER_REQUEST: (PolicyName.USER,),
        # Checking the current password is a password guess like a login from the same address:
        # the same pair allowances, so a stolen access token cannot test passwords faster than
        # a login form; not the account ceiling, so guessers elsewhere cannot block the change.
        Operation.PASSWORD_CHANGE: (
            PolicyName.USER,
            PolicyName.LOGIN_USERNAME,
            PolicyName.LOGIN_ACCOUNT_SHARE,
        ),
        Operation.API_KEY_REQUEST: (PolicyName.API_KEY,),
        # A client's token, and a client's introspection calls once it is authenticated.
        Operation.CLIENT_REQUEST: (PolicyName.CLIENT,),
        Operation.REJECTED_CREDENTIALS: (PolicyName.ANONYMOUS,),
        # Every one-time code checked spends the account's second-factor allowance, right or
        # wrong, wherever it is sent: six digits fall to guessing otherwise.
        Operation.MFA_CODE: (PolicyName.USER, PolicyName.MFA),
        Operation.MFA_GRANT: (PolicyName.MFA,),
        # Anonymous requests about mailed links (reset, verification), and each mail sent.
        Operation.MAILED_LINK: (PolicyName.ANONYMOUS,),
        Operation.MAIL: (PolicyName.MAIL,),
    }
)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a request: its client address (an IPv4 address or an IPv6 /64, as the entrypoint
    resolved it) and, where known, the username it claims or the principal it proved."""

    client: str
    username: str | None = None
    principal: AnyPrincipal | None = None
    account: str | None = None
    """The account a request acts on before any principal is known (the MFA grant's)."""
    recipient: str | None = None


def _client(caller: Caller) -> str | None:
    return caller.client


def _username(caller: Caller) -> str | None:
    # Normalized so `Ada@Example.com ` and `ada@example.com` share one allowance.
    return caller.username.strip().lower() if caller.username is not None else None


def _username_at_client(caller: Caller) -> str | None:
    # A client identity holds no space, so the first one ends it: no two pairs share a key.
    username = _username(caller)
    return f"{caller.client} {username}" if username is not None else None


def _recipient(caller: Caller) -> str | None:
    return caller.recipient.strip().lower() if caller.recipient is not None else None


def _user(caller: Caller) -> str | None:
    principal = caller.principal
    return str(principal.user.id) if isinstance(principal, Principal) else None


def _account(caller: Caller) -> str | None:
    return caller.account if caller.account is not None else _user(caller)


def _api_key(caller: Caller) -> str | None:
    principal = caller.principal
    if isinstance(principal, Principal) and principal.api_key_id:
        return str(principal.api_key_id)
    return None


def _client_id(caller: Caller) -> str | None:
    principal = caller.principal
    return principal.client_id if isinstance(principal, ClientPrincipal) else None


_IDENTITY: Mapping[PolicyName, Callable[[Caller], str | None]] = MappingProxyType(
    {
        PolicyName.ANONYMOUS: _client,
        PolicyName.REGISTER: _client,
        PolicyName.LOGIN_IP: _client,
        PolicyName.LOGIN_USERNAME: _username_at_client,
        PolicyName.LOGIN_ACCOUNT_SHARE: _username_at_client,
        PolicyName.LOGIN_ACCOUNT: _username,
        PolicyName.USER: _user,
        PolicyName.API_KEY: _api_key,
        PolicyName.CLIENT: _client_id,
        PolicyName.MFA: _account,
        PolicyName.MAIL: _recipient,
    }
)


def operation_for(principal: AnyPrincipal) -> Operation:
    """The operation an authenticated request counts as: per key for API keys, per client for
    client tokens, else per user."""
    if isinstance(principal, ClientPrincipal):
        return Operation.CLIENT_REQUEST
    if principal.method is AuthMethod.API_KEY and principal.api_key_id is not None:
        return Operation.API_KEY_REQUEST
    return Operation.BEARER_REQUEST


def password_change_for(principal: AnyPrincipal) -> Operation:
    """A bearer's password change also spends the login allowances of its (user, client) pair."""
    if principal.method is AuthMethod.BEARER:
        return Operation.PASSWORD_CHANGE
    return operation_for(principal)


def mfa_code_for(principal: AnyPrincipal) -> Operation:
    """A bearer checking a one-time code also spends its account's second-factor allowance."""
    if principal.method is AuthMethod.BEARER:
        return Operation.MFA_CODE
    return operation_for(principal)


def account_share(ceiling: RateLimitPolicy) -> RateLimitPolicy:
    """What one (username, client) pair may spend of the account ceiling: half, per its window."""
    return RateLimitPolicy(
        PolicyName.LOGIN_ACCOUNT_SHARE.value, max(1, ceiling.limit // 2), ceiling.window_seconds
    )


def rate_limit_key(policy: PolicyName, identity: str) -> str:
    """The storage key: the policy and a digest, so no address, email or key id is stored."""
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:KEY_DIGEST_CHARS]
    return f"{policy.value}:{digest}"


@dataclass(frozen=True, slots=True)
class RateLimitDecision:
    """A request's outcome: each policy checked, closest to exhaustion first.

    Empty when nothing could be checked (the store failed and the throttle fails open).
    """

    statuses: tuple[RateLimitStatus, ...] = ()

    @property
    def allowed(self) -> bool:
        return all(status.allowed for status in self.statuses)

    def combined(self, later: RateLimitDecision) -> RateLimitDecision:
        """This decision and a later one of the same request, as one."""
        return RateLimitDecision(tuple(sorted((*self.statuses, *later.statuses), key=_closeness)))

    @property
    def refusal(self) -> RateLimitStatus | None:
        """The policy that refused the request, if one did."""
        return next((status for status in self.statuses if not status.allowed), None)


def _closeness(status: RateLimitStatus) -> tuple[bool, int, float]:
    # A refusal first, then the fewest requests left, then the longest wait.
    return (status.allowed, status.remaining, -status.reset_after)


class Throttle:
    """Spend one unit of each policy an operation costs, in order, stopping at the first refusal.

    When the store fails, a throttle that fails open lets the request through unchecked; one
    that fails closed raises `StorageUnavailable`. Either way the observer hears of it.
    """

    def __init__(
        self,
        limiter: RateLimiter,
        policies: Mapping[PolicyName, RateLimitPolicy],
        observer: RateLimitObserver,
        *,
        fail_open: bool,
    ) -> None:
        """`policies` holds every configured policy; the account share is derived here."""
        missing = set(CONFIGURED_POLICIES) - set(policies)
        if missing:
            raise ValueError(f"No rate-limit policy for {sorted(missing)}")
        self._limiter = limiter
        self._policies = dict(policies)
        self._policies[PolicyName.LOGIN_ACCOUNT_SHARE] = account_share(
            policies[PolicyName.LOGIN_ACCOUNT]
        )
        self._observer = observer
        self.fail_open = fail_open

    def charges(self, operation: Operation, caller: Caller) -> list[Charge]:
        """What `operation` costs `caller`; policies whose identity is unknown are skipped."""
        charges = []
        for name in OPERATION_POLICIES[operation]:
            identity = _IDENTITY[name](caller)
            if identity is not None:
                charges.append(Charge(self._policies[name], rate_limit_key(name, identity)))
        return charges

    async def spend(self, operation: Operation, caller: Caller) -> RateLimitDecision:
        """Spend what `operation` costs `caller`, and say whether the request may go on."""
        return await self._spend(self.charges(operation, caller))

    async def _spend(self, charges: Sequence[Charge]) -> RateLimitDecision:
        try:
            statuses = await self._limiter.hit_all(charges)
        except StorageUnavailable as error:
            self._observer.storage_unavailable(error, failed_open=self.fail_open)
            if not self.fail_open:
                raise
            return RateLimitDecision()
        return RateLimitDecision(tuple(sorted(statuses, key=_closeness)))

    async def check_storage(self) -> None:
        """Raise `StorageUnavailable` unless the rate-limit store answers."""
        await self._limiter.check()


class ThrottledMailQuota(MailQuota):
    """The `mail` policy, per recipient address; every mail may go when rate limits are off."""

    def __init__(self, throttle: Throttle | None, observer: RateLimitObserver) -> None:
        self._throttle = throttle
        self._observer = observer

    async def allows(self, recipient: str, kind: str) -> bool:
        if self._throttle is None:
            return True
        decision = await self._throttle.spend(
            Operation.MAIL, Caller(client="", recipient=recipient)
        )
        if not decision.allowed:
            self._observer.mail_refused(kind)
        return decision.allowed
