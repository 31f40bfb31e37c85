from django.conf import settings
from django.db import models


class UsageRecord(models.Model):
    """One billable GLM call. Rows are never edited after they are written."""

    class Kind(models.TextChoices):
        CHAT = "chat"
        TITLE = "title"
        VISION = "vision"
        IMAGE = "image"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="usage_records")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    model = models.CharField(max_length=40)
    # Deleting a conversation keeps what it cost.
    conversation = models.ForeignKey("chat.Conversation", null=True, blank=True, on_delete=models.SET_NULL)
    message = models.ForeignKey("chat.Message", null=True, blank=True, on_delete=models.SET_NULL)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cached_tokens = models.PositiveIntegerField(default=0)
    images = models.PositiveIntegerField(default=0)
    # The unit prices in force when the call was made, so a later price change leaves old rows alone.
    input_price_per_million = models.DecimalField(max_digits=12, decimal_places=6)
    output_price_per_million = models.DecimalField(max_digits=12, decimal_places=6)
    image_price = models.DecimalField(max_digits=12, decimal_places=6)
    cost = models.DecimalField(max_digits=14, decimal_places=6)
    glm_request_id = models.CharField(max_length=80, blank=True)
    # False when the stream was cut before the API reported usage (see docs/gateway.md).
    exact = models.BooleanField(default=True)
    # One charge per billable thing ("reply:<message id>", "title:<conversation id>", ...):
    # however often a write is retried, the unique key keeps it to one row.
    charge_key = models.CharField(max_length=80, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"], name="usage_user_time")]

    def __str__(self):
        return f"{self.kind} {self.model} ¥{self.cost}"
