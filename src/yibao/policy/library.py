"""A set of policy files, and the question "which policy applied here on date D?"."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterable

from .parameters import PolicyError, PolicyFile, build_policy, read_policy_document
from .schema import ResolvedPolicy

SHIPPED_DIR = Path(str(resources.files("yibao.policy") / "data"))


def shipped_policy_paths() -> list[Path]:
    return sorted(SHIPPED_DIR.glob("*.yaml"))


class PolicyLibrary:
    """Policies by id, with ``extends`` resolved, and look-up by region, insurance type and date."""

    def __init__(self, policies: Iterable[PolicyFile] = ()) -> None:
        self._by_id: dict[str, PolicyFile] = {}
        self._found: dict[tuple[str, str, dt.date], PolicyFile] = {}
        for policy in policies:
            self.add(policy)

    @classmethod
    def from_paths(cls, paths: Iterable[str | Path]) -> "PolicyLibrary":
        """Load files; a file may extend a policy from any file in the same set."""
        documents: dict[str, tuple[dict, str, str]] = {}
        for path in paths:
            raw, sha = read_policy_document(path)
            if "id" not in raw:
                raise PolicyError(f"{path}: 缺少必填的顶层键 'id'")
            pid = str(raw["id"])
            if pid in documents:
                raise PolicyError(f"{path}: 政策编号 {pid} 与 {documents[pid][1]} 重复")
            documents[pid] = (raw, str(path), sha)
        library = cls()
        visiting: set[str] = set()

        def build(pid: str) -> PolicyFile:
            if pid in library._by_id:
                return library._by_id[pid]
            raw, source, sha = documents[pid]
            parent = None
            if "extends" in raw:
                parent_id = str(raw["extends"])
                if parent_id not in documents:
                    raise PolicyError(f"{source}: extends 指向不存在的政策 {parent_id!r}")
                if parent_id in visiting:
                    raise PolicyError(f"{source}: extends 形成循环（{parent_id}）")
                visiting.add(pid)
                parent = build(parent_id)
                visiting.discard(pid)
            policy = build_policy(raw, source, parent, sha)
            library.add(policy)
            return policy

        for pid in documents:
            build(pid)
        return library

    @classmethod
    def shipped(cls) -> "PolicyLibrary":
        return _shipped_library()

    def add(self, policy: PolicyFile) -> None:
        self._by_id[policy.id] = policy
        self._found.clear()

    def ids(self) -> list[str]:
        return sorted(self._by_id)

    def __contains__(self, policy_id: str) -> bool:
        return policy_id in self._by_id

    def get(self, policy_id: str) -> PolicyFile:
        try:
            return self._by_id[policy_id]
        except KeyError:
            known = ", ".join(self.ids()) or "（无）"
            raise PolicyError(f"没有编号为 {policy_id!r} 的政策；已有: {known}") from None

    def all(self) -> list[PolicyFile]:
        return [self._by_id[k] for k in self.ids()]

    def find(self, insu_admdvs: str, insutype: str, on: dt.date) -> PolicyFile:
        """The policy of the person's pooling region for ``insutype`` in force on ``on``."""
        key = (insu_admdvs, insutype, on)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = self._find(insu_admdvs, insutype, on)
        return found

    def _find(self, insu_admdvs: str, insutype: str, on: dt.date) -> PolicyFile:
        candidates = [
            p
            for p in self._by_id.values()
            if insu_admdvs.startswith(p.pooling_prefix) and insutype in p.insutypes and p.covers(on)
        ]
        if not candidates:
            raise PolicyError(
                f"参保地 {insu_admdvs} 险种 {insutype} 在 {on.isoformat()} 没有生效的医保政策"
            )
        # The most specific region wins, then the most recent policy.
        candidates.sort(key=lambda p: (len(p.pooling_prefix), p.valid_from), reverse=True)
        return candidates[0]


@lru_cache(maxsize=1)
def _shipped_library() -> PolicyLibrary:
    return PolicyLibrary.from_paths(shipped_policy_paths())


@lru_cache(maxsize=4096)
def _resolve_cached(policy: PolicyFile, on: dt.date) -> ResolvedPolicy:
    return policy.resolve(on)


def resolve(policy: PolicyFile, on: dt.date) -> ResolvedPolicy:
    """``policy.resolve(on)``, remembered (a policy file does not change once loaded).

    Dates between two parameter changes share one resolution (its ``on`` is the first of them),
    so a year of daily settlements resolves and compiles a policy a handful of times, not 365."""
    return _resolve_cached(policy, policy.in_force_since(on))
