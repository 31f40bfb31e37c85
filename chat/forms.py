from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import Conversation


class ConversationSettingsForm(forms.ModelForm):
    model = forms.ChoiceField(label=_("Model"), choices=[(name, name) for name in settings.CHAT_MODELS])
    temperature = forms.FloatField(label=_("Temperature"), min_value=0.0, max_value=1.0)
    top_p = forms.FloatField(label=_("Top p"), min_value=0.01, max_value=1.0)

    class Meta:
        model = Conversation
        fields = ["model", "system_prompt", "temperature", "top_p"]
        labels = {"system_prompt": _("System prompt")}
        widgets = {"system_prompt": forms.Textarea(attrs={"rows": 4})}


class RenameForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200, min_length=1, strip=True)
