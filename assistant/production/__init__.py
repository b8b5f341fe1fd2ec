"""The one production path: brief -> plan -> estimate/approve -> generate -> cut -> render.

Every entry point (``shotsmith run``, ``chat``, the TUI, the Python API; the
offline planner or an LLM agent) drives :class:`ProductionService`, so
spending rules, caching, the edit model and output safety are the same
whoever answers.
"""

from shotsmith.assistant.production.service import ProductionService, ServiceOptions
from shotsmith.assistant.production.spending import (ApprovalRequiredError, BudgetExceededError, Estimate,
                                                     SpendingPolicy, SpendingRefusedError)

__all__ = ["ApprovalRequiredError", "BudgetExceededError", "Estimate", "ProductionService", "ServiceOptions",
           "SpendingPolicy", "SpendingRefusedError"]
