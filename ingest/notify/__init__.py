"""Notifications: routing, escalation chains, channels (WeCom, DingTalk, Feishu, e-mail, webhook)."""
