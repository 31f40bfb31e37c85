from django.urls import path

from . import views

app_name = "usage"

urlpatterns = [
    path("", views.spend_overview, name="spend"),
    path("export.csv", views.spend_overview_csv, name="spend_csv"),
    path("users/<int:user_id>/", views.user_spend, name="user_spend"),
    path("users/<int:user_id>/export.csv", views.user_spend_csv, name="user_spend_csv"),
]
