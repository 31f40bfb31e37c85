"""Why a job failed, in words a person reads: GLM's own errors (glm.errors), and the site's."""
from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from glm.errors import GLMError

LANGUAGES = ("en", "zh-hans")

# Failures the site itself names; GLM's errors carry their own texts (glm/user_messages.py).
OWN_FAILURES = {
    "download_expired": _("The picture's download link had already expired, so it could not be saved."),
    "download_too_big": _("The picture was larger than this site accepts, so it was not saved."),
    "download_too_slow": _("The picture took too long to download, so it was not saved."),
    "download_failed": _("The picture could not be downloaded from the GLM service."),
    "not_an_image": _("The GLM service returned a file that is not a PNG or JPEG picture."),
    "wrong_size": _("The picture did not have the size that was asked for."),
    "too_many_runs": _("This job stopped the image worker several times and was given up."),
    "time_limit": _("This job took too long and was stopped."),
    "internal": _("The picture could not be made because of an error on this site."),
}


class JobFailed(Exception):
    """A job that cannot succeed. texts holds the reason in every supported language."""

    def __init__(self, code: str, texts: dict[str, str]):
        super().__init__(code)
        self.code = code
        self.texts = texts

    @classmethod
    def own(cls, code: str) -> "JobFailed":
        return cls(code, both_languages(OWN_FAILURES[code]))

    @classmethod
    def from_glm(cls, error: GLMError) -> "JobFailed":
        return cls(error.code, {language: error.user_message(language) for language in LANGUAGES})


def both_languages(lazy_text) -> dict[str, str]:
    rendered = {}
    for language in LANGUAGES:
        with translation.override(language):
            rendered[language] = str(lazy_text)
    return rendered


def pick_language(texts: dict, language: str) -> str:
    if language.startswith("zh"):
        language = "zh-hans"
    return texts.get(language) or texts.get("en") or next(iter(texts.values()), "")
