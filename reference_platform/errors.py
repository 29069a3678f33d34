"""One error shape for every failure: ``{"error": CODE, "message": TEXT, "field"?: NAME}``.

FastAPI answers its own errors as ``{"detail": ...}``; a client written against the
contract would not understand those, so every path to an error answer (our own checks,
FastAPI's validation, Starlette's 404/405, an unexpected exception) is mapped here.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class ApiError(Exception):
    """An error answer raised from a handler."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers


def error_response(status: int, code: str, message: str, field: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """The contract's error body as a response."""
    content: dict[str, Any] = {"error": code, "message": message}
    if field is not None:
        content["field"] = field
    return JSONResponse(content, status_code=status, headers=headers)


_STATUS_CODES = {400: "malformed", 401: "bad_signature", 404: "not_found",
                 405: "method_not_allowed", 409: "conflict", 413: "too_large",
                 415: "validation", 422: "validation", 429: "rate_limited"}


def field_name(location: tuple[Any, ...] | list[Any]) -> str:
    """A validation error's location as the contract's ``field``: ``attachments.0.sha256``."""
    parts = list(location)
    if parts and parts[0] in ("body", "query", "path", "header"):
        kind = parts.pop(0)
        if kind == "header" and parts:
            return "-".join(word.capitalize() for word in str(parts[0]).split("-"))
    return ".".join(str(part) for part in parts) or "body"


async def _api_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return error_response(error.status, error.code, error.message, error.field, error.headers)


async def _validation(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = list(error.errors())
    if any(problem.get("type") == "json_invalid" for problem in problems):
        return error_response(400, "malformed", "the body is not valid JSON")
    if not problems:
        return error_response(422, "validation", "the request is not valid")
    first = problems[0]
    field = field_name(first.get("loc", ()))
    message = f"{field}: {first.get('msg', 'invalid')}"
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
    return error_response(422, "validation", message, field)


async def _http(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = _STATUS_CODES.get(error.status_code, "error")
    message = {404: "no such resource", 405: "method not allowed for this resource"}.get(
        error.status_code, str(error.detail))
    return error_response(error.status_code, code, message, headers=error.headers)


async def _unexpected(_: Request, error: Exception) -> JSONResponse:
    return error_response(500, "internal", f"internal error ({type(error).__name__})")


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into the contract's shape."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
