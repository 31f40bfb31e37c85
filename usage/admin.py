from django.contrib import admin
from django.utils import timezone

from .models import Price, UserBudget


@admin.register(Price)
class PriceAdmin(admin.ModelAdmin):
    """Staff add a row to change a price. A row already in effect stays as it is, so the
    record of which price applied when is never rewritten (ledger rows keep their own copy)."""

    list_display = ("model", "input_per_million", "output_per_million", "per_image", "effective_from", "list_price")
    list_filter = ("model", "list_price")
    search_fields = ("model",)
    ordering = ("model", "-effective_from")
    fields = ("model", "input_per_million", "output_per_million", "per_image", "effective_from")

    def _in_effect(self, obj) -> bool:
        return obj is not None and obj.effective_from <= timezone.now()

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not self._in_effect(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not self._in_effect(obj)

    def get_actions(self, request):
        # The bulk delete would bypass the per-row rule above.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(UserBudget)
class UserBudgetAdmin(admin.ModelAdmin):
    list_display = ("user", "monthly_budget")
    search_fields = ("user__username",)
    autocomplete_fields = ("user",)
