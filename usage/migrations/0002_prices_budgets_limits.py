"""Prices editable by staff (seeded with the manual's list prices), per-user budgets, the
database rate-limit buckets, and the covering index the spend page aggregates over."""

from datetime import datetime, timezone

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


# The seeded rows take effect from long before any call, so every existing ledger row keeps
# the prices it snapshotted and every later call finds a row.
LIST_PRICES_FROM = datetime(2000, 1, 1, tzinfo=timezone.utc)


def seed_list_prices(apps, schema_editor):
    from glm.pricing import DEFAULT_PRICES

    Price = apps.get_model("usage", "Price")
    Price.objects.bulk_create(
        [
            Price(
                model=model,
                input_per_million=price.input_per_million,
                output_per_million=price.output_per_million,
                per_image=price.per_image,
                effective_from=LIST_PRICES_FROM,
                list_price=True,
            )
            for model, price in DEFAULT_PRICES.items()
        ]
    )


def remove_list_prices(apps, schema_editor):
    apps.get_model("usage", "Price").objects.filter(list_price=True, effective_from=LIST_PRICES_FROM).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('usage', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Price',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('model', models.CharField(max_length=40, verbose_name='model')),
                ('input_per_million', models.DecimalField(decimal_places=6, default=0, max_digits=12, verbose_name='input, yuan per million tokens')),
                ('output_per_million', models.DecimalField(decimal_places=6, default=0, max_digits=12, verbose_name='output, yuan per million tokens')),
                ('per_image', models.DecimalField(decimal_places=6, default=0, max_digits=12, verbose_name='yuan per image')),
                ('effective_from', models.DateTimeField(default=django.utils.timezone.now, verbose_name='effective from')),
                ('list_price', models.BooleanField(default=False, editable=False, verbose_name="manual's list price")),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'verbose_name': 'price',
                'verbose_name_plural': 'prices',
            },
        ),
        migrations.CreateModel(
            name='RateLimitBucket',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=200, unique=True)),
                ('hits', models.JSONField(default=list)),
            ],
        ),
        migrations.CreateModel(
            name='UserBudget',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('monthly_budget', models.DecimalField(blank=True, decimal_places=2, help_text='Empty: no limit for this user.', max_digits=14, null=True, verbose_name='monthly budget (yuan)')),
            ],
            options={
                'verbose_name': 'user budget',
                'verbose_name_plural': 'user budgets',
            },
        ),
        migrations.AddIndex(
            model_name='usagerecord',
            index=models.Index(fields=['created_at', 'user', 'model', 'cost', 'prompt_tokens', 'completion_tokens', 'images'], name='usage_time_cover'),
        ),
        migrations.AddIndex(
            model_name='price',
            index=models.Index(fields=['model', '-effective_from'], name='price_model_latest'),
        ),
        migrations.AddConstraint(
            model_name='price',
            constraint=models.UniqueConstraint(fields=('model', 'effective_from'), name='price_model_from_unique'),
        ),
        migrations.AddField(
            model_name='userbudget',
            name='user',
            field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='budget', to=settings.AUTH_USER_MODEL, verbose_name='user'),
        ),
        migrations.RunPython(seed_list_prices, remove_list_prices),
    ]
