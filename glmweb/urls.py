from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from glmweb.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("spend/", include("usage.urls")),
    path("images/", include("images.urls")),
    path("", include("chat.urls")),
]
