"""Drug-discovery recipes: one frozen dataclass tree per run, named for its hardware.

``ci_tiny`` runs every stage in a few minutes on 2 CPU cores; ``laptop`` docks a few hundred
NCI molecules in about 20 minutes with all its seeds; ``h100x1`` docks the whole NCI set on 16
CPU ranks and trains and screens a larger surrogate on one H100.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

from reference_workloads.core.compute import DEVICE_SETTINGS, PRECISIONS, DeviceSetting, Precision
from reference_workloads.core.recipes import RecipeBook, RepeatConfig, StageResources, require

from .active_learning_config import ActiveLearningConfig
from .baseline import BaselineConfig
from .docking.vina_dock import DockingSettings
from .gnn import GnnConfig
from .physics import LABELS, PhysicsSettings
from .splits import SPLIT_KINDS


@dataclass(kw_only=True, frozen=True, slots=True)
class DataConfig:
    """Which molecules the run reads."""

    library: str = "nci"
    """Screening library: 'nci' (RDKit's NCI set), 'chembl', or a path to a .smi/.sdf file."""
    library_limit: int | None = None
    """Keep only the first N records of the library (None: all)."""
    activity_limit: int | None = None
    """Keep a seeded random N of the ChEMBL activity set (None: all ~1,000)."""

    def __post_init__(self) -> None:
        require(bool(self.library), "data.library", "'nci', 'chembl' or a file path", self.library)
        for name in ("library_limit", "activity_limit"):
            value = getattr(self, name)
            require(value is None or value >= 20, f"data.{name}", "None or an integer >= 20", value)


# What the physics task can learn: the docking score (the objective) or an MMFF descriptor.
TARGETS = ("docking_score", *LABELS)


@dataclass(kw_only=True, frozen=True, slots=True)
class TrainConfig:
    """Surrogate training under torchrun (the same settings for both tasks)."""

    epochs: int = 40
    """Passes over the training molecules."""
    batch_size: int = 64
    """Global batch (split evenly over the processes)."""
    lr: float = 2e-3
    """Peak AdamW learning rate (cosine decay to 5 % of it)."""
    weight_decay: float = 1e-5
    """AdamW weight decay."""
    physics_target: str = "docking_score"
    """Physics label the surrogate learns: the Vina docking score (kcal/mol, the screening
    objective) or one of the MMFF descriptors (columns of the physics table)."""
    physics_split: Literal["random", "scaffold"] = "random"
    """Split of the library for the physics task."""
    activity_split: Literal["random", "scaffold"] = "scaffold"
    """Split of the ChEMBL set; scaffold is the honest QSAR setting."""
    val_fraction: float = 0.1
    """Share of molecules for model selection."""
    test_fraction: float = 0.2
    """Share of molecules held out for the reported metrics."""
    seed: int = 0
    """Seed of the surrogate's initialisation and sampling, and of the forest; repeated per seed."""
    precision: Precision = "bf16"
    """bf16: bf16 autocast and TF32 on CUDA (the CPU always computes in float32); fp32 everywhere."""
    compile: bool = False
    """torch.compile the surrogate for training (graphs vary in size, so it recompiles: off by default)."""
    deterministic: bool = True
    """Deterministic kernels: on for the bitwise reproducibility checks; off lets cuDNN autotune."""
    num_workers: int = 0
    """Processes that featurise the molecules before training (0: in the training process)."""

    def __post_init__(self) -> None:
        require(self.precision in PRECISIONS, "train.precision", "fp32 or bf16", self.precision)
        require(0 <= self.num_workers <= 64, "train.num_workers", "an integer in [0, 64]", self.num_workers)
        require(1 <= self.epochs <= 10_000, "train.epochs", "an integer in [1, 10000]", self.epochs)
        require(1 <= self.batch_size <= 65_536, "train.batch_size", "an integer in [1, 65536]", self.batch_size)
        require(0.0 < self.lr < 1.0, "train.lr", "a number in (0, 1)", self.lr)
        require(0.0 <= self.weight_decay < 1.0, "train.weight_decay", "a number in [0, 1)", self.weight_decay)
        require(self.physics_target in TARGETS, "train.physics_target", f"one of {', '.join(TARGETS)}", self.physics_target)
        for name in ("physics_split", "activity_split"):
            require(getattr(self, name) in SPLIT_KINDS, f"train.{name}", "random or scaffold", getattr(self, name))
        require(0.0 < self.val_fraction < 0.5, "train.val_fraction", "a number in (0, 0.5)", self.val_fraction)
        require(0.0 < self.test_fraction < 0.5, "train.test_fraction", "a number in (0, 0.5)", self.test_fraction)
        require(0 <= self.seed < 2**31, "train.seed", "an integer in [0, 2**31)", self.seed)


@dataclass(kw_only=True, frozen=True, slots=True)
class ScreenConfig:
    """The screening job that scores the library through the served surrogate."""

    batch_size: int = 256
    """SMILES per HTTP request."""
    protocol: Literal["v1", "v2"] = "v2"
    """Inference protocol the screen uses (the server always offers both)."""
    top_fraction: float = 0.01
    """Share of the library called top candidates (recall@1 % by default)."""
    higher_is_better: bool = False
    """Direction of a good label: False ranks the lowest (best) docking score first."""
    hit_fraction: float = 0.05
    """A docking hit is a molecule among the best ``hit_fraction`` of docking scores in the
    docked pool; enrichment counts how many the surrogate's top 1 % and 5 % recover."""
    max_batch: int = 1024
    """Largest batch the server accepts; larger requests get 400."""

    def __post_init__(self) -> None:
        require(1 <= self.batch_size <= self.max_batch, "screen.batch_size", f"an integer in [1, screen.max_batch={self.max_batch}]", self.batch_size)
        require(self.protocol in ("v1", "v2"), "screen.protocol", "v1 or v2", self.protocol)
        require(0.0 < self.top_fraction <= 0.5, "screen.top_fraction", "a number in (0, 0.5]", self.top_fraction)
        require(1 <= self.max_batch <= 100_000, "screen.max_batch", "an integer in [1, 100000]", self.max_batch)
        require(0.0 < self.hit_fraction <= 0.5, "screen.hit_fraction", "a number in (0, 0.5]", self.hit_fraction)


@dataclass(kw_only=True, frozen=True, slots=True)
class Resources:
    """Processes and devices of each stage."""

    physics_ranks: int = 2
    """MPI ranks of the physics stage."""
    train_procs: int = 2
    """torchrun processes (DDP world size) of each training task."""
    device: DeviceSetting = "auto"
    """Training and serving device: auto (CUDA when visible, else CPU), cpu or cuda."""
    threads: int = 1
    """Intra-op threads per process; fixed, because CPU results are bitwise only per thread count."""
    timeout_s: int = 3600
    """Wall-clock limit of each launched job."""
    physics: StageResources = StageResources(cpu=1, memory_gib=1, ranks=2)
    """Pod size of the physics stage on a cluster: one pod per MPI rank (or Ray worker)."""
    train: StageResources = StageResources(cpu=2, memory_gib=4)
    """Pod size of each training task: one pod running torchrun's processes."""
    evaluate: StageResources = StageResources(cpu=1, memory_gib=2)
    """Pod size of evaluation."""
    serve: StageResources = StageResources(cpu=1, memory_gib=2)
    """Pod size of the screening model's InferenceService predictor."""

    def __post_init__(self) -> None:
        require(1 <= self.physics_ranks <= 4096, "resources.physics_ranks", "an integer in [1, 4096]", self.physics_ranks)
        require(1 <= self.train_procs <= 64, "resources.train_procs", "an integer in [1, 64]", self.train_procs)
        require(self.device in DEVICE_SETTINGS, "resources.device", "auto, cpu or cuda", self.device)
        require(1 <= self.threads <= 256, "resources.threads", "an integer in [1, 256]", self.threads)
        require(10 <= self.timeout_s <= 7 * 86_400, "resources.timeout_s", "an integer in [10, 604800]", self.timeout_s)


@dataclass(kw_only=True, frozen=True, slots=True)
class DrugRecipe:
    """Everything that decides a drug-discovery run's result."""

    seed: int = 0
    """Data seed: conformers, ChEMBL subset and splits (training seeds are train.seed)."""
    data: DataConfig = field(default_factory=DataConfig)
    physics: PhysicsSettings = field(default_factory=PhysicsSettings)
    """The MMFF94 stage: a cheap 3-D descriptor of every molecule, not the objective."""
    docking: DockingSettings = field(default_factory=DockingSettings)
    """The docking stage (AutoDock Vina against ProLIF's tutorial receptor): the objective."""
    model: GnnConfig = field(default_factory=GnnConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    screen: ScreenConfig = field(default_factory=ScreenConfig)
    active_learning: ActiveLearningConfig = field(default_factory=ActiveLearningConfig)
    """The active-learning screen over the docked pool: served GNN, forest and random picks."""
    resources: Resources = field(default_factory=Resources)
    repeats: RepeatConfig = field(default_factory=RepeatConfig)
    """Training seeds repeated over one shared physics stage and split, and a claim's margin."""
    tracking: Literal["embedded", "server"] = "embedded"
    """MLflow: an embedded SQLite store, or a local mlflow server started for the run."""

    def __post_init__(self) -> None:
        require(0 <= self.seed < 2**31, "seed", "an integer in [0, 2**31)", self.seed)
        require(self.tracking in ("embedded", "server"), "tracking", "embedded or server", self.tracking)


book = RecipeBook("drug-discovery")


@book.register
def ci_tiny() -> DrugRecipe:
    """64 NCI molecules docked at exhaustiveness 1, 2 MPI ranks, 2 DDP processes: the whole
    pipeline in a few minutes on 2 CPU cores."""
    return DrugRecipe(
        data=DataConfig(library_limit=64, activity_limit=500),
        physics=PhysicsSettings(n_conformers=4, mmff_max_iters=200, max_heavy_atoms=50),
        # Measured on this 2-core machine: ci_tiny's 64 molecules at exhaustiveness 1, one
        # conformer, took 170 CPU s on 2 ranks (2.7 s per molecule; 476 s of wall clock with the
        # machine shared at load 8, ~90 s on idle cores).
        docking=DockingSettings(exhaustiveness=1, n_conformers=1, max_heavy_atoms=40),
        model=GnnConfig(hidden=48, layers=3),
        train=TrainConfig(epochs=60, batch_size=32, lr=3e-3),
        baseline=BaselineConfig(n_estimators=100),
        # a 64-molecule library leaves ~13 test molecules: a hit is the best 20 % so some fall there
        screen=ScreenConfig(batch_size=64, hit_fraction=0.2),
        # ~62 docked molecules: 24 calls, a hit is the best 20 %; a small GNN, two repeats
        active_learning=ActiveLearningConfig(rounds=2, seed_batch=8, batch=8, hit_percent=20.0, repeats=2,
                                             epochs=8, hidden=32, layers=2, forest_trees=50, screen_batch=64),
        repeats=RepeatConfig(seeds=2, margin=0.0),
        # 64 molecules docked: a core per rank for a minute; the GNN is small. The device is
        # pinned: this is the CPU reproducibility recipe, on any host.
        resources=Resources(device="cpu", physics=StageResources(cpu=1, memory_gib=1, ranks=2),
                            train=StageResources(cpu=2, memory_gib=2),
                            evaluate=StageResources(cpu=1, memory_gib=1),
                            serve=StageResources(cpu=0.5, memory_gib=1)),
    )


@book.register
def laptop() -> DrugRecipe:
    """256 NCI molecules docked, the ChEMBL set, 5 training seeds: ~20 min on 2 cores."""
    base = ci_tiny()
    return dataclasses.replace(
        base,
        data=DataConfig(library_limit=256),
        physics=PhysicsSettings(n_conformers=3, mmff_max_iters=200, max_heavy_atoms=70),
        # Sized from ci_tiny's measured 2.7 CPU s per molecule at exhaustiveness 1 (Vina's cost
        # is linear in exhaustiveness and K): 256 x 5.4 s / 2 ranks ~ 11.5 min of docking, the
        # rest of the ~20 min for the MMFF descriptor and 5 seeds x 2 tasks of training.
        docking=DockingSettings(exhaustiveness=2, n_conformers=1, max_heavy_atoms=50),
        model=GnnConfig(hidden=64, layers=4),
        train=dataclasses.replace(base.train, epochs=30, batch_size=64),
        # Trying every feature at each split (max_features=1.0) is 70 % of the search's cost here
        # and lost to 0.33 on this recipe's physics task (out-of-bag R2), so it is not searched.
        baseline=BaselineConfig(n_estimators=100, search_max_features=(0.1, 0.33)),
        # A hit is the best 10 % of the docked pool (~25; ~5 fall in the 50-molecule test split):
        # at 5 % the split held a single hit and its enrichment meant nothing.
        screen=ScreenConfig(batch_size=256, hit_fraction=0.1),
        # ~250 docked molecules: 40 calls (16 % of the pool), six repeats for the intervals.
        # At 80 calls and 5 % hits (the previous budget) the GNN and the forest both found every
        # hit, so the budget could not separate them; 40 calls cannot find all ~25 hits.
        active_learning=ActiveLearningConfig(rounds=3, seed_batch=16, batch=8, hit_percent=10.0, repeats=6,
                                             epochs=15, hidden=64, layers=3),
        repeats=RepeatConfig(seeds=5, margin=0.0),
        resources=Resources(device="cpu"),  # a core per rank; the CPU reproducibility recipe
    )


@book.register
def h100x1() -> DrugRecipe:
    """One H100 node: the whole NCI set docked on 16 CPU ranks at exhaustiveness 8, a wider,
    deeper surrogate trained and the library screened on the GPU."""
    base = laptop()
    return dataclasses.replace(
        base,
        data=DataConfig(),
        physics=PhysicsSettings(n_conformers=16, mmff_max_iters=1000, max_heavy_atoms=100),
        # The whole NCI set (~5,000) x 2 conformers at exhaustiveness 8 on 16 ranks: 2.7 CPU s
        # x 8 x 2 ~ 43 s per molecule at the per-core rate measured here, so ~3.7 h (less on
        # faster cores); the launch timeout allows 8.
        docking=DockingSettings(exhaustiveness=8, n_conformers=2, max_heavy_atoms=60),
        model=GnnConfig(hidden=256, layers=6, dropout=0.1),
        train=dataclasses.replace(base.train, epochs=200, batch_size=256, lr=1e-3, deterministic=False,
                                  num_workers=4),
        baseline=BaselineConfig(n_estimators=500, search_max_features=(0.1, 0.33)),
        screen=ScreenConfig(batch_size=1024, max_batch=4096, hit_fraction=0.01),
        # ~4,800 docked: 600 calls (12.5 %), a hit is the best 1 % (~48), five repeats
        active_learning=ActiveLearningConfig(rounds=5, seed_batch=100, batch=100, hit_percent=1.0, repeats=5,
                                             epochs=30, hidden=128, layers=4, screen_batch=1024),
        # 16 CPU ranks dock; the GNN trains on one whole H100; one screening replica fits
        # a MIG slice (--set resources.serve.gpus=0 --set resources.serve.mig_profile=1g.10gb).
        resources=Resources(physics_ranks=16, train_procs=1, device="cuda", threads=4,
                            timeout_s=8 * 3600,
                            physics=StageResources(cpu=2, memory_gib=4, ranks=16),
                            train=StageResources(cpu=8, memory_gib=64, gpus=1),
                            evaluate=StageResources(cpu=4, memory_gib=16),
                            serve=StageResources(cpu=4, memory_gib=16, gpus=1)),
    )
