"""The active-learning screen, the AI4S agent pattern: dock a few, learn, screen all, dock the best.

Each repeat docks a random seed batch (shared by every strategy of that repeat, so strategies
are compared paired); every round a strategy then picks the ``batch`` undocked molecules it
ranks best (lowest predicted Vina score: kcal/mol, lower binds better) and docks them:

- gnn: the kit's GNN, retrained in-process on everything docked so far, served by the kit's
  KServe ModelServer, screens the whole undocked pool over HTTP (``active_learning_gnn``);
- forest: drugbase's random-forest baseline (``baseline.fit_forest``/``predict_forest``);
- random: a seeded draw, the reference every strategy must beat.

The oracle is retrospective: the physics stage docked the whole pool once (over MPI), and a
"docking call" reveals one molecule's score from that table (``RetrospectiveOracle``), so every
strategy and repeat is judged against the same ground truth, as MolPAL (Graff et al., Chem.
Sci. 2021) evaluates its strategies. The loop only talks to the ``Oracle`` interface, so a
live Vina oracle (``VinaOracle``) can replace it. A hit is a molecule among the best
``hit_percent`` % of the pool's scores; the measure is hits found per docking call, with
intervals over repeats, against random and against the forest.

After the last round the final gnn surrogate of the first repeat embeds the whole pool into
the vector index (``vector_index``) and each hit it found is queried for its nearest
neighbours: is the hit rate among them above the pool's base rate (does the embedding space
cluster binders)?
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reference_workloads.core import statistics
from reference_workloads.core.atomic import atomic_path, write_json

from .active_learning_config import ActiveLearningConfig
from .active_learning_oracle import Oracle, RetrospectiveOracle
from .baseline import BaselineConfig, fit_forest, predict_forest

ROUNDS_FILE = "active_learning_rounds.parquet"
NEIGHBOURS_FILE = "active_learning_neighbours.parquet"
POOL_FILE = "active_learning_pool.json"
FIGURE_FILE = "active_learning.png"
INDEX_FOLDER = "vector_index"
PUBLISHED = (ROUNDS_FILE, NEIGHBOURS_FILE, POOL_FILE)
"""The files ``active_learning_headline`` recomputes its numbers from."""
POOL_COLUMNS = ("record", "smiles", "docking_score")
NEIGHBOUR_COLUMNS = ("hit_record", "hit_score", "rank", "record", "smiles", "similarity", "docking_score", "is_hit")

Progress = Callable[[int, int], None]
Choose = Callable[[pd.DataFrame, list[int], np.ndarray, int, int], tuple[np.ndarray, dict[str, float]]]
"""(candidates: record + smiles, docked positions, their scores, round, batch) -> positions to dock, costs."""


def docked_pool(pool: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The molecules with a docking score, in record order, and how many rows were excluded (failed docking)."""
    missing = [c for c in POOL_COLUMNS if c not in pool.columns]
    if missing:
        raise ValueError(f"pool lacks columns {missing}: expected the physics table with {list(POOL_COLUMNS)}")
    scores = pd.to_numeric(pool["docking_score"], errors="coerce").to_numpy(dtype=np.float64)
    ok = np.isfinite(scores)
    if "status" in pool.columns:
        ok &= (pool["status"] == "ok").to_numpy()
    kept = pool.loc[ok, list(POOL_COLUMNS)].sort_values("record").reset_index(drop=True)
    if kept["record"].duplicated().any():
        raise ValueError("pool has repeated records: expected one row per library molecule")
    return kept, int((~ok).sum())


def hit_threshold(scores: np.ndarray, hit_percent: float) -> float:
    """The score at or below which a molecule is among the best ``hit_percent`` % (lower is better)."""
    count = max(1, math.floor(len(scores) * hit_percent / 100))
    return float(np.sort(scores)[count - 1])


def _lowest(predicted: np.ndarray, undocked: np.ndarray, batch: int) -> np.ndarray:
    ranked = np.lexsort((undocked, predicted))  # lowest prediction first, ties by position
    return undocked[ranked[:batch]]


