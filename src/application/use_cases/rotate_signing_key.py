"""Make a new managed signing key: published now, signing after the publication delay."""

from __future__ import annotations

from dataclasses import dataclass

from application.audit import AuditEvents
from application.errors import ConcurrentUpdate
from application.ports import Clock, KeyPairGenerator, SecretBox, UnitOfWorkFactory
from application.request_context import NO_REQUEST, RequestContext
from application.signing_keys import SigningKeyPolicy, load_key_set
from domain.audit import AuditEventType
from domain.signing_keys import KeySet, SigningKey
from domain.users import UserId


@dataclass(frozen=True, slots=True)
class RotateSigningKeyCommand:
    """`immediately` signs with the new key at once (an emergency); `only_if_due` makes a key
    only when none exists or the automatic rotation is due (start-up and the refresher)."""

    immediately: bool = False
    only_if_due: bool = False
    actor_id: UserId | None = None
    context: RequestContext = NO_REQUEST


class RotateSigningKey:
    """Add a key and retire its predecessors from the moment it signs; the new key, or None
    when nothing was due or another process rotated at the same moment (`only_if_due`).

    The first key signs at once: nothing could verify tokens before it. Two processes rotating
    at once make keys of the same generation, and only one commits.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        key_pairs: KeyPairGenerator,
        box: SecretBox,
        clock: Clock,
        *,
        events: AuditEvents,
        policy: SigningKeyPolicy,
    ) -> None:
        self._uow = uow
        self._key_pairs = key_pairs
        self._box = box
        self._clock = clock
        self._events = events
        self._policy = policy

    async def execute(self, command: RotateSigningKeyCommand) -> SigningKey | None:
        if command.only_if_due:
            _, key_set = await load_key_set(self._uow)
            if not self._policy.rotation_due(key_set, self._clock.now()):
                return None
        # Made before the transaction, so no connection waits on it; on the event loop, not in a
        # thread: an RSA key takes a tenth of a second once a rotation, and a thread of its own
        # would give this worker one more glibc heap for its lifetime.
        pair = self._key_pairs.generate(self._policy.algorithm)
        sealed = self._box.seal(pair.private_key)
        async with self._uow() as uow:
            now = self._clock.now()
            key_set = KeySet.of(await uow.signing_keys.list_all())
            if command.only_if_due and not self._policy.rotation_due(key_set, now):
                return None
            first = key_set.newest() is None
            immediately = first or command.immediately
            key = SigningKey(
                kid=pair.kid,
                generation=key_set.next_generation(),
                algorithm=self._policy.algorithm,
                public_jwk=dict(pair.public_jwk),
                sealed_private_key=sealed,
                created_at=now,
                signs_from=now if immediately else now + self._policy.publication_delay,
            )
            for retired in key_set.rotate(key):
                retired.erase_private_key(now)
                await uow.signing_keys.update(retired)
            try:
                await uow.signing_keys.add(key)
                await uow.audit.record(
                    self._events.new(
                        AuditEventType.SIGNING_KEY_ROTATED,
                        command.context,
                        now,
                        actor_id=command.actor_id,
                        details={
                            "kid": key.kid,
                            "algorithm": key.algorithm,
                            "signs_from": key.signs_from.isoformat(),
                            "immediately": immediately,
                            "reason": _reason(first, command),
                        },
                    )
                )
                await uow.commit()
            except ConcurrentUpdate:
                if command.only_if_due:
                    return None
                raise
        return key


def _reason(first: bool, command: RotateSigningKeyCommand) -> str:
    if first:
        return "first_key"
    return "scheduled" if command.only_if_due else "requested"
