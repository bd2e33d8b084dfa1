"""Settlement scenarios (shared/spec/scenarios.md): load, run through the interface, compare."""

from .model import Event, Scenario, ScenarioFileError, load
from .runner import ScenarioReport, ScenarioRunner, compare

__all__ = ["Event", "Scenario", "ScenarioFileError", "ScenarioReport", "ScenarioRunner", "compare", "load"]
