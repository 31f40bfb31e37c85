"""UsageDay: the ledger summed per day, user and model (usage/rollup.py), filled from the
ledger rows written so far, with days counted in the TIME_ZONE of this migration."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def count_days(apps, schema_editor):
    from django.db.models import Count, Sum
    from django.db.models.functions import TruncDate
    from django.utils import timezone

    UsageRecord = apps.get_model("usage", "UsageRecord")
    UsageDay = apps.get_model("usage", "UsageDay")
    sums = (
        UsageRecord.objects.annotate(day=TruncDate("created_at", tzinfo=timezone.get_default_timezone()))
        .values("day", "user_id", "model")
        .annotate(n=Count("*"), prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens"),
                  pictures=Sum("images"), total=Sum("cost"))
        .order_by()
    )
    UsageDay.objects.bulk_create(
        (
            UsageDay(day=row["day"], user_id=row["user_id"], model=row["model"], calls=row["n"],
                     prompt_tokens=row["prompt"], completion_tokens=row["completion"], images=row["pictures"],
                     cost=row["total"])
            for row in sums.iterator(chunk_size=5000)
        ),
        batch_size=5000,
    )
    apps.get_model("usage", "UsageDayZone").objects.create(zone=settings.TIME_ZONE)


class Migration(migrations.Migration):

    dependencies = [
        ('usage', '0003_usagerecord_image_job'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='UsageDayZone',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('zone', models.CharField(max_length=64)),
            ],
        ),
        migrations.CreateModel(
            name='UsageDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('model', models.CharField(max_length=40)),
                ('calls', models.PositiveBigIntegerField(default=0)),
                ('prompt_tokens', models.PositiveBigIntegerField(default=0)),
                ('completion_tokens', models.PositiveBigIntegerField(default=0)),
                ('images', models.PositiveBigIntegerField(default=0)),
                ('cost', models.DecimalField(decimal_places=6, default=0, max_digits=18)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'indexes': [
                    models.Index(fields=['user', 'day'], name='usage_day_user'),
                    models.Index(fields=['day', 'user', 'model', 'calls', 'prompt_tokens', 'completion_tokens', 'images', 'cost'], name='usage_day_cover'),
                ],
                'constraints': [models.UniqueConstraint(fields=('day', 'user', 'model'), name='usage_day_unique')],
            },
        ),
        migrations.RunPython(count_days, migrations.RunPython.noop),
    ]
