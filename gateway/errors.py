"""Errors a view raises on purpose; each becomes a JSON body that names what is wrong."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(self, status: int, message: str, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.extra = extra

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message}
        if self.field:
            error["field"] = self.field
        error.update(self.extra)
        return {"error": error}


class WorkflowError(Exception):
    """An illegal transition of an assignment, extension or case (a 409 in views)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
