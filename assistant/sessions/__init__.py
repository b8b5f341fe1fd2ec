"""Conversations about a project: the offline planner's and (in :mod:`shotsmith.assistant.agent`) the LLM agent's.

Front ends see only :class:`~shotsmith.assistant.sessions.protocol.ChatSessionLike`;
:func:`shotsmith.assistant.open_session` picks who answers.
"""
