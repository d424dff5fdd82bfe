"""The same pages through django.test.TestCase, sync and async, as many projects write them."""

from django.test import TestCase

from blog.tests.data import make_blog


class PostPagesTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.blog = make_blog()

    def test_post_list_queries_do_not_depend_on_post_count(self) -> None:
        with self.assertNumQueries(4):
            response = self.client.get("/")
        self.assertContains(response, "Testing with a fake service")

    def test_post_detail(self) -> None:
        response = self.client.get(f"/posts/{self.blog.posts[3].pk}/")
        self.assertContains(response, "0 comments")
        self.assertTemplateUsed(response, "blog/_sidebar.html")

    async def test_api_post_list_async(self) -> None:
        response = await self.async_client.get("/api/posts/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(response.json()["posts"]), 4)

    async def test_post_detail_async(self) -> None:
        response = await self.async_client.get(f"/posts/{self.blog.posts[0].pk}/")
        self.assertContains(response, "Query budgets", status_code=200)
