from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Conversation(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations")
    title = models.CharField(max_length=200, blank=True)
    # Once a person names a conversation, the automatic title never overwrites it.
    title_is_custom = models.BooleanField(default=False)
    model = models.CharField(max_length=40)
    system_prompt = models.TextField(blank=True)
    temperature = models.FloatField(validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    top_p = models.FloatField(validators=[MinValueValidator(0.01), MaxValueValidator(1.0)])
    created_at = models.DateTimeField(auto_now_add=True)
    # Last activity: the sidebar sorts by it.
    updated_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-updated_at"], name="conversation_user_recent")]

    def __str__(self):
        return self.title or f"Conversation {self.pk}"


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user"
        ASSISTANT = "assistant"

    class Status(models.TextChoices):
        COMPLETE = "complete"
        STREAMING = "streaming"
        STOPPED = "stopped"
        ERROR = "error"
        INTERRUPTED = "interrupted"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=Role.choices)
    text = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.COMPLETE)
    model = models.CharField(max_length=40, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    finish_reason = models.CharField(max_length=40, blank=True)
    # Both languages are kept so every viewer reads the failure in their own.
    error_detail = models.JSONField(default=dict, blank=True)
    glm_request_id = models.CharField(max_length=80, blank=True)
    # Tool calls made while writing this reply: [{"id", "name", "arguments", "result"}].
    tools = models.JSONField(default=list, blank=True)
    # A display copy of what the ledger (usage.UsageRecord) charged for this reply.
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    usage_estimated = models.BooleanField(default=False)
    cost = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    # Where the process writing this reply listens for "stop" and "snapshot" requests.
    runner_channel = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Refreshed by every flush while streaming, so a reply whose writer died is recognisable.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["conversation", "id"], name="message_conversation_order")]

    def __str__(self):
        return f"{self.role} #{self.pk}"


class Attachment(models.Model):
    """A photo uploaded into a conversation; it joins a message when that message is sent."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments")
    # Random names: nothing the uploader chose reaches the file system.
    file = models.FileField(upload_to="attachments/%Y/%m/")
    thumbnail = models.FileField(upload_to="attachments/%Y/%m/")
    # Set only when the photo exceeds what the API accepts: the copy the model is sent.
    model_copy = models.FileField(upload_to="attachments/%Y/%m/", blank=True)
    content_type = models.CharField(max_length=40)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    # The uploader's file name, shown (escaped) as text and never used as a path.
    original_name = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    @property
    def resized_for_model(self) -> bool:
        return bool(self.model_copy)
