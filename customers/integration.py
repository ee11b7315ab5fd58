"""What the customers app adds to crm (which imports no app): the customers panel of the home
pages, the customers in the global search, the re-queuing of imports a broker outage lost, and the
dashboard's rollups once the demo data is loaded."""

from crm import demo, home, search
from crm import tasks as crm_tasks

from . import home as customers_home
from . import imports
from .services.dashboard import refresh_dashboard


def register():
    home.register("customers", order=10, manager=customers_home.manager_panel, rep=customers_home.rep_panel)
    search.register("customers", customers_home.search_results)
    crm_tasks.register_requeue("customer_imports", imports.requeue_waiting)
    demo.register_after_seed("customer_dashboard", refresh_dashboard)
