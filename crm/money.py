"""How amounts of money are shown: one formatter for every page, chart label and message."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.translation import get_language

WAN = Decimal("10000")
YI = Decimal("100000000")


def _decimal(value):
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None


def money(value, places=2) -> str:
    """``¥12,800.00``: yuan with thousands separators and ``places`` decimals (0 or 2)."""
    amount = _decimal(value)
    if amount is None:
        return "–"
    quantum = Decimal(1).scaleb(-places)
    amount = amount.quantize(quantum, rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.{places}f}"


def money_short(value) -> str:
    """A large amount for a figure card: in 万 / 亿 in Chinese (``¥57.18万``), in K / M from
    ¥100,000 in English (``¥571.8K``); smaller amounts as ``money`` without cents."""
    amount = _decimal(value)
    if amount is None:
        return "–"
    language = (get_language() or "").lower()
    size = abs(amount)
    if language.startswith("zh") and size >= WAN:
        unit, divisor = ("亿", YI) if size >= YI else ("万", WAN)
        short = (amount / divisor).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        text = f"{abs(short):,.2f}".rstrip("0").rstrip(".")  # ¥57.18万, ¥1.5万, ¥3万
        sign = "-" if short < 0 else ""
        return f"{sign}¥{text}{unit}"
    if size >= 1000000:  # English cards: ¥1.25M, ¥153.4K
        return _compact(amount, Decimal(1000000), "M")
    if size >= 100000:
        return _compact(amount, Decimal(1000), "K")
    return money(amount, 0)


def _compact(amount, divisor, unit):
    short = (amount / divisor).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    text = f"{abs(short):,.2f}".rstrip("0").rstrip(".")
    return f"{'-' if short < 0 else ''}¥{text}{unit}"
