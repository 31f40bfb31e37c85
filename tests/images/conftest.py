import pytest

from .fixtures import image_broker, image_worker, image_worker_harness, unread_broker  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True)
def _jobs_go_to_the_test_broker(request):
    """Any job a test here creates is queued on the session's own broker."""
    if request.node.get_closest_marker("django_db"):
        request.getfixturevalue("image_broker")
