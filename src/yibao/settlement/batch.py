"""The batch path: many encounters settled at once, with NumPy, to the same fen as ``settle``.

    result = settle_batch(claims, policy_for, states)

settles ``claims`` **in the given order**, exactly as if :func:`settle` were called on each in
turn with the person's :class:`YearState` for the settlement year — ``states[(psn_no, year)]``,
or an empty one — and each result's delta applied before the next claim (see
:func:`settle_each`, the reference loop the batch path must agree with). A claim ``settle``
refuses (``SettlementError``) is recorded in ``result.errors`` and changes no state, as a caller
catching the error would leave it. ``states`` is not modified; ``result.states`` is a new dict
holding the input entries (the same objects, for persons not in the batch) plus a fresh
``YearState`` for every (psn_no, year) of the batch. ``policy_for`` is a function of the claim
or a sequence parallel to ``claims``.

As with ``settle``, the personal-account balance is the one in each claim's ``PersonFacts``:
``YearState`` holds no account, so nothing carries a balance from one claim to the next (the
interface writes the new balance to storage after each settlement). A caller batching several
claims of one employee with ``acct_used`` must give each claim the balance it should see.

Explanations are not computed here: ``result.settle_one(i)`` / ``result.explain(i)`` run claim i
through ``settle`` on the state it saw in the batch, for the trace and ``setl_proc_info``.

How it works
------------
Claims of different persons (or years) are independent; the claims of one (psn_no, year) are
sequential. So the batch runs in *rounds*: round k settles the k-th claim of every
(psn_no, year), vectorised over them with int64 arrays of fen.

- The policy side is compiled once per *profile* (policy × insurance type × psn_type ×
  assistance group × civil-servant flag × level × institution admdvs × med_type × filing ×
  referral) into integers: deductibles, caps, band edges in fen, ratios as numerators over
  ``DEN`` = 1,000,000 (see :mod:`.batch_policy`). Rounding half-up is integer arithmetic,
  ``(2n + DEN) // (2 DEN)`` (mirrored for negatives).
- Cumulative layers (大病 bands and deductible, special groups, 大额, 公务员, 医疗救助 with yearly
  deductibles and caps) are the piecewise-linear F of the yearly base, padded to the same number
  of bands, and pay min(round F(x1) − round F(x0), cap − paid).

Exactness
---------
The vectorised path only ever holds integers. Whenever a figure would not be an integer number
of fen — the 大额 base ``excess − remaining ÷ ratio`` when the division is not exact, the 公务员
base ``S × (P − E) ÷ P`` when it is not, a person's yearly base that already is a fraction —
or could leave the bounds that keep every product inside an int64, the claim is settled by the
single-claim path ``settle`` itself, on the exact ``YearState``; the person's later claims that
year stay on that path while any of their accumulators is not a whole number of fen (the
accumulators are written back to the arrays as soon as they are). Claims under a profile that
cannot be written in integers, and rounds with fewer than ``min_round`` claims (the long tail
of persons with many claims), go the same way. ``result.fallback`` marks these claims and
``result.fallback_reasons`` counts why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import chain
from operator import attrgetter

import numpy as np

from yibao.policy.schema import ResolvedPolicy

from .batch_policy import (
    ASSIST,
    BASIC,
    CIVIL,
    CRITICAL,
    CUMULATIVE,
    DEN,
    KINDS,
    LARGE,
    MONEY_LIMIT,
    STATE_LIMIT,
    Col,
    Profile,
    compile_profile,
    layer_cols,
    profile_matrix,
)
from .engine import SettlementError, settle
from .model import Claim, LayerAccum, SettlementResult, StateDelta, YearState

PAY_FIELDS = ("hifp_pay", "hifmi_pay", "hifob_pay", "cvlserv_pay", "maf_pay")
TOTAL_FIELDS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")
SCALAR_FIELDS = (
    *TOTAL_FIELDS, "act_pay_dedc", "pool_prop_num", "pool_prop_den", *PAY_FIELDS,
    "fund_pay_sumamt", "psn_part_amt", "acct_pay", "psn_cash_pay", "balc", "delta_admissions",
)
ROW_FIELDS = ("row_base_num", "row_base_den", "row_cap_remaining", "row_payamt")

StateKey = tuple[str, int]
PolicyFor = Callable[[Claim], ResolvedPolicy] | Sequence[ResolvedPolicy]

_LINE_FIGURES = attrgetter("amount", "fulamt_ownpay", "overlmt", "preselfpay", "inscp")
# the discrete facts of a claim that, with the policy, decide its profile
_PROFILE_FACTS = attrgetter(
    "person.insutype", "person.psn_type", "person.assistance", "person.cvlserv",
    "institution.level", "institution.admdvs", "med_type", "filed", "referred",
)
_SLOT_KEY = attrgetter("person.psn_no", "settle_date.year")
_BALANCE = attrgetter("person.acct_balc")
_ACCT_USED = attrgetter("acct_used")
_CUM_SLOT = {kind: slot for slot, kind in enumerate(CUMULATIVE)}

REASON_PROFILE = "profile not vectorised"
REASON_BOUNDS = "amount beyond int64-safe bounds"
REASON_LARGE = "大额 base not a whole fen (basic cap cut mid-encounter)"
REASON_CIVIL = "公务员 base not a whole fen"
REASON_EXACT_STATE = "yearly accumulator not a whole fen"
REASON_SMALL_ROUND = "small round (person's n-th claim, few such)"
REASON_NEGATIVE = "negative medfee_sumamt (settle() refuses it)"


@dataclass
class BatchResult:
    """Per-claim figures of ``SettlementResult`` as NumPy arrays (a struct of arrays).

    Money is int64 fen. ``pool_prop`` is ``pool_prop_num / pool_prop_den`` (reduced). Rows are
    (n, 5) arrays, one column per layer kind in :data:`KINDS` order (basic, critical_illness,
    large_amount, civil_servant, assistance) — the engine makes at most one row per kind, in
    that order: ``row_present``, ``row_counted`` (added to the accumulators), ``row_fpt`` (index
    into ``fund_pay_types``), the row's base ``row_base_num / row_base_den`` (exact; the arrays
    turn to dtype object in the unlikely case a fraction does not fit in int64),
    ``row_capped`` / ``row_cap_remaining`` (cap remaining before; not capped ↔ None) and
    ``row_payamt``. The StateDelta of claim i is ``year[i]``, ``delta_admissions[i]``, the
    counted rows (fund_pay_type, base, payamt) in kind order, and ``acct_pay[i]`` — see
    :meth:`delta`. Claims in ``errors`` were refused by ``settle``; their figures are 0 (the
    line totals excepted) and ``ok`` is False.
    """

    n: int
    fund_pay_types: list[str]
    ok: np.ndarray
    fallback: np.ndarray
    errors: dict[int, str]
    year: np.ndarray
    in_region: np.ndarray
    policy_index: np.ndarray  # into policy_ids
    policy_ids: list[str]
    category: list  # per claim, str or None
    medfee_sumamt: np.ndarray
    fulamt_ownpay_amt: np.ndarray
    overlmt_selfpay: np.ndarray
    preselfpay_amt: np.ndarray
    inscp_scp_amt: np.ndarray
    act_pay_dedc: np.ndarray
    pool_prop_num: np.ndarray
    pool_prop_den: np.ndarray
    hifp_pay: np.ndarray
    hifmi_pay: np.ndarray
    hifob_pay: np.ndarray
    cvlserv_pay: np.ndarray
    maf_pay: np.ndarray
    fund_pay_sumamt: np.ndarray
    psn_part_amt: np.ndarray
    acct_pay: np.ndarray
    psn_cash_pay: np.ndarray
    balc: np.ndarray
    delta_admissions: np.ndarray
    row_present: np.ndarray
    row_counted: np.ndarray
    row_fpt: np.ndarray
    row_base_num: np.ndarray
    row_base_den: np.ndarray
    row_capped: np.ndarray
    row_cap_remaining: np.ndarray
    row_payamt: np.ndarray
    states: dict[StateKey, YearState]
    rounds: int = 0
    fallback_reasons: dict[str, int] = field(default_factory=dict)
    _claims: Sequence[Claim] = ()
    _policies: list = field(default_factory=list)
    _initial: dict = field(default_factory=dict)

    # -- one claim, as plain Python values --------------------------------------------------

    def pool_prop(self, i: int) -> Fraction:
        return Fraction(int(self.pool_prop_num[i]), int(self.pool_prop_den[i]))

    def rows(self, i: int) -> tuple[tuple[str, str, int | Fraction, int | None, int, bool], ...]:
        """(kind, fund_pay_type, base, cap_remaining, payamt, counted) per row, in engine order."""
        out = []
        for k, kind in enumerate(KINDS):
            if not self.row_present[i, k]:
                continue
            num, den = int(self.row_base_num[i, k]), int(self.row_base_den[i, k])
            base = num if den == 1 else Fraction(num, den)
            cap = int(self.row_cap_remaining[i, k]) if self.row_capped[i, k] else None
            out.append((kind, self.fund_pay_types[self.row_fpt[i, k]], base, cap, int(self.row_payamt[i, k]),
                        bool(self.row_counted[i, k])))
        return tuple(out)

    def delta(self, i: int) -> StateDelta:
        """Exactly what claim i added to its person's accumulators (as ``SettlementResult.delta``)."""
        layers = tuple((fpt, base, pay) for _, fpt, base, _, pay, counted in self.rows(i) if counted)
        return StateDelta(int(self.year[i]), int(self.delta_admissions[i]), layers, int(self.acct_pay[i]))

    def figures(self, i: int) -> dict:
        """Every figure of claim i, in the shape of :func:`figures_of` (for comparisons)."""
        if not self.ok[i]:
            return {"error": self.errors[i]}
        return {
            "policy_id": self.policy_ids[self.policy_index[i]],
            "category": self.category[i],
            "in_region": bool(self.in_region[i]),
            "totals": tuple(int(getattr(self, f)[i]) for f in TOTAL_FIELDS),
            "act_pay_dedc": int(self.act_pay_dedc[i]),
            "pool_prop": self.pool_prop(i),
            "pays": tuple(int(getattr(self, f)[i]) for f in PAY_FIELDS),
            "fund_pay_sumamt": int(self.fund_pay_sumamt[i]),
            "psn_part_amt": int(self.psn_part_amt[i]),
            "acct_pay": int(self.acct_pay[i]),
            "psn_cash_pay": int(self.psn_cash_pay[i]),
            "balc": int(self.balc[i]),
            "rows": self.rows(i),
            "delta": self.delta(i),
        }

    def settle_one(self, i: int) -> SettlementResult:
        """Claim i through the single-claim path, on the state it saw in the batch: the full
        ``SettlementResult`` with the trace and every row's ``setl_proc_info``."""
        claim = self._claims[i]
        key = (claim.person.psn_no, claim.settle_date.year)
        state = self._initial.get(key)
        state = state.copy() if state is not None else YearState()
        for j in range(i):
            c = self._claims[j]
            if self.ok[j] and (c.person.psn_no, c.settle_date.year) == key:
                self.delta(j).apply(state)
        return settle(claim, self._policies[i], state)

    def explain(self, i: int) -> str:
        return "\n".join(self.settle_one(i).trace)


