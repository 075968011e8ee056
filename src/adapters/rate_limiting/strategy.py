"""The window strategies both rate limiters implement, named as the settings name them."""

from __future__ import annotations

from typing import Literal

Strategy = Literal["fixed-window", "moving-window", "sliding-window-counter"]
