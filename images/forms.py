from django import forms
from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .options import DEFAULT_SIZE, QUALITIES, RECOMMENDED_SIZES, image_models, parse_size, takes_quality

_QUALITY_LABELS = {"standard": _("Standard"), "hd": _("HD (slower, finer detail)")}


def _size_label(size: str):
    width, height = parse_size(size)
    shape = _("square") if width == height else _("portrait") if height > width else _("landscape")
    return format_lazy("{} × {} · {}", width, height, shape)


class ImageJobForm(forms.Form):
    prompt = forms.CharField(label=_("Describe the picture"), widget=forms.Textarea(attrs={"rows": 3}))
    model = forms.ChoiceField(label=_("Model"))
    size = forms.ChoiceField(label=_("Size"), choices=[(size, _size_label(size)) for size in RECOMMENDED_SIZES])
    quality = forms.ChoiceField(
        label=_("Quality"),
        required=False,
        choices=[("", _("Default"))] + [(quality, _QUALITY_LABELS[quality]) for quality in QUALITIES],
        help_text=_("Only cogview-4-250304 takes a quality setting."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["prompt"].max_length = settings.IMAGE_MAX_PROMPT_CHARS
        self.fields["prompt"].widget.attrs["maxlength"] = settings.IMAGE_MAX_PROMPT_CHARS
        self.fields["model"].choices = [(model, model) for model in image_models()]
        self.fields["model"].initial = settings.IMAGE_DEFAULT_MODEL
        self.fields["size"].initial = DEFAULT_SIZE

    def clean(self):
        cleaned = super().clean()
        # The page disables the field for other models, but a stale value may still arrive.
        if not takes_quality(cleaned.get("model", "")):
            cleaned["quality"] = ""
        return cleaned
