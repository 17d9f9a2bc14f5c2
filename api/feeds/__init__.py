"""Calendar feeds (S9): what a feed holds (`events`), written as RFC 5545 text (`ical`)."""
