"""The floor: the load balancer API's list, detail and create written by hand as plain
Django views (``JsonResponse``, ``.values_list()``, no DRF, no services), answering the
same JSON bodies as the portal over the same database.  ``bench/api.py`` measures the
portal's API against it; ``tests/unit/test_bench_floor.py`` keeps its bodies equal to
the portal's."""
