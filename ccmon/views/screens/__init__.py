"""The dashboard's screens: main (every pane), session (one session's drill-down), help."""
