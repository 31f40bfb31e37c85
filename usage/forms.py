from django import forms
from django.utils.translation import gettext_lazy as _

from . import periods


class PeriodForm(forms.Form):
    """The spend page's period: a preset, or a range of days (in the viewer's time zone)."""

    period = forms.ChoiceField(
        label=_("Period"),
        choices=[
            (periods.TODAY, _("Today")),
            (periods.LAST_7_DAYS, _("Last 7 days")),
            (periods.LAST_30_DAYS, _("Last 30 days")),
            (periods.THIS_MONTH, _("This month")),
            (periods.DATE_RANGE, _("Date range")),
        ],
        initial=periods.THIS_MONTH,
        required=False,
    )
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        data["period"] = data.get("period") or periods.THIS_MONTH
        if data["period"] == periods.DATE_RANGE:
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                raise forms.ValidationError(_("Choose the first and the last day of the range."))
            if start > end:
                raise forms.ValidationError(_("The first day must not be after the last day."))
            if (end - start).days + 1 > periods.MAX_RANGE_DAYS:
                raise forms.ValidationError(
                    _("A range covers at most %(days)s days.") % {"days": periods.MAX_RANGE_DAYS}
                )
        return data

    def chosen_period(self) -> periods.Period:
        """The period asked for; this month when the form is invalid (its errors are shown)."""
        if not self.is_valid():
            return periods.period_for(periods.THIS_MONTH)
        data = self.cleaned_data
        return periods.period_for(data["period"], first_day=data.get("start"), last_day=data.get("end"))
