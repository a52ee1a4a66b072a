"""The sale's own story, from the business outcomes a locustfile tallied.

run.json's ``outcomes`` section holds named tallies (see
:mod:`dhakacart_bench.measure.outcomes`). Any names are listed as they are; the names of
the flash-sale vocabulary (below, used by ``locustfiles/shoppers.py``) are also read as
the sale: claims attempted, won, answered "sold out", refused by the per-user limit,
the time from the deal's opening to its sell-out, and the orders and units placed. When
the bundled store ran, its own count (from the invariants check) stands beside the
shoppers' count, so the two can be compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dhakacart_bench.runfolder.meta import OutcomesMeta
    from dhakacart_bench.runfolder.reader import Run


DEAL_ATTEMPTED = "deal:attempted"
DEAL_CLAIMED = "deal:claimed"
DEAL_SOLD_OUT = "deal:sold_out"
DEAL_LIMIT = "deal:limit_reached"
DEAL_NOT_ACTIVE = "deal:not_active"
CHECKOUT_PLACED = "checkout:placed"
CHECKOUT_OUT_OF_STOCK = "checkout:out_of_stock"
#: Outcomes that are orders: their ``units`` are the items sold.
ORDER_OUTCOMES = (DEAL_CLAIMED, CHECKOUT_PLACED)
DEAL_ANSWERS = (DEAL_CLAIMED, DEAL_SOLD_OUT, DEAL_LIMIT, DEAL_NOT_ACTIVE)


@dataclass(frozen=True)
class SaleStory:
    """The flash sale as the shoppers saw it (None: not measured)."""

    attempted: int
    won: int
    units_won: int
    sold_out: int
    limit_reached: int
    not_active: int
    #: attempts with none of the expected answers (failed requests, wrong bodies)
    unanswered: int
    stock: int | None
    opens_at_s: float | None
    #: the last unit won, in seconds since the run started (None: never sold out)
    sold_out_at_s: float | None
    first_sold_out_answer_s: float | None
    orders: int
    units: int
    checkouts_out_of_stock: int
    #: the bundled store's own count of deal units claimed and orders (None: external)
    store_units_claimed: int | None = None
    store_orders: int | None = None

    @property
    def sold_out_after_s(self) -> float | None:
        """Seconds from the deal's opening to its last unit won."""
        if self.sold_out_at_s is None or self.opens_at_s is None:
            return None
        return max(0.0, self.sold_out_at_s - self.opens_at_s)

    def lines(self) -> list[str]:
        """The story in plain sentences."""
        out = []
        if self.attempted:
            parts = [
                f"{self.won:,} won ({_units(self.units_won)})",
                f"{self.sold_out:,} answered sold out",
                f"{self.limit_reached:,} refused by the per-shopper limit",
            ]
            if self.not_active:
                parts.append(f"{self.not_active:,} before the deal was open")
            if self.unanswered:
                parts.append(f"{self.unanswered:,} without a business answer (failed)")
            out.append(f"{self.attempted:,} deal claims: " + ", ".join(parts) + ".")
        if self.sold_out_at_s is not None:
            after = self.sold_out_after_s
            when = (
                f"{after:.1f} s after the opening at {self.opens_at_s:g} s"
                if after is not None
                else f"at {self.sold_out_at_s:.1f} s"
            )
            stock = f" ({self.stock:,} units)" if self.stock is not None else ""
            out.append(f"The deal sold out{stock} {when}: the last unit was won then.")
        elif self.attempted and self.won:
            stock = f" of {self.stock:,}" if self.stock is not None else ""
            out.append(f"The deal did not sell out: {self.units_won:,}{stock} units were won.")
        if self.orders:
            out.append(f"{self.orders:,} orders placed, {_units(self.units)} in all.")
        if self.checkouts_out_of_stock:
            out.append(
                f"{self.checkouts_out_of_stock:,} checkouts were refused for lack of stock"
                " (the store refusing to oversell)."
            )
        if self.store_units_claimed is not None and self.attempted:
            agree = "agrees" if self.store_units_claimed == self.units_won else "DISAGREES"
            out.append(
                f"The store counted {self.store_units_claimed:,} deal units claimed — {agree}"
                f" with the {self.units_won:,} the shoppers were told they won."
            )
        if self.store_orders is not None and self.orders:
            agree = "agrees" if self.store_orders == self.orders else "DISAGREES"
            out.append(
                f"The store counted {self.store_orders:,} orders — {agree} with the"
                f" {self.orders:,} the shoppers placed."
            )
        return out


def sale_story(run: Run) -> SaleStory | None:
    """The sale of ``run`` from its outcomes; None when it tallied no sale outcome."""
    outcomes = run.meta.outcomes
    if outcomes is None or not any(outcomes.get(n) for n in (*DEAL_ANSWERS, *ORDER_OUTCOMES)):
        return None
    return _story(outcomes, run)


def _story(outcomes: OutcomesMeta, run: Run) -> SaleStory:
    count = outcomes.count
    answered = sum(count(n) for n in DEAL_ANSWERS)
    attempted = max(count(DEAL_ATTEMPTED), answered)
    won = outcomes.get(DEAL_CLAIMED)
    first_no = outcomes.get(DEAL_SOLD_OUT)
    bundled = run.meta.target == "bundled"
    store = run.scenario.store
    stats = run.meta.invariants.stats if run.meta.invariants else {}
    remaining = stats.get("deal_units_remaining")
    sold_out = first_no is not None or (bundled and remaining == 0 and won is not None)
    return SaleStory(
        attempted=attempted,
        won=won.count if won else 0,
        units_won=won.units if won else 0,
        sold_out=count(DEAL_SOLD_OUT),
        limit_reached=count(DEAL_LIMIT),
        not_active=count(DEAL_NOT_ACTIVE),
        unanswered=attempted - answered,
        stock=store.deal_stock if bundled else None,
        opens_at_s=store.deal_opens_at_s if bundled else None,
        sold_out_at_s=won.last_s if (sold_out and won is not None) else None,
        first_sold_out_answer_s=first_no.first_s if first_no else None,
        orders=sum(count(n) for n in ORDER_OUTCOMES),
        units=sum(t.units for t in outcomes.tallies if t.name in ORDER_OUTCOMES),
        checkouts_out_of_stock=count(CHECKOUT_OUT_OF_STOCK),
        store_units_claimed=_int(stats.get("deal_units_claimed")) if bundled else None,
        store_orders=_int(stats.get("orders")) if bundled else None,
    )


def _units(count: int) -> str:
    """``1 unit``, ``1,562 units``."""
    return f"{count:,} unit" + ("" if count == 1 else "s")


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
