"""Signal receivers: a new comment bumps its post's counter and drops the cached sidebar."""

from django.core.cache import cache
from django.db.models import F
from django.db.models.signals import post_save
from django.dispatch import receiver

from blog.models import Comment, Post
from blog.sidebar import SIDEBAR_CACHE_KEY


@receiver(post_save, sender=Comment, dispatch_uid="blog.count_comment")
def count_comment(sender: type[Comment], instance: Comment, created: bool, **kwargs: object) -> None:
    """One UPDATE instead of a COUNT per post on every page that lists posts."""
    if not created:
        return
    Post.objects.filter(pk=instance.post_id).update(comment_count=F("comment_count") + 1)
    # The sidebar ranks posts by comment count, so it is stale now.
    cache.delete(SIDEBAR_CACHE_KEY)