def run_repeat(candidates: pd.DataFrame, oracle: Oracle, choose: Choose | None, config: ActiveLearningConfig, *,
               rng: np.random.Generator, threshold: float) -> tuple[list[dict[str, Any]], list[int]]:
    """One strategy, one repeat: rows of cumulative calls and hits after the seed batch and each
    round, and the records of the hits it found.

    A strategy sees the candidates' record and smiles only (any other column is dropped): it
    learns scores from the oracle's answers, never from the pool table. ``choose`` None is the
    random strategy.
    """
    candidates = candidates[["record", "smiles"]].reset_index(drop=True)
    if config.calls > len(candidates):
        raise ValueError(f"the loop's {config.calls} docking calls exceed the pool's {len(candidates)} molecules: "
                         "expected seed_batch + rounds * batch <= pool size")
    records = candidates["record"].to_numpy()
    docked = [int(i) for i in rng.choice(len(candidates), config.seed_batch, replace=False)]
    scores = list(oracle.dock(records[docked]))
    rows = [_row(0, oracle, scores, threshold, {})]
    for round_number in range(1, config.rounds + 1):
        undocked = np.setdiff1d(np.arange(len(candidates)), docked)
        if choose is None:
            chosen, costs = rng.choice(undocked, config.batch, replace=False), {}
        else:
            chosen, costs = choose(candidates, docked, np.asarray(scores), round_number, config.batch)
        if len(set(chosen.tolist()) & set(docked)) or len(chosen) != config.batch:
            raise RuntimeError(f"strategy chose {len(chosen)} molecules, some docked already: expected "
                               f"{config.batch} undocked ones")
        docked += [int(i) for i in chosen]
        scores += list(oracle.dock(records[chosen]))
        rows.append(_row(round_number, oracle, scores, threshold, costs))
    hits = [int(records[i]) for i, s in zip(docked, scores, strict=True) if math.isfinite(s) and s <= threshold]
    return rows, hits


def _row(round_number: int, oracle: Oracle, scores: list[float], threshold: float,
         costs: dict[str, float]) -> dict[str, Any]:
    values = np.asarray(scores, dtype=np.float64)
    finite = values[np.isfinite(values)]
    return {"round": round_number, "calls": oracle.calls, "hits": int(np.sum(finite <= threshold)),
            "best_score": float(finite.min()) if finite.size else math.nan, **costs}


def _forest_chooser(config: ActiveLearningConfig, seed: int) -> Choose:
    forest_config = BaselineConfig(n_estimators=config.forest_trees)

    def choose(candidates, docked, scores, round_number, batch):
        started = time.perf_counter()
        smiles = candidates["smiles"].tolist()
        known = np.isfinite(scores)
        model = fit_forest([smiles[i] for i, k in zip(docked, known, strict=True) if k], scores[known],
                           forest_config, seed=(seed * 1000 + round_number) % 2**32)
        undocked = np.setdiff1d(np.arange(len(smiles)), docked)
        predicted = predict_forest(model, [smiles[i] for i in undocked], forest_config)
        return _lowest(predicted, undocked, batch), {"model_s": time.perf_counter() - started}

    return choose


class _GnnChooser:
    """Train, publish to the server (started on the run's first gnn round, reloaded after), screen, pick.

    One server serves the whole run: starting one costs a Python process importing kserve and
    torch plus a scoring process, a reload only the scoring process (both measured per round).
    """

    def __init__(self, config: ActiveLearningConfig, graphs, folder: Path, device: str) -> None:
        self.config, self.graphs, self.folder, self.device = config, graphs, folder, device
        self.seed = 0
        self.served = None
        self._server = None
        self.final_model = None

    def __call__(self, candidates, docked, scores, round_number, batch):
        from .active_learning_gnn import served_surrogate, train_surrogate

        config = self.config
        started = time.perf_counter()
        known = np.isfinite(scores)
        model, normaliser = train_surrogate(
            self.graphs, [i for i, k in zip(docked, known, strict=True) if k], scores[known], hidden=config.hidden,
            layers=config.layers, epochs=config.epochs, learning_rate=config.learning_rate,
            batch_size=config.train_batch, seed=(self.seed * 1000 + round_number) % 2**63)
        costs = {"model_s": time.perf_counter() - started, "server_start_s": 0.0, "reload_s": 0.0}
        if self.served is None:
            self._server = served_surrogate(self.folder, (model, normaliser), device=self.device,
                                            max_batch=config.screen_batch)
            self.served = self._server.__enter__()
            costs["server_start_s"] = self.served.started_s
        else:
            costs["reload_s"] = self.served.publish(model, normaliser)
        undocked = np.setdiff1d(np.arange(len(candidates)), docked)
        smiles = candidates["smiles"].to_numpy()[undocked].tolist()
        predicted, answered, seconds = self.served.screen(smiles, config.screen_batch)
        self.final_model = model
        return _lowest(predicted, undocked, batch), {**costs, "screen_s": seconds, "screened": len(smiles),
                                                     "screen_requests": answered}

    def close(self) -> None:
        if self._server is not None:
            self._server.__exit__(None, None, None)
            self._server = self.served = None


