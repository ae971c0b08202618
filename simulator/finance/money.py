"""Money is integer cents; quantities are whole shares. Costs are computed in one place so the
planner and the exchange agree to the cent."""

from __future__ import annotations


def to_cents(amount: float) -> int:
    """Dollars to integer cents (round half to even)."""
    return int(round(amount * 100))


def notional_cents(price: float, qty: int) -> int:
    """The cash value of `qty` shares at `price`, in cents."""
    return int(round(price * abs(qty) * 100))


def fee_cents(notional: int, fee_rate: float, min_fee: int) -> int:
    """A proportional fee with a floor, in cents."""
    return max(min_fee, int(round(notional * fee_rate)))


def affordable_qty(cash: int, price: float, fee_rate: float, min_fee: int) -> int:
    """The most whole shares whose notional plus fee fits in `cash` cents at `price`."""
    if price <= 0 or cash <= min_fee:
        return 0
    qty = int(cash / (price * 100 * (1 + fee_rate)))
    while qty > 0:
        n = notional_cents(price, qty)
        if n + fee_cents(n, fee_rate, min_fee) <= cash:
            break
        qty -= 1
    return max(qty, 0)
