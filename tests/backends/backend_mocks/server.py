"""The shared machinery of the provider mocks, now shipped as :mod:`shotsmith.testing.taskmock`.

Kept as a re-export so the provider mocks here (and anything importing this
path) keep working unchanged; plugin authors import the packaged module. What
only these mocks share (:class:`ExtensionShapes`) lives here too.
"""

from shotsmith.testing.taskmock import (DROP, Bouncer, Faults, MockProvider, Req, Resp, Task,  # noqa: F401
                                        TaskAPIMock, png_bytes, render_clip, wav_bytes)


class ExtensionShapes:
    """For the mocks of APIs that extend a finished clip (Luma, Kling, Veo): the clip an extension serves
    is its source's (as served) plus the seconds it adds, so a test with ``render`` can measure the
    extension. A mock's ``create`` marks an extension with ``task.extra`` ``extends`` (the source task)
    and ``adds_s``; a test sets the size of a plain task's clip by overriding :meth:`generation_shape`.
    Listed before :class:`MockProvider` among the bases, so its ``task_shape`` is the one used."""

    def task_shape(self, task: Task) -> tuple[int, int, float] | None:
        """An extension's clip is its source's (as served) plus the seconds it adds."""
        source = task.extra.get("extends")
        if source is None:
            return self.generation_shape(task)
        width, height, seconds = self.task_shape(source) or (160, 90, 1.0)
        return width, height, seconds + task.extra["adds_s"]

    def generation_shape(self, task: Task) -> tuple[int, int, float] | None:
        """(width, height, seconds) of a plain task's clip with ``render``; None: the one test clip."""
        return None
