from django.utils.functional import SimpleLazyObject

from . import selectors


def budget(request):
    """`usage_budget` for the account menu: this month's spend and budget of the logged-in user
    (a selectors.BudgetStatus). Lazy: pages that do not show it run no query for it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"usage_budget": SimpleLazyObject(lambda: selectors.budget_status(user=user))}
