from django.contrib import admin

from .models import ImageJob


@admin.register(ImageJob)
class ImageJobAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "model", "size", "status", "attempts", "runs", "cost", "created_at", "finished_at")
    list_filter = ("status", "model")
    search_fields = ("prompt", "user__username")
    list_select_related = ("user",)
    raw_id_fields = ("user", "conversation")
    # The worker owns a job's state; staff look, and delete through the gallery's rules.
    readonly_fields = [field.name for field in ImageJob._meta.fields]

    def has_add_permission(self, request):
        return False
