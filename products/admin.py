from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from products import services
from products.models import Category, Product


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin[Category]):
    list_display = ["name", "slug", "discount_percent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(self, request: HttpRequest, obj: Category, form: Any, change: bool) -> None:
        services.save_category(obj)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin[Product]):
    list_display = [
        "sku",
        "name",
        "category",
        "price",
        "effective_discount_percent",
        "discounted_price",
        "stock",
        "version",
        "updated_at",
    ]
    list_filter = ["category"]
    search_fields = ["sku", "name"]
    list_select_related = ["category"]
    readonly_fields = [
        "effective_discount_percent",
        "discounted_price",
        "version",
        "created_at",
        "updated_at",
    ]
    autocomplete_fields = ["category"]
    show_full_result_count = False

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        services.save_product(obj)

    def delete_model(self, request: HttpRequest, obj: Product) -> None:
        services.delete_product(obj)
