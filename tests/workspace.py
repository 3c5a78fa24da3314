"""A small Slack workspace with every real-world shape the loader must handle.

Tests assert against the facts listed in `FACTS`, worked out by hand from
the messages below.
"""

from __future__ import annotations

from tests.conftest import SlackExport, msg, ts, user

PARENT_TS = ts("2024-03-04", 17, 0, 0, 123456)

USERS = [
    user("U1", "ana", "America/Los_Angeles"),
    user("U2", "ben", "Europe/London"),
    user("U3", "cai", None),  # no tz at all: unknown, never UTC
    user("U4", "dee", "Mars/Olympus_Mons"),  # not an IANA name: unknown too
    {**user("B1", "deploybot", None), "is_bot": True},
]


def build_workspace(e: SlackExport) -> SlackExport:
    """Write the workspace into `e` and return it."""
    e.json("users.json", USERS)
    e.json("channels.json", [
        {"id": "C1", "name": "general", "created": 1700000000, "creator": "U1",
         "is_archived": False, "is_general": True, "members": ["U1", "U2", "U3"],
         "topic": {"value": "all things", "creator": "U1", "last_set": 0},
         "purpose": {"value": "", "creator": "", "last_set": 0}},
        {"id": "C2", "name": "design", "created": 1700000000, "creator": "U2",
         "is_archived": False, "is_general": False, "members": ["U1", "U2"],
         "topic": {"value": ""}, "purpose": {"value": "pixels"}, "unknown_field": {"x": 1}},
    ])
    e.json("groups.json", [{"id": "G1", "name": "leads", "created": 1700000000, "creator": "U1",
                            "is_archived": False, "members": ["U1", "U2"]}])
    e.json("dms.json", [{"id": "D1", "created": 1700000000, "members": ["U1", "U2"]}])
    e.json("mpims.json", [{"id": "G2", "name": "mpdm-ana--ben--cai-1", "created": 1700000000,
                           "creator": "U1", "is_archived": False, "members": ["U1", "U2", "U3"]}])
    e.json("integration_logs.json", {"logs": []})
    e.json("canvases.json", [])
    e.raw("README.md", b"exported by hand\n")

    e.day("general", "2024-03-04", [
        msg("U1", "Question about the deploy?", PARENT_TS, thread_ts=PARENT_TS, reply_count=3,
            reply_users=["U2", "U1"], replies=[{"user": "U2", "ts": ts("2024-03-04", 18)}],
            user_profile={"name": "ana", "real_name": "Ana", "display_name": "ana"}),
        msg("U3", "<@U3> has joined the channel", ts("2024-03-04", 17, 5), subtype="channel_join"),
        msg(None, "Deployed v1.2", ts("2024-03-04", 17, 10), subtype="bot_message", bot_id="BX1",
            username="deploybot"),
        msg("U2", "Which one?", ts("2024-03-04", 18), thread_ts=PARENT_TS, parent_user_id="U1"),
    ])
    # A reply lives in the file of the day it was posted, not its parent's.
    e.day("general", "2024-03-05", [
        msg("U1", "The API one", ts("2024-03-05", 9), thread_ts=PARENT_TS, parent_user_id="U1"),
        msg("U2", "Done, see thread", ts("2024-03-05", 9, 30), thread_ts=PARENT_TS,
            parent_user_id="U1", subtype="thread_broadcast"),
        msg("U1", "fixed the typo", ts("2024-03-05", 10), edited={"user": "U1", "ts": ts("2024-03-05", 10, 1)}),
        msg("USLACKBOT", "This message was deleted.", ts("2024-03-05", 11), subtype="tombstone"),
        msg("U2", "waves", ts("2024-03-05", 12), subtype="me_message"),
        msg("B1", "standup time", ts("2024-03-05", 13)),  # a bot user posting as a user
    ])
    e.json("general/canvas_in_the_conversation.json", {"title": "notes"})
    e.day("design", "2024-03-04", [
        msg("U2", "mockup attached", ts("2024-03-04", 12), subtype="file_share",
            files=[{"id": "F1", "name": "mock.png", "mimetype": "image/png"}]),
        msg("U4", "Grüße 👋 日本語 — ünïcödé", ts("2024-03-04", 12, 30), blocks=[{"type": "rich_text"}],
            brand_new_field={"nested": [1, 2]}),
    ])
    e.day("leads", "2024-03-06", [msg("U1", "private note", ts("2024-03-06", 8))])
    e.day("D1", "2024-03-04", [
        msg("U1", "hey", ts("2024-03-04", 20)),
        msg("U2", "hi", ts("2024-03-04", 20, 2)),
    ])
    e.day("mpdm-ana--ben--cai-1", "2024-03-04", [msg("U3", "lunch?", ts("2024-03-04", 12))])
    # Folders no metadata file lists: typed by their names.
    e.day("DABCDEF123", "2024-03-07", [msg("U1", "dm with someone gone", ts("2024-03-07", 9))])
    e.day("mpdm-x--y-1", "2024-03-07", [msg("U2", "group chat", ts("2024-03-07", 9))])
    e.day("old-channel", "2024-03-07", [
        # The legacy shape: file_comment's author is comment.user; a single `file`.
        {"type": "message", "subtype": "file_comment", "text": "<@U2> commented on mock.png: nice",
         "ts": ts("2024-03-07", 10), "comment": {"comment": "nice", "user": "U2"},
         "file": {"id": "F1", "name": "mock.png"}},
    ])
    return e


# Facts worked out by hand from the workspace above.
FACTS = {
    "messages": 19,
    "per_conversation": {
        "C1": 10, "C2": 2, "G1": 1, "D1": 2, "G2": 1,
        "DABCDEF123": 1, "mpdm-x--y-1": 1, "old-channel": 1,
    },
    # ids, type, folder, listed
    "conversations": [
        ("C1", "public", "general", True),
        ("C2", "public", "design", True),
        ("D1", "dm", "D1", True),
        ("DABCDEF123", "dm", "DABCDEF123", False),
        ("G1", "private", "leads", True),
        ("G2", "mpim", "mpdm-ana--ben--cai-1", True),
        ("mpdm-x--y-1", "mpim", "mpdm-x--y-1", False),
        ("old-channel", "public", "old-channel", False),
    ],
    # not human: channel_join, bot_message, tombstone (USLACKBOT), the bot user B1
    "human": 15,
    "day_files": 9,
}
