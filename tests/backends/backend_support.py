"""Constants the backend tests share. A uniquely named module, not conftest: every test
folder has a conftest, and ``from conftest import`` would pick whichever loaded first."""

from __future__ import annotations

from shotsmith.backends.http import RetryPolicy

#: Retries in tests: the same logic, delays in milliseconds.
FAST_RETRY = RetryPolicy(max_attempts=5, base_delay_s=0.01, max_delay_s=0.05, max_retry_after_s=2.0)
