"""The one error summary every form shows on top after a refused submit: in Chinese, each line reads
"字段：错误" with the full-width colon, links to its field, and the login page has it too."""

import re

from django.urls import reverse


def summary(page):
    """The summary's text, one space between pieces, and the fields its lines link to."""
    match = re.search(
        r'<div class="alert alert-danger error-summary"[^>]*data-testid="error-summary">(.*?)</div>', page, re.S
    )
    assert match, "no error summary on the page"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split()), re.findall(r'href="(#[^"]*)"', match.group(1))


def test_an_empty_login_names_both_fields_in_the_summary_with_a_chinese_colon(client, db):
    page = client.post(reverse("login"), {"username": "", "password": ""}).content.decode()
    assert summary(page) == (
        "请更正以下错误： 用户名：此项为必填项。 密码：此项为必填项。",
        ["#id_username", "#id_password"],
    )


def test_a_wrong_password_is_said_in_the_login_pages_summary(client, org):
    page = client.post(reverse("login"), {"username": org.rep1.username, "password": "wrong"}).content.decode()
    assert summary(page) == ("请更正以下错误： 请输入一个正确的用户名和密码。注意，两者都区分大小写。", [])


def test_the_shared_form_fields_summary_uses_the_full_width_colon(client, org):
    client.force_login(org.rep1)
    page = client.post(reverse("password_change"), {}).content.decode()
    assert summary(page) == (
        "请更正以下错误： 旧密码：此项为必填项。 新密码：此项为必填项。 新密码确认：此项为必填项。",
        ["#id_old_password", "#id_new_password1", "#id_new_password2"],
    )


def test_in_english_the_summary_keeps_the_ascii_colon(client, org, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(org.rep1)
    page = client.post(reverse("password_change"), {}).content.decode()
    assert summary(page)[0] == (
        "Please correct the errors below: Old password: This field is required. "
        "New password: This field is required. New password confirmation: This field is required."
    )
