from django.urls import path

from storefront.views import demo_page

urlpatterns = [path("", demo_page, name="demo")]
