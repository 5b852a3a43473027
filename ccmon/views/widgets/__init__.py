"""The dashboard's panes and the small renderables they share."""
