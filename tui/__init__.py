"""The Textual terminal UI: chat with the assistant, watch the plan, approve spending.

Kept free of imports so that ``shotsmith --help`` (which loads every package's
``register_commands``) does not pay for importing Textual; the app lives in
:mod:`shotsmith.tui.app` and is imported only by the ``tui`` command.
"""
