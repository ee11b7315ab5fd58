"""The sidebar and the tab bar are rendered once per role and language, then marked per page."""

from crm.models import Role


def _active_links(page):
    return page.count('aria-current="page"')


def test_the_entry_of_the_page_is_the_only_one_marked_active(client, org):
    client.force_login(org.director)
    page = client.get("/customers/orders/").content.decode()
    assert (
        '<a class="nav-link active" aria-current="page" href="/customers/orders/" data-nav="customers:orders">' in page
    )
    assert '<a class="nav-link" href="/customers/" data-nav="customers:list">' in page
    assert '<a class="tab active" aria-current="page" href="/customers/" data-tab="customers:list">' in page
    assert _active_links(page) == 2  # the sidebar's entry and the phone's tab
    page = client.get("/sales/leads/").content.decode()
    assert '<a class="nav-link active" aria-current="page" href="/sales/leads/" data-nav="sales:leads">' in page
    assert '<a class="nav-link" href="/customers/orders/" data-nav="customers:orders">' in page
    assert _active_links(page) == 2


def test_a_user_whose_role_changes_sees_the_menu_of_the_new_role_on_the_next_page(client, org):
    client.force_login(org.rep1)
    assert 'data-nav="org:audit"' not in client.get("/").content.decode()
    org.rep1.role = Role.ADMIN
    org.rep1.save(update_fields=["role"])
    assert 'data-nav="org:audit"' in client.get("/").content.decode()


def test_the_menus_follow_the_language(client, org):
    client.force_login(org.rep1)
    assert ">客户</span>" in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert ">Customers</span>" in client.get("/").content.decode()


def test_the_account_menu_names_the_users_department(client, org):
    client.force_login(org.rep1)
    page = client.get("/").content.decode()
    assert f'<span class="dropdown-item-text small text-muted">{org.rep1.department.name}</span>' in page