def _repeat_seed(seed: int, repeat: int) -> int:
    return int(np.random.SeedSequence([seed, repeat]).generate_state(1)[0] % (2**31 - 1))


def _run_all(candidates, valid, config, seed, threshold, make_oracle, gnn, progress):
    rows: list[dict[str, Any]] = []
    final_gnn, gnn_hits = None, []
    steps, done = len(config.strategies) * config.repeats, 0
    for repeat in range(config.repeats):
        repeat_seed = _repeat_seed(seed, repeat)
        for strategy in config.strategies:
            # The same generator state per repeat for every strategy: the seed batch is shared.
            rng = np.random.default_rng(repeat_seed)
            chooser: Choose | None = None
            if strategy == "forest":
                chooser = _forest_chooser(config, repeat_seed)
            elif strategy == "gnn":
                gnn.seed = repeat_seed
                chooser = gnn
            found, hits = run_repeat(candidates, make_oracle(valid), chooser, config, rng=rng, threshold=threshold)
            if strategy == "gnn" and final_gnn is None:
                final_gnn, gnn_hits = gnn.final_model, hits
            rows += [{"strategy": strategy, "repeat": repeat, "seed": repeat_seed, **row} for row in found]
            done += 1
            if progress is not None:
                progress(done, steps)
    return rows, final_gnn, gnn_hits


def run_active_learning(pool: pd.DataFrame, config: ActiveLearningConfig, out_dir: Path, *, device: str = "cpu",
                        seed: int = 0, progress: Progress | None = None,
                        oracle_factory: Callable[[pd.DataFrame], Oracle] | None = None) -> dict[str, Any]:
    """Run every strategy for every repeat on the docked ``pool``; write the tables, figure and index.

    ``pool`` is the physics stage's table (record, smiles, docking_score; rows that failed
    docking are excluded and counted). ``oracle_factory`` builds a fresh oracle per strategy
    and repeat (default: ``RetrospectiveOracle`` over the pool's scores). Returns the headline.
    """
    from .active_learning_plots import plot_curves
    from .featurize import smiles_to_graph

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    valid, excluded = docked_pool(pool)
    truth = valid["docking_score"].to_numpy(dtype=np.float64)
    threshold = hit_threshold(truth, config.hit_percent)
    candidates = valid[["record", "smiles"]].copy()  # what strategies see: no scores
    make_oracle = oracle_factory or (lambda frame: RetrospectiveOracle(dict(zip(
        frame["record"].astype(int), frame["docking_score"].astype(float), strict=True))))
    graphs = None
    if "gnn" in config.strategies:
        from .active_learning_gnn import pool_graphs

        graphs = pool_graphs([smiles_to_graph(s) for s in candidates["smiles"]], device)
    gnn = _GnnChooser(config, graphs, out_dir / "work" / "surrogate", device)
    try:
        rows, final_gnn, gnn_hits = _run_all(candidates, valid, config, seed, threshold, make_oracle, gnn, progress)
    finally:
        gnn.close()
    table = pd.DataFrame(rows)
    with atomic_path(out_dir / ROUNDS_FILE) as tmp:
        table.to_parquet(tmp, index=False)
    write_json(out_dir / POOL_FILE, {"molecules": int(len(valid)), "excluded_failed_docking": excluded,
                                     "hit_percent": config.hit_percent, "hit_threshold": threshold,
                                     "hits_in_pool": int(np.sum(truth <= threshold)), "config": config.as_dict(),
                                     "oracle": "retrospective" if oracle_factory is None else "custom"})
    neighbours = pd.DataFrame(columns=list(NEIGHBOUR_COLUMNS))
    if final_gnn is not None:
        neighbours = neighbours_of_hits(final_gnn, valid, threshold, config.neighbours, out_dir / INDEX_FOLDER,
                                        queried=gnn_hits)
    with atomic_path(out_dir / NEIGHBOURS_FILE) as tmp:
        neighbours.to_parquet(tmp, index=False)
    plot_curves(table, out_dir / FIGURE_FILE, hit_percent=config.hit_percent)
    return active_learning_headline(out_dir)


