"""What a GPU repository's TensorRT plans will take on the GPU under Triton, from the plans and their sidecars.

Triton's TensorRT backend (tensorrt_backend, r24.x to r25.x: `ModelState::CreateEngine`,
`ModelInstanceState::InitOptimizationProfiles`) does, per model instance:

- deserialize its own engine: an engine with dynamic shapes, as ours are, is not shared between
  instances, so every instance holds the weights (about the plan file's size);
- make one execution context per profile listed in the config (`profile: [...]`), each with
  TensorRT's default `ExecutionContextAllocationStrategy::kSTATIC`, which reserves the activation
  memory of the largest profile of the engine, whatever profile the context serves.

So a model takes instances x (weights + listed profiles x the largest profile's activation memory),
before I/O buffers; summing each profile's own size, as one might read the sidecar, would miss
the difference. (From r25.05 a config parameter `execution_context_allocation_strategy:
ON_PROFILE_CHANGE` lets each context size itself for its own profile; the repository writer leaves
the static default, which every release reads alike, and this estimate assumes it.)
"""

from __future__ import annotations

from dataclasses import dataclass

WARN_SHARE = 0.5
"""Warn when the models would take more than this share of the GPU's memory (or 8 GiB, its size unknown)."""
UNKNOWN_GPU_BUDGET_GIB = 8.0


@dataclass(frozen=True)
class PlanMemory:
    """One plan as Triton holds it per instance: its weights and one context per listed profile."""

    weights_bytes: int
    profile_memory_bytes: tuple[int, ...]
    """Activation memory of each profile of the engine (the sidecar's, from TensorRT); () when not recorded."""
    profiles: int | None = None
    """Profiles the config lists, one context each (None: every profile of the engine)."""

    @property
    def contexts(self) -> int:
        return len(self.profile_memory_bytes) if self.profiles is None else self.profiles

    @property
    def context_bytes(self) -> int:
        """What each context reserves with static allocation: the largest profile's activation memory."""
        return max(self.profile_memory_bytes, default=0)

    @property
    def instance_bytes(self) -> int:
        return self.weights_bytes + self.contexts * self.context_bytes


def size_text(size: float) -> str:
    """1.50 GiB, or 24 MiB below a GiB."""
    return f"{size / 2**30:.2f} GiB" if size >= 2**30 else f"{size / 2**20:.0f} MiB"


def gpu_memory_lines(instances: int, plans: dict[str, PlanMemory], gpu_memory_gib: float | None) -> list[str]:
    """One line per model and one for all of them on each GPU, a warning over `WARN_SHARE` of `gpu_memory_gib`."""
    lines, total = [], 0
    for name, plan in plans.items():
        if not plan.profile_memory_bytes:
            lines.append(f"warning: {name}: its plan's sidecar records no device memory; rebuild it to know")
            continue
        total += instances * plan.instance_bytes
        lines.append(
            f"{name}: {instances} instance(s) x ({size_text(plan.weights_bytes)} weights + {plan.contexts} profile "
            f"context(s) x {size_text(plan.context_bytes)}, the largest profile's activations) = "
            f"{size_text(instances * plan.instance_bytes)}"
        )
    line = f"in all {size_text(total)} on each GPU before I/O buffers"
    budget = WARN_SHARE * gpu_memory_gib if gpu_memory_gib else UNKNOWN_GPU_BUDGET_GIB
    if total > budget * 2**30:
        where = f"{WARN_SHARE:.0%} of a {gpu_memory_gib:.0f} GiB GPU" if gpu_memory_gib else (
            f"{UNKNOWN_GPU_BUDGET_GIB:.0f} GiB (no GPU here to measure)")  # fmt: skip
        line = (
            f"warning: {line}, over {where}; use fewer instances (--instances N) or fewer or narrower profiles "
            f"(golf-rt build-engine --profile)"
        )
    return [*lines, line]
