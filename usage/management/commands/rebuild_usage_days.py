from django.core.management.base import BaseCommand

from usage.rollup import rebuild_days


class Command(BaseCommand):
    help = (
        "Count the ledger's day totals again, in the present TIME_ZONE. Run it after changing "
        "TIME_ZONE; until then the spend page and the budgets sum the ledger rows themselves."
    )

    def handle(self, *args, **options):
        made = rebuild_days()
        self.stdout.write(f"{made} day totals counted from the ledger.")
