from django.urls import path

from . import views

app_name = "chat"

urlpatterns = [
    path("", views.home, name="home"),
    path("c/new/", views.new_conversation, name="new"),
    path("c/<int:pk>/", views.conversation_page, name="conversation"),
    path("c/<int:pk>/rename/", views.rename_conversation, name="rename"),
    path("c/<int:pk>/settings/", views.conversation_settings, name="settings"),
    path("c/<int:pk>/delete/", views.delete_conversation, name="delete"),
    path("api/conversations/", views.conversation_list_api, name="conversation_list_api"),
]
