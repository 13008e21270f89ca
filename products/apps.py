from django.apps import AppConfig
from django.db.backends.signals import connection_created


class ProductsConfig(AppConfig):
    name = "products"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from products.search import give_sqlite_the_function

        connection_created.connect(give_sqlite_the_function, dispatch_uid="products.search")
