"""``eval --max-cost USD``: one budget shared by every conversation of an evaluation.

Owns the running sum of finished conversations' ``cost_usd`` and the rule that no conversation starts once it
reaches the budget (conversations in flight finish: what they cost is counted, nothing is cut mid-turn). The
arithmetic of a cost is crazycall/cost.py's.
"""

from __future__ import annotations

import threading
from typing import Any


class Budget:
    """``eval --max-cost USD``: the summed cost of finished conversations, and the rows it kept from starting."""

    def __init__(self, max_cost: float) -> None:
        self.max_cost = max_cost
        self.spent = 0.0
        self.skipped = 0
        self._lock = threading.Lock()

    def admit(self) -> bool:
        """Whether a new conversation may start (counted as skipped when not)."""
        with self._lock:
            if self.spent >= self.max_cost:
                self.skipped += 1
                return False
            return True

    def add(self, cost: float) -> None:
        with self._lock:
            self.spent += cost

    def as_json(self) -> dict[str, Any]:
        return {"max_cost": self.max_cost, "spent_usd": round(self.spent, 8), "not_started": self.skipped}
