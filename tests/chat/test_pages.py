"""Conversation pages and endpoints: ownership, forms, the sidebar list."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.models import Conversation, Message
from tests.factories import make_conversation, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(client):
    user = make_user("alice")
    client.force_login(user)
    return user


def test_pages_require_login(client):
    conversation = make_conversation(make_user())
    for url in ["/", f"/c/{conversation.pk}/", "/api/conversations/"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    "method, path, data",
    [
        ("get", "/c/{pk}/", None),
        ("post", "/c/{pk}/rename/", {"title": "mine now"}),
        ("post", "/c/{pk}/settings/", {"model": "glm-5", "system_prompt": "", "temperature": 0.5, "top_p": 0.5}),
        ("get", "/c/{pk}/delete/", None),
        ("post", "/c/{pk}/delete/", None),
    ],
)
def test_someone_elses_conversation_is_404_and_unchanged(client, alice, method, path, data):
    bobs = make_conversation(make_user("bob"), title="bob's")
    response = getattr(client, method)(path.format(pk=bobs.pk), data or {})
    assert response.status_code == 404
    bobs.refresh_from_db()
    assert bobs.title == "bob's" and bobs.model == "glm-4-flash"


def test_new_conversation_uses_the_default_settings(client, alice, settings):
    response = client.post("/c/new/")
    conversation = Conversation.objects.get(user=alice)
    assert response["Location"] == f"/c/{conversation.pk}/"
    assert conversation.model == settings.CHAT_DEFAULT_MODEL
    assert conversation.temperature == settings.CHAT_DEFAULT_TEMPERATURE


def test_conversation_page_renders_for_its_owner(client, alice):
    conversation = make_conversation(alice, title="Trip <script>alert(1)</script>")
    response = client.get(f"/c/{conversation.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Trip &lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script>alert(1)</script>" not in body
    assert "chat-config" in body


def test_rename_sets_a_custom_title(client, alice):
    conversation = make_conversation(alice)
    client.post(f"/c/{conversation.pk}/rename/", {"title": "  Holiday plans  "})
    conversation.refresh_from_db()
    assert conversation.title == "Holiday plans" and conversation.title_is_custom


def test_rename_refuses_an_empty_title(client, alice):
    conversation = make_conversation(alice, title="keep")
    response = client.post(f"/c/{conversation.pk}/rename/", {"title": ""}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    conversation.refresh_from_db()
    assert conversation.title == "keep"


@pytest.mark.parametrize(
    "field, value",
    [("model", "gpt-4"), ("temperature", "1.5"), ("temperature", "-0.1"), ("top_p", "0"), ("top_p", "1.01")],
)
def test_settings_outside_the_api_ranges_are_refused(client, alice, field, value):
    conversation = make_conversation(alice)
    data = {"model": "glm-5", "system_prompt": "", "temperature": "0.5", "top_p": "0.5", field: value}
    response = client.post(f"/c/{conversation.pk}/settings/", data, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and field in response.json()["errors"]
    conversation.refresh_from_db()
    assert conversation.model == "glm-4-flash"


def test_settings_are_saved(client, alice):
    conversation = make_conversation(alice)
    client.post(
        f"/c/{conversation.pk}/settings/",
        {"model": "glm-4-long", "system_prompt": "Answer in haiku.", "temperature": "0.2", "top_p": "0.9"},
    )
    conversation.refresh_from_db()
    assert (conversation.model, conversation.system_prompt, conversation.temperature, conversation.top_p) == (
        "glm-4-long", "Answer in haiku.", 0.2, 0.9,
    )


def test_delete_asks_then_deletes(client, alice):
    conversation = make_conversation(alice)
    assert client.get(f"/c/{conversation.pk}/delete/").status_code == 200
    assert Conversation.objects.filter(pk=conversation.pk).exists()
    client.post(f"/c/{conversation.pk}/delete/")
    assert not Conversation.objects.filter(pk=conversation.pk).exists()


def test_sidebar_lists_only_own_conversations_newest_activity_first(client, alice):
    older = make_conversation(alice, title="older")
    newer = make_conversation(alice, title="newer")
    make_conversation(make_user("bob"), title="not yours")
    results = client.get("/api/conversations/").json()["results"]
    assert [r["id"] for r in results] == [newer.pk, older.pk]


def test_sidebar_pages_through_many_conversations_with_constant_queries(client, alice):
    for number in range(65):
        make_conversation(alice, title=f"c{number}")
    with CaptureQueriesContext(connection) as first:
        page1 = client.get("/api/conversations/?page=1").json()
    with CaptureQueriesContext(connection) as third:
        page3 = client.get("/api/conversations/?page=3").json()
    assert len(page1["results"]) == 30 and page1["next_page"] == 2
    assert len(page3["results"]) == 5 and page3["next_page"] is None
    assert len(first) == len(third)


def test_search_finds_titles_and_message_text(client, alice):
    by_title = make_conversation(alice, title="Kyoto temples")
    by_text = make_conversation(alice, title="misc")
    Message.objects.create(conversation=by_text, role="user", text="what about kyoto in autumn?")
    make_conversation(alice, title="unrelated")
    found = {r["id"] for r in client.get("/api/conversations/?q=KYOTO").json()["results"]}
    assert found == {by_title.pk, by_text.pk}


def test_a_missing_page_is_the_sites_own_in_the_users_language_and_names_nothing(client, alice):
    bobs = make_conversation(make_user("bob"), title="bob's secret plan")

    english = client.get(f"/c/{bobs.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    chinese = client.get(f"/c/{bobs.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert english.status_code == chinese.status_code == 404
    assert "Nothing here" in english.content.decode()
    assert "这里什么也没有" in chinese.content.decode()
    for response in (english, chinese):
        body = response.content.decode()
        assert "secret plan" not in body and 'href="/"' in body
