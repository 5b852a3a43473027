"""The Textual dashboard. Renders ``model.snapshot.Snapshot`` objects; speaks no protocol."""
