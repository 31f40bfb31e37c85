from django import template

from usage.money import format_yuan

register = template.Library()


@register.filter
def yuan(amount):
    """{{ cost|yuan }} -> ¥12.50 (or ¥0.000123 for amounts under a fen)."""
    return format_yuan(amount)


@register.filter
def grouped(number):
    """{{ tokens|grouped }} -> 1,234,567."""
    if number in (None, ""):
        return ""
    return f"{int(number):,}"
