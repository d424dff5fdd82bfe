"""The site's URLs: the blog's pages and its JSON API."""

from django.urls import include, path

urlpatterns = [
    path("api/", include("blog.api_urls")),
    path("", include("blog.urls")),
]
