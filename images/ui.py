"""Interface texts the gallery's scripts need, rendered in the reader's language."""
from django.utils.translation import gettext as _


def gallery_strings() -> dict[str, str]:
    return {
        "queued": _("Queued"),
        "queued_position": _("Queued · number {position} in your queue"),
        "running": _("Making the picture…"),
        "retrying": _("The service is busy — retrying (attempt {attempt})…"),
        "succeeded": _("Done"),
        "failed": _("Failed"),
        "dismiss": _("Dismiss"),
        "try_again": _("Use this prompt again"),
        "open": _("Open picture"),
        "submitting": _("Sending…"),
        "submit": _("Generate"),
        "submit_failed": _("The picture could not be requested. Please try again."),
        "dismiss_failed": _("Could not remove this job."),
    }
