"""Cache identity as a property: vary every recipe field in turn, and exactly the stages that
read it get a new key; a stage that reads an undeclared field fails instead of caching wrongly."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any

import pytest

from reference_workloads.climate import pipeline as climate
from reference_workloads.climate.recipes import book as climate_book
from reference_workloads.climate.simulation.config import INITIAL_CONDITIONS
from reference_workloads.core.eventlog import EventLog
from reference_workloads.core.identity import (
    RecipeView,
    UndeclaredRead,
    leaf_fields,
    reads_field,
    sizing_fields,
)
from reference_workloads.core.recipes import RecipeError, repetition_seeds
from reference_workloads.core.stages import Stage, StageRunner, stage_key
from reference_workloads.drug_discovery import pipeline as drug
from reference_workloads.drug_discovery.physics import LABELS
from reference_workloads.drug_discovery.recipes import book as drug_book

WORKLOADS = {"climate": (climate_book, climate.STAGES), "drug-discovery": (drug_book, drug.STAGES)}
CASES = [(w, r) for w, (book, _) in WORKLOADS.items() for r in book.names()]


def _replace_leaf(recipe: Any, path: str, value: Any) -> Any:
    head, _, rest = path.partition(".")
    if not rest:
        return dataclasses.replace(recipe, **{head: value})
    return dataclasses.replace(recipe, **{head: _replace_leaf(getattr(recipe, head), rest, value)})


def _annotation(recipe: Any, path: str) -> Any:
    owner = recipe
    parts = path.split(".")
    for part in parts[:-1]:
        owner = getattr(owner, part)
    return typing.get_type_hints(type(owner))[parts[-1]]


def _candidates(value: Any, annotation: Any) -> list[Any]:
    """Other values of the field's type, nearest first; the first valid one is used."""
    choices = typing.get_args(annotation) if typing.get_origin(annotation) is typing.Literal else ()
    if choices:
        return [c for c in choices if c != value]
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value * 2, value - 1, value + 10, max(1, value // 2)]
    if isinstance(value, float):
        return [value * 1.5, value * 0.5, value + 0.1, value + 1.0, 0.1, 0.05]
    if value is None:
        return [20, 100, 0.5, 1.0, "1g.10gb"]
    if isinstance(value, str):
        return [*(c for c in INITIAL_CONDITIONS if c != value), "chembl", "nci", *LABELS]
    if isinstance(value, tuple):
        # shorter, longer, the same items in another order (a tuple of names may require one)
        return [value[:-1], value + value[-1:], value[1:], value[::-1]]
    return []


def _alternatives(recipe: Any, path: str, value: Any) -> list[Any]:
    return [c for c in _candidates(value, _annotation(recipe, path)) if c != value]


def _try(recipe: Any, changes: dict[str, Any]) -> Any | None:
    try:
        for path, value in changes.items():
            recipe = _replace_leaf(recipe, path, value)
    except (RecipeError, ValueError, TypeError):
        return None
    return recipe


def _varied(recipe: Any, path: str, value: Any) -> tuple[Any, list[str]]:
    """A valid recipe with ``path`` changed, and the fields changed; a field that cross-field
    rules pin (val_trajectories needs a spare member) is changed with one companion field."""
    for candidate in _alternatives(recipe, path, value):
        if (varied := _try(recipe, {path: candidate})) is not None:
            return varied, [path]
    fields = dict(leaf_fields(recipe))
    for candidate in _alternatives(recipe, path, value):
        for other, other_value in fields.items():
            for companion in [] if other == path else _alternatives(recipe, other, other_value):
                if (varied := _try(recipe, {other: companion, path: candidate})) is not None:
                    return varied, [path, other]
    raise AssertionError(f"no valid alternative value for {path}={value!r}: extend _candidates")


def _keys(stages: tuple[Stage, ...], recipe: Any) -> dict[str, str]:
    upstream = {name: {"content": name} for stage in stages for name in stage.after}
    return {s.name: stage_key(s, recipe, {n: upstream[n] for n in s.after}, {"files": "fixed"}, "code")
            for s in stages}


@pytest.mark.parametrize(("workload", "recipe_name"), CASES)
def test_every_field_reruns_exactly_the_stages_that_read_it(workload: str, recipe_name: str) -> None:
    book, stages = WORKLOADS[workload]
    recipe = book.get(recipe_name)
    base = _keys(stages, recipe)
    fields = list(leaf_fields(recipe))
    assert len(fields) > 20  # the enumeration really walks the recipe tree
    sizes = sizing_fields(recipe)  # pod sizes: read by the platform render, by no stage (not even '*')
    assert {p for p, _ in fields if p.startswith("resources.")} >= sizes and len(sizes) >= 20
    for path, value in fields:
        varied, changed_fields = _varied(recipe, path, value)
        changed = _keys(stages, varied)
        rerun = {name for name in base if changed[name] != base[name]}
        readers = {s.name for s in stages if any(reads_field(s.reads, f) for f in changed_fields if f not in sizes)}
        assert rerun == readers, f"{workload}/{recipe_name}: changing {changed_fields} reruns {sorted(rerun)}, " \
                                 f"but the stages reading it are {sorted(readers)}"


@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_every_compute_stage_field_is_read_by_a_compute_stage_or_is_a_declared_run_setting(workload: str) -> None:
    """Fields no compute stage reads may only be settings of the run itself (tracking, repeats)."""
    book, stages = WORKLOADS[workload]
    compute = [s for s in stages if "*" not in s.reads]
    recipe = book.get("ci_tiny")
    unread = {path for path, _ in leaf_fields(recipe)
              if not any(reads_field(s.reads, path) for s in compute)} - sizing_fields(recipe)
    assert unread <= {"tracking", "repeats.seeds", "repeats.margin"}, unread


def test_code_version_and_upstream_content_are_part_of_every_key() -> None:
    recipe = climate_book.get("ci_tiny")
    train = climate.TRAIN
    key = stage_key(train, recipe, {"simulate": {"dataset_hash": "a"}}, {}, "v1")
    assert key != stage_key(train, recipe, {"simulate": {"dataset_hash": "a"}}, {}, "v2")
    assert key != stage_key(train, recipe, {"simulate": {"dataset_hash": "b"}}, {}, "v1")


def test_a_stage_cannot_read_a_field_it_does_not_declare() -> None:
    view = RecipeView(climate_book.get("ci_tiny"), ("train.seed", "eval"), stage="evaluate")
    assert view.train.seed == 1234 and view.eval.horizon == 10
    with pytest.raises(UndeclaredRead, match=r"evaluate.*'train.learning_rate'"):
        _ = view.train.learning_rate
    with pytest.raises(UndeclaredRead, match="'simulation'"):
        _ = view.simulation
    with pytest.raises(UndeclaredRead):
        view.whole()
    recipe_eval = dataclasses.asdict(climate_book.get("ci_tiny").eval)
    assert view.declared() == {"eval": recipe_eval, "train": {"seed": 1234}}
    assert recipe_eval["horizon"] == 10


def test_library_file_content_is_part_of_the_library_stage_key(tmp_path: Path) -> None:
    library = tmp_path / "mine.smi"
    library.write_text("CCO ethanol\n")
    first = drug.library_files(str(library))
    library.write_text("CCN ethylamine\n")
    assert drug.library_files(str(library))["library"] != first["library"]
    assert drug.library_files(str(library))["chembl_activity"] == first["chembl_activity"]


def test_repetition_seeds_are_distinct_and_start_with_the_recipe_seed() -> None:
    seeds = repetition_seeds(1234, 50)
    assert seeds[0] == 1234 and len(set(seeds)) == 50
    assert repetition_seeds(1234, 5) == seeds[:5]


def _toy_runner(tmp_path: Path) -> StageRunner:
    return StageRunner(tmp_path, EventLog(tmp_path / "events.log"), code_version="v")


def test_downstream_reruns_when_upstream_content_changes_and_keeps_its_result_when_it_does_not(tmp_path: Path,
                                                                                            monkeypatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    calls: list[str] = []
    content = {"value": "a"}

    def make(call):
        calls.append("make")
        return {"content_hash": content["value"], "seconds": len(calls)}  # seconds differ run to run

    def use(call):
        calls.append("use")
        return {"seen": call.upstream["make"]["content_hash"]}

    recipe = climate_book.get("ci_tiny")
    upstream_stage = Stage("make", make, reads=("simulation.seed",), provides=("content_hash",))
    downstream = Stage("use", use, reads=("eval",), after=("make",))
    runner = _toy_runner(tmp_path)

    def both(r):
        made = runner.run_stage(upstream_stage, r)
        return runner.run_stage(downstream, r, upstream={"make": made}, upstream_stages={"make": upstream_stage})

    assert both(recipe) == {"seen": "a"}
    assert both(recipe) == {"seen": "a"} and calls == ["make", "use"]
    # The upstream reruns (its field changed) but produces the same content: downstream is kept.
    reseeded = _replace_leaf(recipe, "simulation.seed", 8)
    assert both(reseeded) == {"seen": "a"} and calls == ["make", "use", "make"]
    # New content upstream: downstream reruns and sees it.
    content["value"] = "b"
    again = _replace_leaf(recipe, "simulation.seed", 9)
    assert both(again) == {"seen": "b"} and calls[-2:] == ["make", "use"]
