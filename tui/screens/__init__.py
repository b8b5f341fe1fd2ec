"""Screens of the TUI: the chat screen and the approval dialog."""

from shotsmith.tui.screens.approval import ApprovalScreen
from shotsmith.tui.screens.chat import ChatScreen

__all__ = ["ApprovalScreen", "ChatScreen"]
