"""The shared machinery of the provider mocks, now shipped as :mod:`shotsmith.testing.taskmock`.

Kept as a re-export so the provider mocks here (and anything importing this
path) keep working unchanged; plugin authors import the packaged module.
"""

from shotsmith.testing.taskmock import (DROP, Bouncer, Faults, MockProvider, Req, Resp, Task,  # noqa: F401
                                        TaskAPIMock, png_bytes, render_clip, wav_bytes)
