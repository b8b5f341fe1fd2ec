"""Local mock servers speaking each provider's video API, with fault injection.

Used by the adapter tests and by ``bench/bench_backends.py``. Each mock listens on
127.0.0.1 on a random port, checks auth the way the provider does, runs tasks
through the provider's lifecycle with a configurable latency, serves a real
small MP4 from signed-looking URLs, and can inject the faults a real API shows:
429 with Retry-After, 500s, dropped connections, failing tasks, moderation
refusals, expired download URLs and truncated downloads.
"""

from tests.backends.backend_mocks.server import DROP, Faults, MockProvider, Req, Resp  # noqa: F401
