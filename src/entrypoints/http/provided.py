"""What the app's container provides, handed to routes as FastAPI dependencies.

The lifespan builds every singleton of the container once (`container.start`) and keeps them
by provider name in `app.state.provided`; `provided(Container.x)` is the dependency reading
`x` there. It is one function per provider, so `app.dependency_overrides[provided(...)]`
replaces it like any other dependency.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from dependency_injector import providers
from starlette.requests import Request

from entrypoints.container import Container

T = TypeVar("T")

_DEPENDENCIES: dict[str, Callable[[Request], Awaitable[Any]]] = {}
_SINGLETONS: dict[providers.Provider[Any], str] = {
    provider: name
    for name, provider in Container.providers.items()
    if isinstance(provider, providers.BaseSingleton)
}


def provided(provider: providers.Provider[T]) -> Callable[[Request], Awaitable[T]]:
    """The dependency handing a route this app's instance of `Container`'s `provider`."""
    name = name_of(provider)
    dependency = _DEPENDENCIES.get(name)
    if dependency is None:
        # Async: FastAPI runs a plain `def` dependency in its thread pool.
        async def dependency(request: Request) -> Any:
            return request.app.state.provided[name]

        dependency.__name__ = dependency.__qualname__ = f"provided_{name}"
        _DEPENDENCIES[name] = dependency
    return dependency


def provided_to(request: Request, provider: providers.Provider[T]) -> T:
    """`provider`'s instance, read without a dependency FastAPI solves: for authentication and
    rate limits, on every authenticated request, where each solved dependency costs more than
    the work it hands over."""
    value: T = request.app.state.provided[name_of(provider)]
    return value


def name_of(provider: providers.Provider[Any]) -> str:
    """The name `Container` declares the singleton `provider` under."""
    name = _SINGLETONS.get(provider)
    if name is None:
        raise LookupError(f"{provider!r} is not a singleton of Container")
    return name
