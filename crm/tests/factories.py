import factory
from factory.django import DjangoModelFactory

from crm.models import DEFAULT_SCOPE, Department, Role, User


class DepartmentFactory(DjangoModelFactory):
    class Meta:
        model = Department

    name = factory.Sequence(lambda n: f"部门{n}")
    kind = Department.Kind.DEPARTMENT


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    last_name = "测"
    first_name = factory.Sequence(lambda n: f"试{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    role = Role.REP
    data_scope = factory.LazyAttribute(lambda u: DEFAULT_SCOPE[u.role])
    department = factory.SubFactory(DepartmentFactory)
    password = factory.PostGenerationMethodCall("set_password", "pw-123456")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class OrgFixture:
    """Company → region → two departments (one with a team below it), with people in each."""

    def __init__(self):
        self.company = DepartmentFactory(name="总部", kind=Department.Kind.COMPANY)
        self.region = DepartmentFactory(name="华东", kind=Department.Kind.REGION, parent=self.company)
        self.sales1 = DepartmentFactory(name="销售一部", parent=self.region)
        self.team1 = DepartmentFactory(name="一组", kind=Department.Kind.TEAM, parent=self.sales1)
        self.sales2 = DepartmentFactory(name="销售二部", parent=self.region)
        self.director = UserFactory(username="director", role=Role.DIRECTOR, department=self.region)
        self.manager1 = UserFactory(username="manager1", role=Role.MANAGER, department=self.sales1)
        self.manager2 = UserFactory(username="manager2", role=Role.MANAGER, department=self.sales2)
        self.rep1 = UserFactory(username="rep1", role=Role.REP, department=self.team1)
        self.rep2 = UserFactory(username="rep2", role=Role.REP, department=self.sales1)
        self.rep3 = UserFactory(username="rep3", role=Role.REP, department=self.sales2)
        self.marketing = UserFactory(username="marketing", role=Role.MARKETING, department=self.company)
        self.admin = UserFactory(username="admin", role=Role.ADMIN, department=self.company)
