from django.urls import path

from . import attachment_views, views

app_name = "chat"

urlpatterns = [
    path("", views.home, name="home"),
    path("c/new/", views.new_conversation, name="new"),
    path("c/<int:pk>/", views.conversation_page, name="conversation"),
    path("c/<int:pk>/rename/", views.rename_conversation, name="rename"),
    path("c/<int:pk>/settings/", views.conversation_settings, name="settings"),
    path("c/<int:pk>/delete/", views.delete_conversation, name="delete"),
    path("api/conversations/", views.conversation_list_api, name="conversation_list_api"),
    path("c/<int:pk>/attachments/", attachment_views.upload, name="attachment_upload"),
    path("attachments/<int:attachment_id>/", attachment_views.photo, name="attachment"),
    path("attachments/<int:attachment_id>/thumbnail/", attachment_views.thumbnail, name="attachment_thumbnail"),
    path("attachments/<int:attachment_id>/delete/", attachment_views.remove, name="attachment_delete"),
]
