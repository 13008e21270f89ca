from decimal import Decimal

from django.test import Client

from products.models import Category, Product, ProductChange


def test_changelists_load(admin_client: Client, product_factory) -> None:
    product_factory.create_batch(3)
    assert admin_client.get("/admin/products/product/").status_code == 200
    assert admin_client.get("/admin/products/category/").status_code == 200


def test_category_discount_set_in_the_admin_reprices_its_products(
    admin_client: Client, product_factory, category_factory
) -> None:
    category = category_factory(discount_percent=None)
    product = product_factory(category=category, price=Decimal("10.00"))
    response = admin_client.post(
        f"/admin/products/category/{category.pk}/change/",
        {"name": category.name, "slug": category.slug, "discount_percent": "25"},
    )
    assert response.status_code == 302, response.content
    product = Product.objects.get(pk=product.pk)
    assert product.discounted_price == Decimal("7.50")
    assert product.version == 2
    assert Category.objects.get(pk=category.pk).discount_percent == Decimal("25")


def test_product_saved_in_the_admin_gets_a_new_version(
    admin_client: Client, product_factory
) -> None:
    product = product_factory(price=Decimal("10.00"))
    response = admin_client.post(
        f"/admin/products/product/{product.pk}/change/",
        {
            "sku": product.sku,
            "name": "Renamed",
            "description": "",
            "category": product.category_id,
            "price": "12.00",
            "discount_percent": "",
            "stock": "3",
        },
    )
    assert response.status_code == 302, response.content
    product = Product.objects.get(pk=product.pk)
    assert (product.name, product.price, product.version) == ("Renamed", Decimal("12.00"), 2)


def test_products_deleted_in_bulk_in_the_admin_are_logged(
    admin_client: Client, product_factory
) -> None:
    kept, *deleted = product_factory.create_batch(3)
    response = admin_client.post(
        "/admin/products/product/",
        {
            "action": "delete_selected",
            "_selected_action": [product.pk for product in deleted],
            "post": "yes",
        },
    )
    assert response.status_code == 302, response.content
    assert list(Product.objects.values_list("pk", flat=True)) == [kept.pk]
    gone = ProductChange.objects.filter(kind="d").values_list("product_id", flat=True)
    assert sorted(gone) == sorted(product.pk for product in deleted)
