from django.conf import settings
from django.db import models


class ImageJob(models.Model):
    """One CogView picture a user asked for, from the request to the stored file.

    The row is the job's whole state: the Celery message carries only its id, so a job can be
    run again (after a worker died, or by a duplicate message) and still produce one picture
    and one charge. See docs/images.md for the lifecycle.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="image_jobs")
    # Set when a chat's generate_image tool call asked for the picture.
    conversation = models.ForeignKey(
        "chat.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="image_jobs"
    )
    tool_call_id = models.CharField(max_length=80, blank=True)

    prompt = models.TextField()
    model = models.CharField(max_length=40)
    size = models.CharField(max_length=16)
    quality = models.CharField(max_length=16, blank=True)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # Requests sent to CogView for this job, retries included.
    attempts = models.PositiveIntegerField(default=0)
    # Times a worker took the job on; more than one means a worker died or a message came twice.
    runs = models.PositiveIntegerField(default=0)
    # Who holds the job while it runs: the worker's node name and boot id, and the Celery task id.
    worker = models.CharField(max_length=200, blank=True)
    worker_boot = models.CharField(max_length=40, blank=True)
    task_id = models.CharField(max_length=80, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    # CogView's temporary URL, kept once known so a rerun downloads it instead of paying for a
    # second picture.
    source_url = models.TextField(blank=True)
    glm_request_id = models.CharField(max_length=80, blank=True)
    # Random, fixed at the first run: a rerun writes the same file names, never a second copy.
    file_token = models.CharField(max_length=64, blank=True)
    image = models.FileField(max_length=200, blank=True)
    thumbnail = models.FileField(max_length=200, blank=True)
    content_type = models.CharField(max_length=40, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    file_bytes = models.PositiveIntegerField(null=True, blank=True)
    # A display copy of what the ledger (usage.UsageRecord) charged.
    cost = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)

    error_code = models.CharField(max_length=40, blank=True)
    # Both languages are kept so every viewer reads the failure in their own.
    error_detail = models.JSONField(default=dict, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # The gallery (succeeded, newest first), the queue (active, oldest first), the limit.
            models.Index(fields=["user", "status", "id"], name="imagejob_user_status"),
            models.Index(fields=["status", "lease_until"], name="imagejob_status_lease"),
        ]

    def __str__(self):
        return f"image job {self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES
