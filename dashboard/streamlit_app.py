"""asyncpulse dashboard: the router; each page lives in app_pages/, the shared sidebar in ui.py."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import ui

# A local image: Streamlit serves it itself (a ":material/...:" icon is fetched from a font CDN).
st.set_page_config(page_title="asyncpulse", page_icon=str(Path(__file__).with_name("icon.png")),
                   layout="wide")

pages = [
    st.Page("app_pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("app_pages/trends.py", title="Trends", icon=":material/show_chart:", url_path="trends"),
    st.Page("app_pages/teams.py", title="Teams", icon=":material/groups:", url_path="teams"),
    st.Page("app_pages/offenders.py", title="Worst offenders", icon=":material/sports_tennis:", url_path="offenders"),
    st.Page("app_pages/replay.py", title="Thread replay", icon=":material/replay:", url_path="replay"),
    st.Page("app_pages/overlap.py", title="Timezone overlap", icon=":material/public:", url_path="overlap"),
    st.Page("app_pages/pr_payoff.py", title="PR payoff", icon=":material/description:", url_path="pr_payoff"),
    st.Page("app_pages/agreements.py", title="Agreements", icon=":material/handshake:", url_path="agreements"),
    st.Page("app_pages/coverage.py", title="Coverage", icon=":material/fact_check:", url_path="coverage"),
]
page = st.navigation(pages)
ui.sidebar()
page.run()
