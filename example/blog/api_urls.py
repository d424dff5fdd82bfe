"""URLs of the blog's JSON API, mounted under /api/."""

from django.urls import path

from blog import api

app_name = "api"

urlpatterns = [
    path("posts/", api.post_list, name="post_list"),
    path("posts/<int:pk>/", api.post_detail, name="post_detail"),
    path("posts/<int:pk>/comments/", api.comment_create, name="comment_create"),
]
