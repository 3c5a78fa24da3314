"""asyncpulse dashboard: the router only; each page lives in app_pages/."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="asyncpulse", page_icon="⏱", layout="wide")

pages = [
    st.Page("app_pages/overview.py", title="Overview", icon="📊", default=True),
]
st.navigation(pages).run()
