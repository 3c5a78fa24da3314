"""asyncpulse dashboard: the router; each page lives in app_pages/, the shared sidebar in ui.py."""

from __future__ import annotations

import streamlit as st

from dashboard import ui

st.set_page_config(page_title="asyncpulse", page_icon="⏱", layout="wide")

pages = [
    st.Page("app_pages/overview.py", title="Overview", icon="📊", default=True),
    st.Page("app_pages/trends.py", title="Trends", icon="📈", url_path="trends"),
    st.Page("app_pages/offenders.py", title="Worst offenders", icon="🏓", url_path="offenders"),
    st.Page("app_pages/replay.py", title="Thread replay", icon="🔁", url_path="replay"),
    st.Page("app_pages/overlap.py", title="Timezone overlap", icon="🌍", url_path="overlap"),
    st.Page("app_pages/pr_payoff.py", title="PR payoff", icon="📝", url_path="pr_payoff"),
    st.Page("app_pages/coverage.py", title="Coverage", icon="🔎", url_path="coverage"),
]
page = st.navigation(pages)
ui.sidebar()
page.run()
