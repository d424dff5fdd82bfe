"""URLs of the blog's HTML pages."""

from django.urls import path

from blog import views

urlpatterns = [
    path("", views.post_list, name="post_list"),
    path("posts/<int:pk>/", views.post_detail, name="post_detail"),
    path("authors/<int:pk>/", views.author_detail, name="author_detail"),
    path("archive/", views.archive, name="archive"),
]
