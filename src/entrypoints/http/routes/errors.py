"""Human-readable documentation of every error code, generated from the registry."""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from entrypoints.http.error_registry import ERRORS, ErrorSpec
from entrypoints.http.openapi import problem_responses
from entrypoints.http.problems import ProblemError

router = APIRouter(prefix="/errors", tags=["errors"])

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5;color:#1b1b1b}code{background:#f2f2f2;padding:0 .25rem;border-radius:3px}"
    "table{border-collapse:collapse}"
    "td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:left}"
)


def _html(example: str) -> dict[str, Any]:
    return {"content": {"text/html": {"schema": {"type": "string"}, "example": example}}}


def _page(title: str, body: str) -> HTMLResponse:
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        f'</title><meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )
    return HTMLResponse(html)


def _code_text(text: str) -> str:
    """Escape, then show `backticked` words as code."""
    parts = escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


@router.get(
    "",
    operation_id="list_error_codes",
    summary="Index of error codes",
    description="An HTML table of every `code` a problem can carry, with its status and title.",
    response_class=HTMLResponse,
    responses={200: _html("<h1>Error codes</h1><table>…</table>")},
)
async def index() -> HTMLResponse:
    rows = "".join(
        f'<tr><td><a href="errors/{s.code}"><code>{s.code}</code></a></td><td>{s.status}</td>'
        f"<td>{escape(s.title)}</td></tr>"
        for s in ERRORS.values()
    )
    return _page(
        "accounts: error codes",
        "<h1>Error codes</h1><p>Every error is an RFC 9457 problem whose <code>code</code> "
        "is one of these.</p><table><tr><th>code</th><th>status</th><th>title</th></tr>"
        f"{rows}</table>",
    )


@router.get(
    "/{code}",
    operation_id="describe_error_code",
    summary="What an error code means and how to fix it",
    description="The page every problem's `type` points to: what the code means, its typical "
    "causes and how to fix it. Generated from the same registry as the error responses.",
    response_class=HTMLResponse,
    responses={
        200: _html("<h1><code>email_taken</code></h1><h2>What it means</h2>…"),
        **problem_responses("not_found"),
    },
)
async def describe(code: str) -> HTMLResponse:
    spec: ErrorSpec | None = ERRORS.get(code)
    if spec is None:
        raise ProblemError("not_found", "No error code of that name.")
    causes = "".join(f"<li>{_code_text(c)}</li>" for c in spec.causes)
    kind = "OAuth 2.0 error (RFC 6749 §5.2)" if spec.oauth else "Problem (RFC 9457)"
    return _page(
        f"{spec.code}: {spec.title}",
        f"<p><a href='.'>All error codes</a></p><h1><code>{spec.code}</code></h1>"
        f"<p><strong>{escape(spec.title)}</strong> · HTTP {spec.status} · {kind}</p>"
        f"<h2>What it means</h2><p>{_code_text(spec.meaning)}</p>"
        f"<h2>Typical causes</h2><ul>{causes}</ul>"
        f"<h2>How to fix it</h2><p>{_code_text(spec.fix)}</p>",
    )
