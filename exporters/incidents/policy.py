"""What the recorder takes from the spec: priorities, targets, the flap interval.

The recorder reads the same `slo/spec.yaml` as the generator, so the priority of a
severity and its response and resolution targets are the plan's, and a flap is
judged by the same duplicate-suppression interval Alertmanager groups by.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Targets:
    priority: str
    response: float | None  # seconds
    resolution: float | None


@dataclass(frozen=True)
class Policy:
    severities: dict[str, Targets]
    suppression: float  # a resolved incident that fires again within this continues

    @property
    def settle(self) -> float:
        """Seconds after its resolution when an incident can no longer be continued.

        A flap starts within one suppression interval of the resolution, and its
        notification arrives within one more (Alertmanager's group interval).
        """
        return 2 * self.suppression

    @classmethod
    def from_spec(cls, path: Path) -> Policy:
        """Raises generator.loader.SpecError for a spec that does not load."""
        from generator.loader import load_spec

        spec = load_spec(path)
        return cls({name: Targets(s.priority, s.response, s.resolution)
                    for name, s in spec.severities.items()}, spec.duplicate_suppression)