def figures_of(result: SettlementResult | Exception) -> dict:
    """The figures of a single-path result, in the shape of :meth:`BatchResult.figures`."""
    if isinstance(result, Exception):
        return {"error": str(result)}
    t = result.totals
    return {
        "policy_id": result.policy_id,
        "category": result.category,
        "in_region": result.in_region,
        "totals": (t.medfee_sumamt, t.fulamt_ownpay_amt, t.overlmt_selfpay, t.preselfpay_amt, t.inscp_scp_amt),
        "act_pay_dedc": result.act_pay_dedc,
        "pool_prop": result.pool_prop,
        "pays": tuple(result.pays[f] for f in PAY_FIELDS),
        "fund_pay_sumamt": result.fund_pay_sumamt,
        "psn_part_amt": result.psn_part_amt,
        "acct_pay": result.acct_pay,
        "psn_cash_pay": result.psn_cash_pay,
        "balc": result.balc,
        "rows": tuple((r.kind, r.fund_pay_type, r.base, r.cap_remaining, r.payamt, r.counted) for r in result.rows),
        "delta": result.delta,
    }


def settle_each(
    claims: Sequence[Claim], policy_for: PolicyFor, states: dict[StateKey, YearState] | None = None
) -> tuple[list[SettlementResult | SettlementError], dict[StateKey, YearState]]:
    """The reference semantics of :func:`settle_batch`: ``settle`` on each claim in turn.

    Returns the results (a ``SettlementError`` in place of a refused claim) and the states
    (copies; the input is not modified)."""
    policies = _policy_list(claims, policy_for)
    out: dict[StateKey, YearState] = {k: v.copy() for k, v in (states or {}).items()}
    results: list[SettlementResult | SettlementError] = []
    for claim, policy in zip(claims, policies):
        state = out.setdefault((claim.person.psn_no, claim.settle_date.year), YearState())
        try:
            result = settle(claim, policy, state)
        except SettlementError as exc:
            results.append(exc)
            continue
        result.delta.apply(state)
        results.append(result)
    return results, out


