"""What one test leaves behind in the process does not reach the next (the root conftest resets it).
The tests run in file order: the first leaves the state a leaking test would, the second checks it."""

from celery import _state as celery_state
from django.utils import translation


def test_a_request_in_english_and_a_race_of_eager_tasks_leave_their_state(client, org):
    client.force_login(org.rep1)
    client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert translation.get_language() == "en"
    celery_state._set_task_join_will_block(True)  # as two eager tasks in threads can leave it


def test_the_next_test_starts_in_the_default_language_and_may_join_results():
    assert translation.get_language() == "zh-hans"
    assert celery_state._task_join_will_block is False
