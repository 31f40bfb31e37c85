from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UsageRecord(models.Model):
    """One billable GLM call. Rows are never edited after they are written."""

    class Kind(models.TextChoices):
        CHAT = "chat", _("Chat")
        TITLE = "title", _("Title")
        VISION = "vision", _("Vision")
        IMAGE = "image", _("Image")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="usage_records")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    model = models.CharField(max_length=40)
    # Deleting a conversation keeps what it cost.
    conversation = models.ForeignKey("chat.Conversation", null=True, blank=True, on_delete=models.SET_NULL)
    message = models.ForeignKey("chat.Message", null=True, blank=True, on_delete=models.SET_NULL)
    # Deleting a picture keeps what it cost.
    image_job = models.ForeignKey("images.ImageJob", null=True, blank=True, on_delete=models.SET_NULL)
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
        indexes = [
            models.Index(fields=["user", "created_at"], name="usage_user_time"),
            # The spend page and the site cap aggregate every row of a period: with all the
            # summed columns in one index keyed by time, those queries read the index alone
            # (an index-only scan on PostgreSQL) instead of a million table rows.
            models.Index(
                fields=["created_at", "user", "model", "cost", "prompt_tokens", "completion_tokens", "images"],
                name="usage_time_cover",
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.model} ¥{self.cost}"


class Price(models.Model):
    """A model's unit prices from effective_from on. The newest row already in effect wins, so a
    price entered now (or scheduled for later) never changes a call made before it."""

    model = models.CharField(_("model"), max_length=40)
    input_per_million = models.DecimalField(_("input, yuan per million tokens"), max_digits=12, decimal_places=6, default=0)
    output_per_million = models.DecimalField(_("output, yuan per million tokens"), max_digits=12, decimal_places=6, default=0)
    per_image = models.DecimalField(_("yuan per image"), max_digits=12, decimal_places=6, default=0)
    effective_from = models.DateTimeField(_("effective from"), default=timezone.now)
    # Rows seeded from the manual's list yield to the operator's GLM_PRICES overrides; a row
    # entered by staff overrides both (see usage/ledger.current_price).
    list_price = models.BooleanField(_("manual's list price"), default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("price")
        verbose_name_plural = _("prices")
        constraints = [models.UniqueConstraint(fields=["model", "effective_from"], name="price_model_from_unique")]
        indexes = [models.Index(fields=["model", "-effective_from"], name="price_model_latest")]

    def save(self, *args, **kwargs):
        self.model = self.model.strip().lower()
        super().save(*args, **kwargs)

    def __str__(self):
        return f"{self.model} from {self.effective_from:%Y-%m-%d %H:%M}"


class UserBudget(models.Model):
    """A user's own monthly budget in yuan, replacing USAGE_DEFAULT_MONTHLY_BUDGET for them.
    Empty means unlimited, even when the site has a default."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="budget", verbose_name=_("user")
    )
    monthly_budget = models.DecimalField(
        _("monthly budget (yuan)"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Empty: no limit for this user."),
    )

    class Meta:
        verbose_name = _("user budget")
        verbose_name_plural = _("user budgets")

    def __str__(self):
        return f"{self.user} ¥{self.monthly_budget if self.monthly_budget is not None else '∞'}"


class RateLimitBucket(models.Model):
    """Recent request times for one rate-limit key, used when no Redis is configured: the row
    lock (and SQLite's single writer) makes the count correct across processes."""

    key = models.CharField(max_length=200, unique=True)
    hits = models.JSONField(default=list)

    def __str__(self):
        return self.key


class UsageDay(models.Model):
    """The ledger summed per calendar day (in the site's time zone), user and model, kept in
    step with every new ledger row (usage/rollup.py). The spend page and the budgets read it
    instead of summing a million ledger rows; the ledger stays the record it is rebuilt from."""

    day = models.DateField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    model = models.CharField(max_length=40)
    calls = models.PositiveBigIntegerField(default=0)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    images = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(max_digits=18, decimal_places=6, default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "user", "model"], name="usage_day_unique")]
        indexes = [
            models.Index(fields=["user", "day"], name="usage_day_user"),
            # Every summed column in one index keyed by day: a period is an index-only range
            # scan on PostgreSQL, however many days the table holds.
            models.Index(
                fields=["day", "user", "model", "calls", "prompt_tokens", "completion_tokens", "images", "cost"],
                name="usage_day_cover",
            ),
        ]


class UsageDayZone(models.Model):
    """One row: the time zone UsageDay's days were counted in. When settings.TIME_ZONE differs
    (it was changed and `manage.py rebuild_usage_days` has not run yet), readers sum the ledger
    itself instead, so no figure is ever counted in the wrong days."""

    zone = models.CharField(max_length=64)
