"""No pages: the benchmark calls Oscar's OrderCreator directly. Django wants a URLconf all the same."""

urlpatterns: list[object] = []
