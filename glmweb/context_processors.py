from django.conf import settings


def site(request):
    """What every page needs to know about the site itself."""
    return {"offline_demo": settings.GLM_OFFLINE_DEMO, "signup_enabled": settings.SIGNUP_ENABLED}
