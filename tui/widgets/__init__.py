"""Widgets of the chat screen, one module each."""

from shotsmith.tui.widgets.chat_log import ChatLog
from shotsmith.tui.widgets.plan_table import PlanTable
from shotsmith.tui.widgets.progress_panel import ProgressPanel
from shotsmith.tui.widgets.status_line import StatusLine
from shotsmith.tui.widgets.thumb_strip import ThumbStrip

__all__ = ["ChatLog", "PlanTable", "ProgressPanel", "StatusLine", "ThumbStrip"]
