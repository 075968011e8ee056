"""Every error the service can raise is registered once, with what its page and answer need."""

from __future__ import annotations

import importlib
import pkgutil
import re

import application
import domain
from application.errors import ApplicationError, InvalidParameter
from domain.errors import DomainError, InvalidValue
from entrypoints.http.error_registry import ERRORS

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


def _subclasses(base: type[Exception]) -> set[type[Exception]]:
    found = set(base.__subclasses__())
    for cls in list(found):
        found |= _subclasses(cls)
    return found


def _every_error_class() -> set[type[Exception]]:
    """Each error class of the domain and the application, wherever it is declared."""
    for package in (domain, application):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)
    # `InvalidParameter` is only a base: each parameter's error names its own code.
    return (_subclasses(ApplicationError) | _subclasses(DomainError)) - {InvalidParameter}


def test_every_error_class_carries_a_registered_code() -> None:
    classes = _every_error_class()
    assert classes, "found no error class"
    for cls in classes:
        where = f"{cls.__module__}.{cls.__qualname__}"
        assert cls.code != "internal_error", f"{where} carries no code of its own"
        if issubclass(cls, InvalidValue | InvalidParameter):
            # A refused field: its code is that field's in the 422's `errors`.
            assert SNAKE_CASE.match(cls.code), where
        else:
            assert cls.code in ERRORS, f"{where}: {cls.code!r} is not in the registry"


def test_every_code_has_a_status_a_title_and_a_page() -> None:
    for code, spec in ERRORS.items():
        assert spec.code == code
        assert SNAKE_CASE.match(code), code
        assert 400 <= spec.status <= 599, code
        assert spec.title, code
        assert spec.detail, code
        page = (spec.meaning, spec.causes, spec.fix)
        assert all(page), f"{code}: its page would lack a section"


def test_titles_are_unique_so_each_page_and_example_names_one_code() -> None:
    titles = [spec.title for spec in ERRORS.values()]
    assert len(titles) == len(set(titles))


def test_every_bearer_401_challenges_and_oauth_errors_are_400_but_invalid_client() -> None:
    for code, spec in ERRORS.items():
        if spec.status == 401 and not spec.oauth:
            assert spec.headers["WWW-Authenticate"].startswith('Bearer realm="accounts"'), code
        if spec.oauth and code != "invalid_client":
            assert spec.status == 400, code
    # RFC 6749 §5.2: a failed client authentication is the one OAuth error answered with 401.
    assert ERRORS["invalid_client"].status == 401
