"""The weekly digest: gather and render (`render`), when each team's is due (`due`), and
sending it to a folder, by e-mail or to Slack, exactly once per team, week and channel
(`deliver`)."""