def _policy_list(claims: Sequence[Claim], policy_for: PolicyFor) -> list:
    if callable(policy_for):
        return [policy_for(c) for c in claims]
    policies = list(policy_for)
    if len(policies) != len(claims):
        raise ValueError(f"{len(policies)} policies for {len(claims)} claims")
    return policies


# ---------------------------------------------------------------------------------------------
# Integer helpers (int64 arrays; every input is bounded so that nothing overflows).


def _rhu(num: np.ndarray) -> np.ndarray:
    """round_half_up(num / DEN) for signed int64 numerators."""
    pos = (2 * num + DEN) // (2 * DEN)
    neg = -((-2 * num + DEN) // (2 * DEN))
    return np.where(num >= 0, pos, neg)


def _payout(x: np.ndarray, ded: np.ndarray, bands: np.ndarray) -> np.ndarray:
    """DEN × F(x) for every claim: bands is (m, K, 3) of (start, width, ratio numerator)."""
    above = (x - ded)[:, None]
    part = np.clip(above - bands[:, :, 0], 0, bands[:, :, 1])
    return (part * bands[:, :, 2]).sum(axis=1)


# ---------------------------------------------------------------------------------------------


class _Batch:
    """The working state of one settle_batch call."""

    def __init__(self, claims: Sequence[Claim], policy_for: PolicyFor, states: dict[StateKey, YearState], min_round: int):
        self.claims = claims
        self.initial = states
        self.min_round = min_round
        self.n = len(claims)
        self.keys: list[str] = []
        self.key_index: dict[str, int] = {}
        self.reasons: dict[str, int] = {}
        self.errors: dict[int, str] = {}
        self._prepare(policy_for)
        self._allocate()

    # -- pre-pass: plain Python over the claims ------------------------------------------------

    def _key(self, fpt: str) -> int:
        k = self.key_index.get(fpt)
        if k is None:
            k = self.key_index[fpt] = len(self.keys)
            self.keys.append(fpt)
        return k

    def _prepare(self, policy_for: PolicyFor) -> None:
        claims, n = self.claims, self.n
        # Everything per claim is fetched by C-level getters and factorised with dicts; Python
        # code runs once per distinct policy, profile and (psn_no, year), not once per claim.
        policies = _policy_list(claims, policy_for)
        ids = list(map(id, policies))
        first_of_id = dict(zip(reversed(ids), range(n - 1, -1, -1)))  # id → first claim using it
        canon_by_content: dict[str, int] = {}
        canon_of_id = {}
        for pid, i in first_of_id.items():  # once per distinct policy object
            content = policies[i].model_dump_json(exclude={"on"})
            canon_of_id[pid] = canon_by_content.setdefault(content, len(canon_by_content))
        facts = map(_PROFILE_FACTS, claims)
        profile_keys = list(zip(map(canon_of_id.__getitem__, ids), facts))
        profile_of: dict[tuple, int] = {}
        prof_idx = [profile_of.setdefault(k, len(profile_of)) for k in profile_keys]
        first_of_profile = dict(zip(reversed(prof_idx), range(n - 1, -1, -1)))
        profiles: list[Profile] = []
        for key, j in profile_of.items():  # once per profile, in index order
            prof = compile_profile(policies[first_of_profile[j]], *key[1])
            for fpt in prof.keys:
                self._key(fpt)
            profiles.append(prof)
        slot_of: dict[StateKey, int] = {}
        slot_idx = [slot_of.setdefault(k, len(slot_of)) for k in map(_SLOT_KEY, claims)]
        slot_keys: list[StateKey] = list(slot_of)
        years = [year for _, year in slot_keys]
        balances = list(map(_BALANCE, claims))
        acct_used = list(map(_ACCT_USED, claims))
        self.policies = policies
        self.profiles = profiles
        self.slot_keys = slot_keys
        self.prof = np.array(prof_idx, dtype=np.int64)
        self.slot = np.array(slot_idx, dtype=np.int64)
        self.year = np.array(years, dtype=np.int64)[self.slot] if n else np.zeros(0, dtype=np.int64)
        self.acct_used = np.array(acct_used, dtype=bool)
        self.balance, balance_bad = _int64_bounded(balances, 1 << 62)
        # the five line totals, summed with NumPy over the flattened lines
        lines = [c.lines for c in claims]
        counts = np.fromiter(map(len, lines), dtype=np.int64, count=n)
        n_lines = int(counts.sum())
        totals = np.zeros((n, 5), dtype=np.int64)
        big = np.zeros(n, dtype=bool)
        try:
            figures = np.fromiter(chain.from_iterable(map(_LINE_FIGURES, chain.from_iterable(lines))),
                                  dtype=np.int64, count=5 * n_lines).reshape(n_lines, 5)
        except OverflowError:  # a line figure beyond int64: every claim goes through settle()
            big[:] = True
        else:
            nonempty = counts > 0
            if n_lines:
                starts = (np.cumsum(counts) - counts)[nonempty]
                totals[nonempty] = np.add.reduceat(figures, starts, axis=0)
                # each line within the bounds, so that no sum can wrap around
                if figures.max() >= MONEY_LIMIT or figures.min() <= -MONEY_LIMIT:
                    big[nonempty] = np.maximum.reduceat(np.abs(figures).max(axis=1), starts) >= MONEY_LIMIT
        self.totals = totals
        self.bounds_bad = balance_bad | big | (np.abs(totals) >= MONEY_LIMIT).any(axis=1)
        # 公务员 layers on nego_drug lines need the claim's Σ policy-scope of those lines
        self.nego = np.zeros(n, dtype=np.int64)
        needs_nego = [j for j, prof in enumerate(profiles) if CIVIL in prof.layers and not prof.civil_all_lines]
        if needs_nego:
            for i in np.flatnonzero(np.isin(self.prof, needs_nego)).tolist():
                v = sum(line.inscp for line in claims[i].lines if line.nego_drug)
                if abs(v) >= MONEY_LIMIT:
                    self.bounds_bad[i] = True
                else:
                    self.nego[i] = v
        # initial states
        self.n_slots = len(slot_keys)
        self.pystate: dict[int, YearState] = {}
        self.loaded: list[tuple[int, YearState]] = []
        for s, sk in enumerate(slot_keys):
            st = self.initial.get(sk)
            if st is not None:
                for fpt in st.layers:
                    self._key(fpt)
                self.loaded.append((s, st))
        # policy ids per claim (content index → id)
        self.policy_ids = sorted({prof.policy_id for prof in profiles})
        pid_index = {pid: j for j, pid in enumerate(self.policy_ids)}
        self.prof_policy = np.array([pid_index[prof.policy_id] for prof in profiles] or [0], dtype=np.int64)
        self.prof_in_region = np.array([prof.in_region for prof in profiles] or [True], dtype=bool)

    # -- arrays -------------------------------------------------------------------------------

    def _allocate(self) -> None:
        n, nk = self.n, len(self.keys)
        self.dummy = nk
        self.pm, self.n_bands = profile_matrix(self.profiles, self.key_index, self.dummy)
        # the state of every (psn_no, year): a row per fund_pay_type, plus an all-zero dummy row
        self.adm = np.zeros(self.n_slots, dtype=np.int64)
        self.sbase = np.zeros((nk + 1, self.n_slots), dtype=np.int64)
        self.spaid = np.zeros((nk + 1, self.n_slots), dtype=np.int64)
        self.sexists = np.zeros((nk + 1, self.n_slots), dtype=bool)
        self.pymode = np.zeros(self.n_slots, dtype=bool)
        for s, st in self.loaded:
            self._writeback(s, st.copy())
        out = {}
        for f in SCALAR_FIELDS:
            out[f] = np.zeros(n, dtype=np.int64)
        out["pool_prop_den"][:] = 1
        for f in ROW_FIELDS:
            out[f] = np.zeros((n, 5), dtype=np.int64)
        out["row_base_den"][:] = 1
        out["row_present"] = np.zeros((n, 5), dtype=bool)
        out["row_counted"] = np.zeros((n, 5), dtype=bool)
        out["row_capped"] = np.zeros((n, 5), dtype=bool)
        out["row_fpt"] = np.zeros((n, 5), dtype=np.int32)
        for k, f in enumerate(TOTAL_FIELDS):
            out[f][:] = self.totals[:, k]
        self.out = out
        self.ok = np.ones(n, dtype=bool)
        self.fallback = np.zeros(n, dtype=bool)

    def _materialise(self, s: int) -> YearState:
        if self.pymode[s]:
            return self.pystate[s]
        layers = {}
        for k in np.flatnonzero(self.sexists[:, s]).tolist():
            layers[self.keys[k]] = LayerAccum(int(self.sbase[k, s]), int(self.spaid[k, s]))
        return YearState(int(self.adm[s]), layers)

    def _writeback(self, s: int, st: YearState) -> None:
        """Put a slot's exact state into the arrays when it is all whole fen within bounds;
        otherwise keep it as a Python object (later claims of the slot use settle())."""
        exact = abs(st.admissions) < STATE_LIMIT
        for acc in st.layers.values():
            base = acc.base
            if isinstance(base, Fraction):
                if base.denominator != 1:
                    exact = False
                    break
                base = base.numerator
            if abs(base) >= STATE_LIMIT or abs(acc.paid) >= STATE_LIMIT:
                exact = False
                break
        if not exact:
            self.pymode[s] = True
            self.pystate[s] = st
            return
        self.pymode[s] = False
        self.pystate.pop(s, None)
        self.adm[s] = st.admissions
        self.sbase[:, s] = 0
        self.spaid[:, s] = 0
        self.sexists[:, s] = False
        for fpt, acc in st.layers.items():
            k = self._key_known(fpt)
            if k is None:  # a key no profile of this batch knows: keep the object
                self.pymode[s] = True
                self.pystate[s] = st
                return
            self.sbase[k, s] = int(acc.base)
            self.spaid[k, s] = acc.paid
            self.sexists[k, s] = True

    def _key_known(self, fpt: str) -> int | None:
        k = self.key_index.get(fpt)
        return k if k is not None and k < self.dummy else None

    # -- the rounds ----------------------------------------------------------------------------

    def run(self) -> None:
        if self.n == 0:
            self.rounds = 0
            return
        order = np.argsort(self.slot, kind="stable")
        sorted_slots = self.slot[order]
        first = np.searchsorted(sorted_slots, sorted_slots, side="left")
        rank = np.empty(self.n, dtype=np.int64)
        rank[order] = np.arange(self.n) - first
        by_rank = np.argsort(rank, kind="stable")
        bounds = np.searchsorted(rank[by_rank], np.arange(int(rank.max()) + 2))
        self.rounds = len(bounds) - 1
        not_vector = self.pm[self.prof, Col.VECTOR] == 0
        negative = self.totals[:, 0] < 0
        static_fb = not_vector | self.bounds_bad | negative
        self._count(REASON_PROFILE, int(not_vector.sum()))
        self._count(REASON_BOUNDS, int((self.bounds_bad & ~not_vector).sum()))
        self._count(REASON_NEGATIVE, int((negative & ~not_vector & ~self.bounds_bad).sum()))
        for r in range(self.rounds):
            idx = by_rank[bounds[r]:bounds[r + 1]]
            if len(idx) < self.min_round:
                self._count(REASON_SMALL_ROUND, int((~static_fb[idx]).sum()))
                self._fallback(idx)
                continue
            self._round(idx, static_fb[idx])

    def _count(self, reason: str, k: int) -> None:
        if k:
            self.reasons[reason] = self.reasons.get(reason, 0) + k

    def _round(self, idx: np.ndarray, fb: np.ndarray) -> None:
        s = self.slot[idx]
        fb = fb.copy()
        py = self.pymode[s] & ~fb
        self._count(REASON_EXACT_STATE, int(py.sum()))
        fb |= py
        g = self.pm[self.prof[idx]]
        m = len(idx)
        tot = self.totals[idx]
        medfee, inscp = tot[:, 0], tot[:, 4]
        covered = g[:, Col.COVERED] != 0
        zero = np.zeros(m, dtype=np.int64)

        # basic (统筹)
        adm0 = self.adm[s]
        ded = np.where((g[:, Col.INPATIENT] != 0) & (adm0 >= 1), g[:, Col.DEDC_LATER], g[:, Col.DEDC_FIRST])
        dedc = np.where(covered & (inscp > 0), np.minimum(inscp, ded), 0)
        bkey = g[:, Col.BASIC_KEY]
        bcapped = covered & (g[:, Col.BASIC_CAPPED] != 0)
        cap_rem = np.where(bcapped, np.maximum(g[:, Col.BASIC_CAP] - self.spaid[bkey, s], 0), 0)
        has_ratio = covered & (g[:, Col.HAS_RATIO] != 0)
        rn = np.where(has_ratio, g[:, Col.RATIO], 0)
        excess = inscp - dedc
        due = np.where(excess > 0, _rhu(excess * rn), 0)
        hifp = np.where(has_ratio, np.where(bcapped, np.minimum(due, cap_rem), due), 0)
        cut = has_ratio & bcapped & ((due > cap_rem) | (cap_rem == 0))

        rows_present = np.zeros((m, 5), dtype=bool)
        rows_counted = np.zeros((m, 5), dtype=bool)
        rows_key = np.full((m, 5), self.dummy, dtype=np.int64)
        rows_base = np.zeros((m, 5), dtype=np.int64)
        rows_capped = np.zeros((m, 5), dtype=bool)
        rows_cap = np.zeros((m, 5), dtype=np.int64)
        rows_pay = np.zeros((m, 5), dtype=np.int64)
        rows_present[:, BASIC] = True
        rows_counted[:, BASIC] = covered
        rows_key[:, BASIC] = bkey
        rows_base[:, BASIC] = inscp
        rows_capped[:, BASIC] = bcapped
        rows_cap[:, BASIC] = cap_rem
        rows_pay[:, BASIC] = hifp
        pays = {BASIC: hifp}

        def cumulative(kind: int, base: np.ndarray) -> np.ndarray:
            present_c, key_c, ded_c, capped_c, cap_c, band0 = layer_cols(_CUM_SLOT[kind], self.n_bands)
            present = covered & (g[:, present_c] != 0)
            key = g[:, key_c]
            bands = g[:, band0:band0 + 3 * self.n_bands].reshape(m, self.n_bands, 3)
            x0 = self.sbase[key, s]
            paid0 = self.spaid[key, s]
            layer_ded = g[:, ded_c]
            step = _rhu(_payout(x0 + base, layer_ded, bands)) - _rhu(_payout(x0, layer_ded, bands))
            step = np.maximum(step, 0)
            capped = present & (g[:, capped_c] != 0)
            remaining = np.where(capped, np.maximum(g[:, cap_c] - paid0, 0), 0)
            pay = np.where(present, np.where(capped, np.minimum(step, remaining), step), 0)
            rows_present[:, kind] = present
            rows_counted[:, kind] = present
            rows_key[:, kind] = key
            rows_base[:, kind] = np.where(present, base, 0)
            rows_capped[:, kind] = capped
            rows_cap[:, kind] = remaining
            rows_pay[:, kind] = pay
            pays[kind] = pay
            return pay

        # 大病 (residents): base = personal burden in scope after basic
        hifmi = cumulative(CRITICAL, inscp - hifp)

        # 大额 (employees): the part spent after the basic cap was reached
        safe_rn = np.where(rn > 0, rn, 1)
        owed = cap_rem * DEN  # remaining ÷ ratio = remaining × DEN ÷ rn
        la_base = np.where(cut & (excess > 0), np.where(cap_rem == 0, excess, excess - owed // safe_rn), 0)
        la_fraction = cut & (excess > 0) & (cap_rem > 0) & (owed % safe_rn != 0)
        la_present = covered & (g[:, layer_cols(_CUM_SLOT[LARGE], self.n_bands)[0]] != 0)
        frac = la_present & la_fraction & ~fb
        self._count(REASON_LARGE, int(frac.sum()))
        fb |= frac
        hifob = cumulative(LARGE, la_base)

        # 公务员: the named lines' policy scope after the earlier layers, shared pro rata
        cs_present = covered & (g[:, layer_cols(_CUM_SLOT[CIVIL], self.n_bands)[0]] != 0)
        cs_base = zero.copy()
        if cs_present.any():
            earlier = hifp + hifmi + hifob
            named = np.where(g[:, Col.CIVIL_ALL] != 0, inscp, self.nego[idx])
            for j in np.flatnonzero(cs_present & ~fb).tolist():
                total, n_j, e_j = int(inscp[j]), int(named[j]), int(earlier[j])
                if total <= 0 or n_j <= 0:
                    continue
                num = n_j * (total - e_j)
                if num % total or abs(num // total) >= MONEY_LIMIT:
                    fb[j] = True
                    self._count(REASON_CIVIL, 1)
                else:
                    cs_base[j] = num // total
        cvl = cumulative(CIVIL, cs_base)

        # 医疗救助: personal burden in scope after every earlier layer
        maf = cumulative(ASSIST, inscp - (hifp + hifmi + hifob + cvl))
        excluded = covered & (g[:, Col.ASSIST_EXCLUDED] != 0)
        rows_present[:, ASSIST] |= excluded
        rows_key[:, ASSIST] = np.where(excluded, g[:, Col.ASSIST_EXCLUDED_KEY], rows_key[:, ASSIST])

        # totals and the personal account
        fund = hifp + hifmi + hifob + cvl + maf
        psn_part = medfee - fund
        employee = g[:, Col.EMPLOYEE] != 0
        balance = np.where(employee, self.balance[idx], 0)
        acct = np.where(self.acct_used[idx] & employee, np.maximum(np.minimum(balance, psn_part), 0), 0)
        gcd = np.gcd(rn, DEN)

        # commit the vectorised claims
        ok = ~fb
        io = idx[ok]
        so = s[ok]
        out = self.out
        out["act_pay_dedc"][io] = dedc[ok]
        out["pool_prop_num"][io] = (rn // gcd)[ok]
        out["pool_prop_den"][io] = (DEN // gcd)[ok]
        for f, v in zip(PAY_FIELDS, (hifp, hifmi, hifob, cvl, maf)):
            out[f][io] = v[ok]
        out["fund_pay_sumamt"][io] = fund[ok]
        out["psn_part_amt"][io] = psn_part[ok]
        out["acct_pay"][io] = acct[ok]
        out["psn_cash_pay"][io] = (psn_part - acct)[ok]
        out["balc"][io] = (balance - acct)[ok]
        admitted = covered & (g[:, Col.INPATIENT] != 0)
        out["delta_admissions"][io] = admitted[ok]
        out["row_present"][io] = rows_present[ok]
        out["row_counted"][io] = rows_counted[ok]
        out["row_fpt"][io] = np.where(rows_present, rows_key, 0)[ok]
        out["row_base_num"][io] = rows_base[ok]
        out["row_capped"][io] = rows_capped[ok]
        out["row_cap_remaining"][io] = rows_cap[ok]
        out["row_payamt"][io] = rows_pay[ok]

        self.adm[so] += admitted[ok]
        for k in range(5):
            c = rows_counted[:, k] & ok
            if c.any():
                kk, ss = rows_key[c, k], s[c]
                self.sbase[kk, ss] += rows_base[c, k]
                self.spaid[kk, ss] += rows_pay[c, k]
                self.sexists[kk, ss] = True
        over = ((np.abs(self.sbase[:, so]) >= STATE_LIMIT) | (np.abs(self.spaid[:, so]) >= STATE_LIMIT)).any(axis=0)
        for s_over in so[over].tolist():
            self.pymode[s_over] = True
            self.pystate[s_over] = self._materialise_arrays(s_over)
        self._fallback(idx[fb])

    def _materialise_arrays(self, s: int) -> YearState:
        self.pymode[s] = False
        st = self._materialise(s)
        self.pymode[s] = True
        return st

    # -- the single-claim path ----------------------------------------------------------------

    def _fallback(self, idx: np.ndarray) -> None:
        out = self.out
        for i in idx.tolist():
            self.fallback[i] = True
            s = int(self.slot[i])
            state = self._materialise(s)
            try:
                r = settle(self.claims[i], self.policies[i], state)
            except SettlementError as exc:
                self.ok[i] = False
                self.errors[i] = str(exc)
                continue
            r.delta.apply(state)
            self._writeback(s, state)
            t = r.totals
            for f, v in zip(TOTAL_FIELDS, (t.medfee_sumamt, t.fulamt_ownpay_amt, t.overlmt_selfpay, t.preselfpay_amt, t.inscp_scp_amt)):
                self._put(f, i, v)
            self._put("act_pay_dedc", i, r.act_pay_dedc)
            self._put("pool_prop_num", i, r.pool_prop.numerator)
            self._put("pool_prop_den", i, r.pool_prop.denominator)
            for f in PAY_FIELDS:
                self._put(f, i, r.pays[f])
            for f in ("fund_pay_sumamt", "psn_part_amt", "acct_pay", "psn_cash_pay", "balc"):
                self._put(f, i, getattr(r, f))
            self._put("delta_admissions", i, r.delta.admissions)
            for row in r.rows:
                k = KINDS.index(row.kind)
                out["row_present"][i, k] = True
                out["row_counted"][i, k] = row.counted
                out["row_fpt"][i, k] = self._key(row.fund_pay_type)
                base = Fraction(row.base)
                self._put("row_base_num", (i, k), base.numerator)
                self._put("row_base_den", (i, k), base.denominator)
                out["row_capped"][i, k] = row.cap_remaining is not None
                self._put("row_cap_remaining", (i, k), row.cap_remaining or 0)
                self._put("row_payamt", (i, k), row.payamt)

    def _put(self, name: str, where, value: int) -> None:
        arr = self.out[name]
        try:
            arr[where] = value
        except OverflowError:
            arr = self.out[name] = arr.astype(object)
            arr[where] = value

    # -- the answer ----------------------------------------------------------------------------

    def result(self) -> BatchResult:
        states = dict(self.initial)
        adm = self.adm.tolist()
        per_slot_layers: list[dict] = [{} for _ in range(self.n_slots)]
        for k, fpt in enumerate(self.keys):
            where = np.flatnonzero(self.sexists[k])
            if len(where) == 0:
                continue
            bases = self.sbase[k, where].tolist()
            paids = self.spaid[k, where].tolist()
            for s, b, p in zip(where.tolist(), bases, paids):
                per_slot_layers[s][fpt] = LayerAccum(b, p)
        for s, sk in enumerate(self.slot_keys):
            if self.pymode[s]:
                states[sk] = self.pystate[s]
            else:
                states[sk] = YearState(adm[s], per_slot_layers[s])
        out = self.out
        category = [self.profiles[p].category for p in self.prof.tolist()]
        for i in self.errors:
            category[i] = None
        return BatchResult(
            n=self.n,
            fund_pay_types=list(self.keys),
            ok=self.ok,
            fallback=self.fallback,
            errors=self.errors,
            year=self.year,
            in_region=self.prof_in_region[self.prof] if self.n else np.zeros(0, dtype=bool),
            policy_index=self.prof_policy[self.prof] if self.n else np.zeros(0, dtype=np.int64),
            policy_ids=self.policy_ids,
            category=category,
            states=states,
            rounds=self.rounds,
            fallback_reasons=dict(self.reasons),
            _claims=self.claims,
            _policies=self.policies,
            _initial=self.initial,
            **out,
        )


def _int64_bounded(values: list, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """values as int64, and a mask of those at or beyond ±limit (stored as 0)."""
    try:
        arr = np.array(values, dtype=np.int64)
        return arr, np.abs(arr) >= limit
    except (OverflowError, TypeError):
        bad = np.array([not isinstance(v, int) or abs(v) >= limit for v in values], dtype=bool)
        arr = np.array([0 if b else v for v, b in zip(values, bad)], dtype=np.int64)
        return arr, bad


def settle_batch(
    claims: Sequence[Claim],
    policy_for: PolicyFor,
    states: dict[StateKey, YearState] | None = None,
    *,
    min_round: int = 16,
) -> BatchResult:
    """Settle ``claims`` in order as ``settle_each`` would, vectorised; see the module text.

    ``policy_for`` is a function of the claim or a sequence parallel to ``claims``.
    ``states`` maps (psn_no, year) to the person's accumulators before the batch; it is not
    modified. Rounds with fewer than ``min_round`` claims go through ``settle``."""
    batch = _Batch(claims, policy_for, states or {}, min_round)
    batch.run()
    return batch.result()
