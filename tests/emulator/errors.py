"""Discord's JSON error bodies, raised by handlers and turned into responses by the router."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error reply: HTTP status plus Discord's `{"message", "code", "errors"?}` body."""

    def __init__(
        self, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def field_error(code: str, message: str) -> dict[str, Any]:
    return {"_errors": [{"code": code, "message": message}]}


def invalid_form(errors: dict[str, Any]) -> ApiError:
    """50035: Discord nests the errors along the path of the offending field."""
    return ApiError(400, 50035, "Invalid Form Body", errors)


def nest(path: list[str | int], leaf: dict[str, Any]) -> dict[str, Any]:
    """Wrap `leaf` per path element: ["embeds", 0, "title"] -> {"embeds": {"0": {...}}}."""
    result = leaf
    for key in reversed(path):
        result = {str(key): result}
    return result


def missing_permissions() -> ApiError:
    return ApiError(403, 50013, "Missing Permissions")


def missing_access() -> ApiError:
    return ApiError(403, 50001, "Missing Access")


def unknown(kind: str, code: int) -> ApiError:
    return ApiError(404, code, f"Unknown {kind}")


UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
UNKNOWN_MEMBER = 10007
UNKNOWN_MESSAGE = 10008
UNKNOWN_WEBHOOK = 10015
UNKNOWN_USER = 10013
UNKNOWN_EMOJI = 10014
UNKNOWN_INTERACTION = 10062
UNKNOWN_COMMAND = 10063
UNKNOWN_EVENT = 10070
ALREADY_ACKNOWLEDGED = 40060
EMPTY_MESSAGE = 50006
MAX_REACTIONS = 30010
THREAD_LOCKED = 50083
