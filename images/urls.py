from django.urls import path

from . import views

app_name = "images"

urlpatterns = [
    path("", views.gallery, name="gallery"),
    path("new/", views.create_job, name="create"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/status/", views.status, name="status"),
    path("<int:pk>/image/", views.image_file, name="file"),
    path("<int:pk>/thumbnail/", views.thumbnail_file, name="thumbnail"),
    path("<int:pk>/delete/", views.delete_job, name="delete"),
]
