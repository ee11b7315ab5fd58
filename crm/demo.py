"""Demo data shared by every app: the organization, users and the random helpers."""

import datetime
import random
from collections.abc import Callable

from django.utils import timezone

from .models import DEFAULT_SCOPE, Department, Role, User

DEMO_PASSWORD = "crm-demo"

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉宇浩然子涵欣怡梓轩雨桐一诺思远嘉怡俊杰佳琪博文晨曦若汐沐阳梓萱诗涵"
REGIONS = [
    "上海市浦东新区",
    "上海市徐汇区",
    "上海市闵行区",
    "杭州市西湖区",
    "杭州市滨江区",
    "南京市鼓楼区",
    "南京市江宁区",
    "苏州市工业园区",
    "宁波市鄞州区",
    "无锡市滨湖区",
    "合肥市蜀山区",
    "北京市海淀区",
    "北京市朝阳区",
    "广州市天河区",
    "深圳市南山区",
    "成都市高新区",
    "武汉市洪山区",
    "西安市雁塔区",
]
MOBILE_PREFIXES = [
    "130",
    "131",
    "132",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "157",
    "158",
    "159",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "186",
    "187",
    "188",
    "189",
    "199",
]

# (username, last name, first name, role, department key)
DEMO_USERS = [
    ("admin", "系统", "管理员", Role.ADMIN, "company"),
    ("director", "周", "总监", Role.DIRECTOR, "region"),
    ("manager1", "陈", "经理", Role.MANAGER, "sales1"),
    ("manager2", "林", "经理", Role.MANAGER, "sales2"),
    ("rep1", "王", "小明", Role.REP, "sales1_team1"),
    ("rep2", "李", "晓红", Role.REP, "sales1_team2"),
    ("rep3", "张", "伟", Role.REP, "sales2"),
    ("rep4", "刘", "洋", Role.REP, "sales2"),
    ("marketing", "赵", "运营", Role.MARKETING, "marketing"),
]


class DemoContext:
    """What the app seeders share: the random source, the clock anchor, users and departments."""

    def __init__(self, *, size, seed, anchor=None, stdout=None):
        self.size = size
        self.seed = seed
        self.rng = random.Random(seed)
        self.anchor = anchor or timezone.localtime().replace(hour=9, minute=0, second=0, microsecond=0)
        self.departments = {}
        self.users = {}
        self.stdout = stdout

    def log(self, message):
        if self.stdout is not None:
            self.stdout.write(message)

    @property
    def reps(self):
        return [self.users[name] for name in ("rep1", "rep2", "rep3", "rep4")]

    def name(self, rng=None):
        rng = rng or self.rng
        given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
        return rng.choice(SURNAMES) + given

    def mobile(self, index):
        """A unique, random-looking mobile number for each index (a bijection on 8 digits)."""
        prefix = MOBILE_PREFIXES[index % len(MOBILE_PREFIXES)]
        body = (index * 7919 + 12345 + self.seed * 104729) % 100_000_000
        return f"{prefix}{body:08d}"

    def moment(self, days_back_max, rng=None):
        rng = rng or self.rng
        return self.anchor - datetime.timedelta(days=rng.uniform(0, days_back_max))


def seed_organization(ctx):
    tree = [
        ("company", "星火教育集团", Department.Kind.COMPANY, None),
        ("region", "华东大区", Department.Kind.REGION, "company"),
        ("sales1", "销售一部", Department.Kind.DEPARTMENT, "region"),
        ("sales1_team1", "一部一组", Department.Kind.TEAM, "sales1"),
        ("sales1_team2", "一部二组", Department.Kind.TEAM, "sales1"),
        ("sales2", "销售二部", Department.Kind.DEPARTMENT, "region"),
        ("marketing", "市场部", Department.Kind.DEPARTMENT, "company"),
    ]
    for key, name, kind, parent in tree:
        ctx.departments[key] = Department.objects.create(name=name, kind=kind, parent=ctx.departments.get(parent))
    for username, last, first, role, dept in DEMO_USERS:
        user = User(
            username=username,
            last_name=last,
            first_name=first,
            role=role,
            data_scope=DEFAULT_SCOPE[role],
            department=ctx.departments[dept],
            email=f"{username}@demo.crm.local",
            is_staff=role == Role.ADMIN,
            is_superuser=role == Role.ADMIN,
            notify_by_email=False,
        )
        user.set_password(DEMO_PASSWORD)
        user.save()
        ctx.users[username] = user
    for key, manager in (("sales1", "manager1"), ("sales2", "manager2"), ("region", "director")):
        Department.objects.filter(pk=ctx.departments[key].pk).update(manager=ctx.users[manager])
    ctx.log(f"  organization: {len(tree)} departments, {len(DEMO_USERS)} users")


def existing_context(*, size="large", seed=1, stdout=None):
    """A context over demo data already loaded (users and departments from ``seed_demo``), for
    adding one app's part to a database that holds the rest."""
    ctx = DemoContext(size=size, seed=seed, stdout=stdout)
    ctx.users = {
        user.username: user
        for user in User.objects.filter(
            username__in=["admin", "director", "manager1", "manager2", "rep1", "rep2", "rep3", "rep4", "marketing"]
        )
    }
    ctx.departments = {
        "company": Department.objects.get(pk=ctx.users["admin"].department_id),
        "region": ctx.users["director"].department,
        "sales1": ctx.users["manager1"].department,
        "sales2": ctx.users["manager2"].department,
        "marketing": ctx.users["marketing"].department,
    }
    return ctx


#: name -> step(), run by ``seed_demo`` once every app's data is committed; an app that keeps
#: figures derived from the demo data registers its step in ``AppConfig.ready()``
AFTER_SEED: dict[str, Callable[[], object]] = {}


def register_after_seed(name: str, step: Callable[[], object]) -> None:
    AFTER_SEED[name] = step
