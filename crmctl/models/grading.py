"""Tables for grading (see the matching migration in crmctl/migrations/versions)."""

from __future__ import annotations

__all__: list[str] = []
