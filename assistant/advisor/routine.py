"""Build a morning and evening skincare routine from the catalogue, as an expert would.

One product per step (AM: cleanse → treat → moisturise → protect; PM: cleanse → treat →
moisturise), chosen for the shopper's skin type and concerns, in stock, at its time of day, and
never against the ingredient rules (:mod:`assistant.advisor.ingredient_rules`) or a product's own
contraindications. Within a budget the distinct products are what is paid for, so a cleanser
used morning and night counts once. Products left out by a rule are named with the rule's reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from assistant.advisor.answers import Advisor
from assistant.advisor.consultation import SkinProfile
from assistant.advisor.ingredient_rules import IngredientMatch, IngredientRules, RuleHit
from assistant.advisor.products import field as rfield
from assistant.advisor.products import joined, product_name
from assistant.advisor.routine_texts import routine_text
from assistant.language import Language
from assistant.texts import text
from assistant.vocabulary import CONTRAINDICATION_BY_VALUE, display

TIMES: tuple[str, ...] = ("am", "pm")
STEPS: dict[str, tuple[str, ...]] = {
    "am": ("cleanse", "treat", "moisturize", "protect"),
    "pm": ("cleanse", "treat", "moisturize"),
}
# Daily face products only: masks, eye and body care are not a routine step here.
_STEP_CATEGORIES: dict[str, frozenset[str]] = {
    "cleanse": frozenset({"cleanser"}),
    "treat": frozenset({"serum", "toner"}),
    "moisturize": frozenset({"moisturizer"}),
    "protect": frozenset({"sunscreen"}),
}
# The treatment is chosen first: it answers the shopper's concern and carries the actives the
# conflict rules are about, so the simpler steps fit around it.
_FILL_ORDER = ("treat", "cleanse", "moisturize", "protect")
# What a tight budget gives up first: treatments, then moisturiser, cleanser, sunscreen last.
_DROP_ORDER: tuple[tuple[str, str], ...] = (
    ("pm", "treat"),
    ("am", "treat"),
    ("pm", "moisturize"),
    ("am", "moisturize"),
    ("pm", "cleanse"),
    ("am", "cleanse"),
    ("am", "protect"),
)
# What a step is worth in a routine on a budget; the drop order above follows it.
_STEP_WEIGHT = {"protect": 4.0, "cleanse": 3.0, "moisturize": 2.0, "treat": 1.0}
# Using the morning's cleanser or moisturiser at night too is simpler and cheaper; worth as much
# as one more matched skin type. Treatments are not shared on purpose: night is for actives.
_REUSE_BONUS = 1.0

# What a skin type usually needs even when the shopper did not name it: a small tie-breaker.
_SKIN_NEEDS: dict[str, set[str]] = {
    "oily": {"oiliness", "pores"},
    "combination": {"oiliness", "dryness"},
    "dry": {"dryness", "barrier"},
    "sensitive": {"redness", "barrier"},
    "normal": {"dryness"},
}
# Left-out products named in a reply; more would bury the routine.
_NAMED_EXCLUSIONS = 6

Slot = tuple[str, str]  # (time of day, step)


@dataclass(frozen=True)
class RoutineRequest:
    """What a routine is built for; kept in the ``routine`` slot so follow-ups can refine it."""

    profile: SkinProfile
    budget: float | None = None
    # A budget the shopper named may cost steps; "cheaper" (not strict) only swaps products.
    strict_budget: bool = True
    fragrance_free: bool = False
    alcohol_free: bool = False
    times: tuple[str, ...] = TIMES

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile.as_dict(),
            "budget": self.budget,
            "strict_budget": self.strict_budget,
            "fragrance_free": self.fragrance_free,
            "alcohol_free": self.alcohol_free,
            "times": list(self.times),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RoutineRequest:
        times = tuple(t for t in TIMES if t in (data.get("times") or TIMES)) or TIMES
        budget = data.get("budget")
        return cls(
            profile=SkinProfile.from_dict(data.get("profile") or {}),
            budget=float(budget) if isinstance(budget, (int, float)) and budget > 0 else None,
            strict_budget=bool(data.get("strict_budget", True)),
            fragrance_free=bool(data.get("fragrance_free")),
            alcohol_free=bool(data.get("alcohol_free")),
            times=times,
        )


@dataclass(frozen=True)
class Exclusion:
    """A product that would have fitted, and the rules that keep it out."""

    product: Any
    hits: tuple[RuleHit, ...]


@dataclass(frozen=True)
class Conflict:
    """A product kept out of one time of day because of another product already in it."""

    time: str
    product: Any
    other: Any
    hit: RuleHit


@dataclass
class Routine:
    """The chosen products per (time, step), and everything the shopper should be told."""

    request: RoutineRequest
    slots: dict[Slot, Any] = field(default_factory=dict)
    excluded: list[Exclusion] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    missing: list[Slot] = field(default_factory=list)
    dropped: list[Slot] = field(default_factory=list)
    swapped: list[tuple[Slot, Any, Any]] = field(default_factory=list)  # (slot, ideal, chosen)
    # The cheapest complete routine found, when a budget made steps go.
    full_cost: float | None = None
    # The cheapest eligible product, when the budget covers nothing.
    cheapest: float | None = None

    @property
    def products(self) -> list[Any]:
        """Distinct products in routine order (morning first)."""
        seen: dict[str, Any] = {}
        for time in TIMES:
            for step in STEPS[time]:
                product = self.slots.get((time, step))
                if product is not None:
                    seen.setdefault(_id(product), product)
        return list(seen.values())

    @property
    def product_ids(self) -> list[str]:
        return [_id(p) for p in self.products]

    @property
    def total(self) -> float:
        return _cost(self.slots)

    def chosen_ids(self) -> dict[str, dict[str, str]]:
        """``{"am": {"cleanse": id, ...}, "pm": {...}}``."""
        return {
            time: {
                step: _id(self.slots[(time, step)])
                for step in STEPS[time]
                if (time, step) in self.slots
            }
            for time in self.request.times
        }

    def slot_value(self) -> dict[str, Any]:
        """What the ``routine`` slot keeps: the request and what was chosen."""
        return {
            **self.request.as_dict(),
            "chosen": self.chosen_ids(),
            "product_ids": self.product_ids,
            "total": self.total,
        }

    # -- what the shopper reads -------------------------------------------------------------

    def render(self, language: Language) -> str:
        """The routine with a reason per product, the budget and what was left out."""
        profile = self.request.profile
        if not self.slots:
            if self.cheapest is not None and self.request.budget is not None:
                return routine_text(
                    "budget_too_low", language, budget=self.request.budget, cheapest=self.cheapest
                )
            return text("nothing_matches", language)
        lines = [routine_text("intro", language, profile=profile.describe(language))]
        for time in self.request.times:
            if not any(t == time for t, _ in self.slots):
                continue
            lines.append(routine_text(f"time.{time}", language))
            n = 0
            for step in STEPS[time]:
                product = self.slots.get((time, step))
                if product is None:
                    continue
                n += 1
                label = routine_text(f"step.{step}", language)
                name = product_name(product, language)
                if time == "pm" and "am" in self.request.times and self._in_morning(product):
                    lines.append(routine_text("item_again", language, n=n, step=label, name=name))
                    continue
                lines.append(
                    routine_text(
                        "item",
                        language,
                        n=n,
                        step=label,
                        name=name,
                        price=float(rfield(product, "price", 0) or 0),
                        reason=self._reason(product, language),
                    )
                )
            missing = [routine_text(f"step.{s}", language) for t, s in self.missing if t == time]
            if missing:
                lines.append(
                    routine_text("step_missing", language, steps=joined(missing, language))
                )
        lines.append(self._total_line(language))
        lines += self._budget_lines(language)
        lines += self._exclusion_lines(language)
        lines += [
            routine_text(
                "conflict",
                language,
                time=routine_text(f"time_name.{c.time}", language),
                name=product_name(c.product, language),
                other=product_name(c.other, language),
                reason=c.hit.reason(language),
            )
            for c in self.conflicts
        ]
        return "\n".join(lines)

    def _in_morning(self, product: Any) -> bool:
        return any(self.slots.get(("am", s)) is product for s in STEPS["am"])

    def _reason(self, product: Any, language: Language) -> str:
        profile = self.request.profile
        reason = Advisor.reason(
            product, language, [profile.skin_type], list(profile.specific_concerns)
        )
        careful = profile.sensitive or profile.skin_type == "sensitive"
        extras = [
            routine_text(flag, language)
            for flag, wanted in (
                ("fragrance_free", careful or self.request.fragrance_free),
                ("alcohol_free", careful or self.request.alcohol_free),
            )
            if wanted and rfield(product, flag) is True
        ]
        if extras:
            reason += ("," if language == "zh" else "; ") + joined(extras, language)
        return reason

    def _total_line(self, language: Language) -> str:
        line = routine_text("total", language, total=self.total, count=len(self.products))
        budget = self.request.budget
        if budget is not None and self.request.strict_budget and self.total <= budget:
            line += ("" if language == "zh" else " ") + routine_text(
                "within_budget", language, budget=budget
            )
        return line

    def _budget_lines(self, language: Language) -> list[str]:
        lines = []
        if self.dropped and self.request.budget is not None:
            lines.append(
                routine_text(
                    "budget_dropped",
                    language,
                    budget=self.request.budget,
                    full=self.full_cost or self.total,
                    steps=_dropped_text(self.dropped, language),
                )
            )
        swaps = {
            _id(new): routine_text(
                "swap",
                language,
                new=product_name(new, language),
                old=product_name(old, language),
            )
            for _, old, new in self.swapped
        }
        if swaps and self.request.strict_budget:
            lines.append(
                routine_text(
                    "budget_swapped", language, swaps=joined(list(swaps.values()), language)
                )
            )
        return lines

    def _exclusion_lines(self, language: Language) -> list[str]:
        """Left-out products grouped by reason, each named with what it contains."""
        by_reason: dict[str, list[str]] = {}
        for exclusion in self.excluded[:_NAMED_EXCLUSIONS]:
            hit = exclusion.hits[0]
            name = product_name(exclusion.product, language)
            if hit.found:
                name = routine_text("contains", language, name=name, found=hit.found)
            by_reason.setdefault(hit.reason(language), []).append(name)
        lines = [
            routine_text("excluded", language, names=joined(names, language), reason=reason)
            for reason, names in by_reason.items()
        ]
        more = len(self.excluded) - _NAMED_EXCLUSIONS
        if more > 0:
            lines.append(routine_text("excluded_more", language, count=more))
        return lines


def _dropped_text(dropped: list[Slot], language: Language) -> str:
    """ "晚上的流程、早上的功效护理" / "the evening routine, the morning treat step"."""
    parts = []
    for time in TIMES:
        steps = [s for s in STEPS[time] if (time, s) in dropped]
        if not steps:
            continue
        when = routine_text(f"time_name.{time}", language)
        if len(steps) == len(STEPS[time]):
            parts.append(routine_text("whole_time", language, time=when))
            continue
        what = joined([routine_text(f"step.{s}", language) for s in steps], language)
        parts.append(routine_text("time_steps", language, time=when, steps=what.lower()))
    return joined(parts, language)


def _id(product: Any) -> str:
    return str(rfield(product, "id"))


def _price(product: Any) -> float:
    return float(rfield(product, "price", 0) or 0)


def _cost(slots: Mapping[Slot, Any]) -> float:
    """What the shopper pays: each distinct product once."""
    return sum(_price(p) for p in {_id(p): p for p in slots.values()}.values())


def _available(product: Any) -> bool:
    # A catalogue that does not track stock (None) sells what it lists.
    stock = rfield(product, "stock")
    return stock is None or int(stock) > 0


def _step_of(product: Any) -> str | None:
    """The routine step a daily face product serves (None: not a routine product)."""
    category = rfield(product, "category")
    step = rfield(product, "routine_step")
    for candidate, categories in _STEP_CATEGORIES.items():
        if category in categories and step in (None, "", candidate):
            return candidate
    return None


def _times_of(product: Any) -> tuple[str, ...]:
    return tuple(rfield(product, "time_of_day", []) or []) or TIMES


class RoutineBuilder:
    """Chooses a routine for one request from a catalogue under one version of the rules."""

    def __init__(self, products: Iterable[Any], rules: IngredientRules) -> None:
        self.products = [p for p in products if rfield(p, "kind", "product") == "product"]
        self.rules = rules
        self._contains: dict[str, dict[str, list[IngredientMatch]]] = {}

    def build(self, request: RoutineRequest) -> Routine:
        """The routine for ``request``; see the module docstring for the choices made."""
        routine = Routine(request)
        candidates, left_out = self._candidates(request)
        slots = self._pick(request, candidates, routine)
        ideal = dict(slots)
        if request.budget is not None and _cost(slots) > request.budget:
            slots = self._fit_budget(request, candidates, slots, routine)
            routine.swapped = [
                (slot, ideal[slot], product)
                for slot, product in slots.items()
                if slot in ideal and _id(product) != _id(ideal[slot])
            ]
            routine.dropped = [slot for slot in ideal if slot not in slots]
            if not slots:
                prices = [_price(p) for ranked in candidates.values() for _, p in ranked]
                routine.cheapest = min(prices) if prices else None
        routine.slots = slots
        # A clash is worth telling only while the product it clashed with is still there.
        routine.conflicts = [
            c
            for c in routine.conflicts
            if any(_id(p) == _id(c.other) for (t, _), p in slots.items() if t == c.time)
        ]
        routine.missing = [
            (time, step)
            for time in request.times
            for step in STEPS[time]
            if (time, step) not in ideal
        ]
        routine.excluded = self._worth_naming(left_out, candidates, slots)
        return routine

    # -- candidates ---------------------------------------------------------------------

    def contains(self, product: Any) -> dict[str, list[IngredientMatch]]:
        """The rules' ingredient groups in ``product`` (worked out once per product)."""
        key = _id(product)
        if key not in self._contains:
            self._contains[key] = self.rules.contains(product)
        return self._contains[key]

    def _score(self, product: Any, profile: SkinProfile) -> float | None:
        """How well ``product`` fits: 2 per concern it targets, 1 for the skin type, and small
        tie-breakers (what the skin type usually needs, no fragrance); None when it does not
        suit the skin type at all."""
        skin_types = rfield(product, "skin_types", []) or []
        if skin_types and profile.skin_type not in skin_types:
            return None
        concerns = set(rfield(product, "concerns", []) or [])
        score = 2.0 * len(set(profile.specific_concerns) & concerns)
        score += 1.0 if skin_types else 0.0
        score += 0.5 * min(len(_SKIN_NEEDS.get(profile.skin_type, set()) & concerns), 1)
        score += 0.25 if rfield(product, "fragrance_free") is True else 0.0
        return score

    def _candidates(
        self, request: RoutineRequest
    ) -> tuple[
        dict[Slot, list[tuple[float, Any]]], list[tuple[float, str, Any, tuple[RuleHit, ...]]]
    ]:
        """Ranked products per slot, and the ones rules keep out (score, step, product, hits)."""
        profile = request.profile
        candidates: dict[Slot, list[tuple[float, Any]]] = {
            (t, s): [] for t in request.times for s in STEPS[t]
        }
        left_out = []
        for product in self.products:
            step = _step_of(product)
            score = self._score(product, profile)
            if step is None or score is None or not _available(product):
                continue
            targets = set(profile.specific_concerns) & set(rfield(product, "concerns", []) or [])
            if step == "treat" and profile.specific_concerns and not targets:
                continue  # a treatment that targets none of the shopper's concerns is an upsell
            hits = self._rule_hits(product, request)
            if hits:
                left_out.append((score, step, product, hits))
                continue
            for time in _times_of(product):
                if (time, step) in candidates:
                    candidates[(time, step)].append((score, product))
        for ranked in candidates.values():
            ranked.sort(key=lambda sp: (-sp[0], _price(sp[1]), _id(sp[1])))
        return candidates, left_out

    def _rule_hits(self, product: Any, request: RoutineRequest) -> tuple[RuleHit, ...]:
        """Why ``product`` must not be offered to this shopper (empty: it may)."""
        avoided = request.profile.avoided()
        # The ingredient rules first: their reasons are shared, so left-out products group.
        hits = self.rules.cautions_for(product, avoided, self.contains(product))
        own = avoided & set(rfield(product, "contraindications", []) or [])
        if own:
            condition = sorted(own)[0]
            hits.append(
                RuleHit(
                    f"contraindication:{condition}",
                    "",
                    str(rfield(product, "caution_zh", "") or "")
                    or routine_text(
                        "excluded_contraindication",
                        "zh",
                        condition=display(condition, "zh", CONTRAINDICATION_BY_VALUE),
                    ),
                    str(rfield(product, "caution_en", "") or "")
                    or routine_text(
                        "excluded_contraindication",
                        "en",
                        condition=display(condition, "en", CONTRAINDICATION_BY_VALUE),
                    ),
                )
            )
        for flag, wanted in (
            ("fragrance_free", request.fragrance_free),
            ("alcohol_free", request.alcohol_free),
        ):
            # The shopper asked for it: only a product that says so qualifies.
            if wanted and rfield(product, flag) is not True:
                key = f"excluded_not_{flag}"
                hits.append(
                    RuleHit(
                        f"preference:{flag}",
                        "",
                        routine_text(key, "zh"),
                        routine_text(key, "en"),
                    )
                )
        return tuple(hits)

    # -- choosing -----------------------------------------------------------------------

    def _clash(self, product: Any, others: Iterable[Any]) -> tuple[Any, RuleHit] | None:
        for other in others:
            if _id(other) == _id(product):
                continue
            found = self.rules.conflict(self.contains(product), self.contains(other))
            if found is not None:
                rule, mine, _ = found
                return other, RuleHit(rule.id, mine, rule.reason_zh, rule.reason_en)
        return None

    def _pick(
        self,
        request: RoutineRequest,
        candidates: Mapping[Slot, list[tuple[float, Any]]],
        routine: Routine,
    ) -> dict[Slot, Any]:
        """The best product per slot, sharing the morning's cleanser and moisturiser at night
        when they fit as well, and never two conflicting products at one time of day."""
        slots: dict[Slot, Any] = {}
        for time in request.times:
            for step in (s for s in _FILL_ORDER if s in STEPS[time]):
                shared = (
                    {_id(p) for (t, s), p in slots.items() if s == step and t != time}
                    if step != "treat"
                    else set()
                )
                ranked = sorted(
                    candidates[(time, step)],
                    key=lambda sp: (
                        -(sp[0] + (_REUSE_BONUS if _id(sp[1]) in shared else 0.0)),
                        _id(sp[1]) not in shared,
                        _price(sp[1]),
                        _id(sp[1]),
                    ),
                )
                same_time = [p for (t, _), p in slots.items() if t == time]
                for _, product in ranked:
                    clash = self._clash(product, same_time)
                    if clash is None:
                        slots[(time, step)] = product
                        break
                    if not any(_id(c.product) == _id(product) for c in routine.conflicts):
                        routine.conflicts.append(Conflict(time, product, clash[0], clash[1]))
        return dict(sorted(slots.items(), key=lambda kv: _slot_order(kv[0])))

    def _fit_budget(
        self,
        request: RoutineRequest,
        candidates: Mapping[Slot, list[tuple[float, Any]]],
        slots: dict[Slot, Any],
        routine: Routine,
    ) -> dict[Slot, Any]:
        """Swap to cheaper products where it costs the least fit; with a strict budget drop
        steps (treatments first) when swapping is not enough, then spend what is left."""
        assert request.budget is not None
        budget = request.budget
        slots = dict(slots)
        scores = {(slot, _id(p)): s for slot, ranked in candidates.items() for s, p in ranked}
        full_done = False
        while _cost(slots) > budget:
            move = self._cheapest_move(candidates, slots, scores)
            if move is not None:
                slots.update(move)
                continue
            if not full_done:
                routine.full_cost, full_done = _cost(slots), True
            if not request.strict_budget:
                break
            droppable = next((slot for slot in _DROP_ORDER if slot in slots), None)
            if droppable is None:
                break
            del slots[droppable]
        if request.strict_budget or _cost(slots) <= budget:
            slots = self._spend_rest(candidates, slots, scores, budget)
        return dict(sorted(slots.items(), key=lambda kv: _slot_order(kv[0])))

    def _moves(
        self, candidates: Mapping[Slot, list[tuple[float, Any]]], slots: Mapping[Slot, Any]
    ) -> Iterable[dict[Slot, Any]]:
        """Every one-product change: one slot, or one step at both times (the same product
        morning and night is paid for once, so sharing is a move of its own)."""
        for slot, ranked in candidates.items():
            for _, product in ranked:
                if slot not in slots or _id(slots[slot]) != _id(product):
                    yield {slot: product}
        for step in _FILL_ORDER:
            both = [slot for slot in candidates if slot[1] == step]
            if len(both) < 2:
                continue
            common = {_id(p): p for _, p in candidates[both[0]]}
            for slot in both[1:]:
                ids = {_id(p) for _, p in candidates[slot]}
                common = {k: p for k, p in common.items() if k in ids}
            for product in common.values():
                yield dict.fromkeys(both, product)

    def _allowed(self, slots: Mapping[Slot, Any], change: Mapping[Slot, Any]) -> bool:
        trial = {**slots, **change}
        return all(
            self._clash(
                product, [p for (t, s), p in trial.items() if t == slot[0] and (t, s) != slot]
            )
            is None
            for slot, product in change.items()
        )

    def _cheapest_move(
        self,
        candidates: Mapping[Slot, list[tuple[float, Any]]],
        slots: Mapping[Slot, Any],
        scores: Mapping[tuple[Slot, str], float],
    ) -> dict[Slot, Any] | None:
        """The change among filled slots that saves money for the least fit lost per yuan."""
        now, fit = _cost(slots), _fit(slots, scores)
        best, best_key = None, None
        for change in self._moves(candidates, slots):
            if not set(change) <= set(slots):
                continue
            trial = {**slots, **change}
            saved = now - _cost(trial)
            if saved <= 0 or not self._allowed(slots, change):
                continue
            key = ((max(fit - _fit(trial, scores), 0.0) + 0.01) / saved, -saved)
            if best_key is None or key < best_key:
                best, best_key = change, key
        return best

    def _spend_rest(
        self,
        candidates: Mapping[Slot, list[tuple[float, Any]]],
        slots: dict[Slot, Any],
        scores: Mapping[tuple[Slot, str], float],
        budget: float,
    ) -> dict[Slot, Any]:
        """Put back steps and upgrade products while the budget still allows it."""
        while True:
            fit = _fit(slots, scores)
            best, best_gain = None, 0.0
            for change in self._moves(candidates, slots):
                trial = {**slots, **change}
                gain = _fit(trial, scores) - fit
                if gain <= best_gain or _cost(trial) > budget:
                    continue
                if self._allowed(slots, change):
                    best, best_gain = change, gain
            if best is None:
                return slots
            slots.update(best)

    def _worth_naming(
        self,
        left_out: list[tuple[float, str, Any, tuple[RuleHit, ...]]],
        candidates: Mapping[Slot, list[tuple[float, Any]]],
        slots: Mapping[Slot, Any],
    ) -> list[Exclusion]:
        """Left-out products that would otherwise have fitted: at least as good a match as the
        product chosen for their step (or their step has none)."""
        named = []
        for score, step, product, hits in sorted(left_out, key=lambda x: (-x[0], _id(x[2]))):
            its_slots = [(t, step) for t in _times_of(product) if (t, step) in candidates]
            chosen = [self._chosen_score(candidates, slots, slot) for slot in its_slots]
            if any(c is None or score >= c for c in chosen):
                named.append(Exclusion(product, hits))
        return named

    @staticmethod
    def _chosen_score(
        candidates: Mapping[Slot, list[tuple[float, Any]]], slots: Mapping[Slot, Any], slot: Slot
    ) -> float | None:
        product = slots.get(slot)
        if product is None:
            return None
        return next((s for s, p in candidates[slot] if _id(p) == _id(product)), None)


def _fit(slots: Mapping[Slot, Any], scores: Mapping[tuple[Slot, str], float]) -> float:
    """How good a set of choices is: each product's fit plus what its step is worth."""
    return sum(scores[(slot, _id(p))] + _STEP_WEIGHT[slot[1]] for slot, p in slots.items())


def _slot_order(slot: Slot) -> tuple[int, int]:
    time, step = slot
    return TIMES.index(time), STEPS[time].index(step)


def build_routine(
    products: Iterable[Any], rules: IngredientRules, request: RoutineRequest
) -> Routine:
    """The routine for ``request`` from ``products`` under ``rules``."""
    return RoutineBuilder(products, rules).build(request)
