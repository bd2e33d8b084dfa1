"""Policy as data: dated, cited parameter files per region and insurance type."""

from .library import PolicyLibrary, resolve, shipped_policy_paths
from .parameters import Parameter, PolicyError, PolicyFile, build_policy, load_policy_file
from .schema import ResolvedPolicy, SchemeParams

__all__ = [
    "Parameter",
    "PolicyError",
    "PolicyFile",
    "PolicyLibrary",
    "ResolvedPolicy",
    "SchemeParams",
    "build_policy",
    "load_policy_file",
    "resolve",
    "shipped_policy_paths",
]
