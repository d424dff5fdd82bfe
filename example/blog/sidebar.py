"""The sidebar shown next to posts: most discussed posts and tags, cached.

Computing it costs two queries; it changes only when a comment arrives (see
blog.signals), so it lives in the cache for SIDEBAR_CACHE_SECONDS.
"""

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count

from blog.models import Post, Tag

SIDEBAR_CACHE_KEY = "blog:sidebar"
MOST_DISCUSSED = 3


def get_sidebar() -> dict[str, Any]:
    sidebar = cache.get(SIDEBAR_CACHE_KEY)
    if sidebar is None:
        sidebar = {
            "most_discussed": list(
                Post.objects.filter(comment_count__gt=0)
                .order_by("-comment_count", "-id")
                .values("pk", "title", "comment_count")[:MOST_DISCUSSED]
            ),
            "tags": list(Tag.objects.annotate(post_total=Count("posts")).values("slug", "name", "post_total")),
        }
        cache.set(SIDEBAR_CACHE_KEY, sidebar, settings.SIDEBAR_CACHE_SECONDS)
    return sidebar
