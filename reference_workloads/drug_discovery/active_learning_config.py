"""Settings of the active-learning screen: how many docking calls, spent how, judged how."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from reference_workloads.core.recipes import require

STRATEGIES = ("gnn", "forest", "random")
"""gnn: the served GNN surrogate picks; forest: the random-forest baseline picks; random: a seeded draw."""


@dataclass(kw_only=True, frozen=True, slots=True)
class ActiveLearningConfig:
    """One active-learning comparison: every strategy, every repeat, the same docking budget."""

    rounds: int = 4
    """Rounds after the seed batch; docking calls = seed_batch + rounds * batch."""
    seed_batch: int = 32
    """Molecules drawn at random and docked before the first model (shared by all strategies of a repeat)."""
    batch: int = 32
    """Molecules docked per round: the strategy's best-ranked undocked ones."""
    hit_percent: float = 1.0
    """A hit is a molecule among the best ``hit_percent`` % of the pool's docking scores."""
    strategies: tuple[str, ...] = STRATEGIES
    """Which strategies run; "random" is always needed (it is the reference)."""
    repeats: int = 3
    """Independent repeats (seeds) per strategy; intervals are taken over them."""
    epochs: int = 15
    """GNN training epochs per round (retrained from scratch on everything docked so far)."""
    learning_rate: float = 3e-3
    """AdamW learning rate of the per-round GNN."""
    train_batch: int = 32
    """GNN mini-batch size (molecules)."""
    hidden: int = 64
    """Width of the per-round GNN (its embedding size)."""
    layers: int = 3
    """Message-passing rounds of the per-round GNN."""
    forest_trees: int = 100
    """Trees of the forest strategy's random forest."""
    screen_batch: int = 256
    """Molecules per HTTP request when the served GNN screens the undocked pool."""
    neighbours: int = 5
    """k of the similarity query around each hit in the vector index."""

    def __post_init__(self) -> None:
        require(1 <= self.rounds <= 100, "active_learning.rounds", "an integer in [1, 100]", self.rounds)
        require(2 <= self.seed_batch <= 100_000, "active_learning.seed_batch",
                "an integer in [2, 100000] (a model needs data)", self.seed_batch)
        require(1 <= self.batch <= 100_000, "active_learning.batch", "an integer in [1, 100000]", self.batch)
        require(math.isfinite(self.hit_percent) and 0 < self.hit_percent <= 50, "active_learning.hit_percent",
                "a percentage in (0, 50]", self.hit_percent)
        require(isinstance(self.strategies, tuple) and len(set(self.strategies)) == len(self.strategies)
                and set(self.strategies) <= set(STRATEGIES) and "random" in self.strategies,
                "active_learning.strategies", f"a tuple of distinct names from {STRATEGIES} including 'random'",
                self.strategies)
        require(2 <= self.repeats <= 100, "active_learning.repeats",
                "an integer in [2, 100] (an interval needs two seeds)", self.repeats)
        require(1 <= self.epochs <= 1000, "active_learning.epochs", "an integer in [1, 1000]", self.epochs)
        require(math.isfinite(self.learning_rate) and 0 < self.learning_rate <= 1, "active_learning.learning_rate",
                "a number in (0, 1]", self.learning_rate)
        require(1 <= self.train_batch <= 4096, "active_learning.train_batch", "an integer in [1, 4096]",
                self.train_batch)
        require(4 <= self.hidden <= 1024, "active_learning.hidden", "an integer in [4, 1024]", self.hidden)
        require(1 <= self.layers <= 12, "active_learning.layers", "an integer in [1, 12]", self.layers)
        require(1 <= self.forest_trees <= 5000, "active_learning.forest_trees", "an integer in [1, 5000]",
                self.forest_trees)
        require(1 <= self.screen_batch <= 1024, "active_learning.screen_batch",
                "an integer in [1, 1024] (the server's batch cap)", self.screen_batch)
        require(1 <= self.neighbours <= 100, "active_learning.neighbours", "an integer in [1, 100]", self.neighbours)

    @property
    def calls(self) -> int:
        """Docking calls each strategy spends in one repeat."""
        return self.seed_batch + self.rounds * self.batch

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "strategies": list(self.strategies)}