def neighbours_of_hits(model, valid: pd.DataFrame, threshold: float, k: int, index_folder: Path,
                       queried: Sequence[int]) -> pd.DataFrame:
    """Index the pool's embeddings (exact cosine, faiss) and list each queried hit's k nearest others."""
    from .gnn import molecule_embeddings
    from .vector_index import MoleculeIndex

    unique = valid.drop_duplicates("smiles").reset_index(drop=True)
    vectors = molecule_embeddings(model, unique["smiles"].tolist())
    index = MoleculeIndex(vectors.shape[1])
    index.add(unique["smiles"].tolist(), vectors)
    index.save(index_folder)
    by_smiles = unique.set_index("smiles")
    record_smiles = dict(zip(valid["record"].astype(int), valid["smiles"], strict=True))
    hits = [record_smiles[r] for r in queried if record_smiles[r] in by_smiles.index]
    hits = list(dict.fromkeys(hits))
    rows: list[dict[str, Any]] = []
    if not hits:
        return pd.DataFrame(rows, columns=list(NEIGHBOUR_COLUMNS))
    for hit, found in index.around(hits, min(k, len(index) - 1)).items():
        for rank, neighbour in enumerate(found, start=1):
            score = float(by_smiles.loc[neighbour.smiles, "docking_score"])
            rows.append({"hit_record": int(by_smiles.loc[hit, "record"]),
                         "hit_score": float(by_smiles.loc[hit, "docking_score"]), "rank": rank,
                         "record": int(by_smiles.loc[neighbour.smiles, "record"]), "smiles": neighbour.smiles,
                         "similarity": neighbour.similarity, "docking_score": score, "is_hit": bool(score <= threshold)})
    return pd.DataFrame(rows, columns=list(NEIGHBOUR_COLUMNS))


def _describe(values: Sequence[float]) -> dict[str, Any]:
    values = [float(v) for v in values]
    return statistics.describe(values) if len(values) >= 2 else {"n": len(values), "mean": float(np.mean(values))}


def active_learning_headline(folder: Path) -> dict[str, Any]:
    """The active-learning numbers, recomputed from the files in ``PUBLISHED`` under ``folder``."""
    folder = Path(folder)
    table = pd.read_parquet(folder / ROUNDS_FILE)
    pool = json.loads((folder / POOL_FILE).read_text())
    neighbours = pd.read_parquet(folder / NEIGHBOURS_FILE)
    final = table.loc[table.groupby(["strategy", "repeat"])["round"].idxmax()].sort_values(["strategy", "repeat"])
    per_call = {name: frame.set_index("repeat")["hits"] / frame.set_index("repeat")["calls"]
                for name, frame in final.groupby("strategy")}
    base_rate = pool["hits_in_pool"] / pool["molecules"]
    headline: dict[str, Any] = {
        "pool_molecules": pool["molecules"], "excluded_failed_docking": pool["excluded_failed_docking"],
        "hit_percent": pool["hit_percent"], "hit_threshold": pool["hit_threshold"],
        "calls": int(final["calls"].max()), "repeats": int(final["repeat"].nunique()),
        "hits_per_call": {name: _describe(values.tolist()) for name, values in per_call.items()},
        "found_fraction": {name: _describe((frame["hits"] / pool["hits_in_pool"]).tolist())
                           for name, frame in final.groupby("strategy")},
        "base_rate": base_rate,
    }
    for name in ("gnn", "forest"):
        for reference in ("random", "forest"):
            if name != reference and name in per_call and reference in per_call:
                paired = (per_call[name] - per_call[reference]).dropna()
                headline[f"{name}_minus_{reference}"] = _describe(paired.tolist())
    if len(neighbours):
        headline["neighbours"] = {"hits_queried": int(neighbours["hit_record"].nunique()),
                                  "k": int(neighbours["rank"].max()),
                                  "hit_rate": float(neighbours["is_hit"].mean()),
                                  "base_rate": base_rate,
                                  "enrichment": float(neighbours["is_hit"].mean()) / base_rate}
    return headline
